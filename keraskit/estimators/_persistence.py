"""Saving, pickling, copying and the input tags: one mixin for estimators and wrappers.

Both kinds keep their network out of ``__dict__``'s plain values: it travels as ``.keras``
bytes through pickle (``_pack_network``/``_unpack_network``, which each kind defines), a
shallow copy shares it, and ``save`` writes keraskit's own file (no pickle). What differs
between the kinds is only which attribute holds the network and what a copy may share.
"""

from __future__ import annotations

from .._io.safe_file import save_estimator
from .._io.versions import FORMAT_VERSION, upgrade_state
from ._state import Runtime, shallow_copy


class PersistenceMixin:
    """``save``, ``__copy__``, pickling and sparse-input tags (a mixin of both bases).

    The class it is mixed into defines ``_pack_network(state)`` (put the network in the
    pickled ``state`` as bytes), ``_unpack_network(state)`` (take them out again, before
    ``state`` becomes ``__dict__``) and ``_restore_network(packed)`` (rebuild from them).
    """

    def save(self, path):
        """Save the estimator to a file without pickle; read it back with :func:`keraskit.load`.

        Parameters are stored as JSON, arrays in an ``.npz`` read without pickle, and the
        network as a ``.keras`` archive loaded with ``safe_mode=True``, so loading a file
        never runs code from it (unlike pickle or joblib files, which can run anything and
        must never be loaded from untrusted sources).

        Parameters
        ----------
        path : str or path-like
            Destination file.
        """
        save_estimator(self, path)

    def __copy__(self):
        """A shallow copy sharing the fitted network, without the pickle round trip.

        ``copy.copy`` would otherwise go through ``__getstate__`` (a ``.keras`` archive, tens
        of milliseconds); scikit-learn's callbacks copy the estimator at every epoch.
        """
        return shallow_copy(self)

    def __getstate__(self):
        state = dict(super().__getstate__())  # object.__getstate__ returns __dict__ itself
        state.pop("_runtime", None)
        self._pack_network(state)
        state["_keraskit_format"] = FORMAT_VERSION
        return state

    def __setstate__(self, state):
        state = upgrade_state(state, self._get_param_names())
        packed = self._unpack_network(state)
        super().__setstate__(state)
        self._runtime = Runtime()
        self._restore_network(packed)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
