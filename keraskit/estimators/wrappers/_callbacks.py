"""Keras callbacks of the wrappers, built with their routed parameters.

Instances and classes, in a list, a dict or alone; ``callbacks__name`` goes to every class
that takes it, ``callbacks__<key>__name`` (or ``__<i>`` positionally) to one (scikeras's rules).
"""

from __future__ import annotations

import inspect

from ._routing import routed


class KerasCallbacksMixin:
    """The fit's Keras callbacks (a mixin of ``BaseWrapper``)."""

    def _callbacks(self):
        """The fit's Keras callbacks, built with their routed parameters (scikeras's rules).

        ``callbacks`` is a callback, a list or a dict of callbacks (instances or classes).
        ``callbacks__name=value`` goes to every class that takes ``name``;
        ``callbacks__<key>__name=value`` goes to one entry, by list index or dict key,
        which must take it.
        """
        if self.callbacks is None:
            return []
        items = self.callbacks
        if isinstance(items, dict):
            entries = [(str(k), cb) for k, cb in items.items()]
        elif isinstance(items, (list, tuple)):
            entries = [(str(i), cb) for i, cb in enumerate(items)]
        else:
            entries = [("0", items)]
        params = self._routed("callbacks")
        shared = {k: v for k, v in params.items() if "__" not in k}
        keys = {k.split("__")[0] for k in params if "__" in k}
        unknown = keys - {key for key, _ in entries}
        if unknown:
            raise ValueError(
                f"callbacks__{sorted(unknown)[0]}__... routes to no callback: the keys of "
                f"callbacks are {[key for key, _ in entries]}."
            )
        return [_make_callback(key, cb, shared, routed(params, key)) for key, cb in entries]


def _as_list(callbacks):
    """Callbacks given as one object, a list or ``None``, as a list."""
    if callbacks is None:
        return []
    return list(callbacks) if isinstance(callbacks, list | tuple) else [callbacks]


def _hooks_predict(cb):
    """Whether a Keras callback does something when the model predicts."""
    from ..._tensorflow import keras  # a fitted model: Keras is imported

    hooks = ("on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end")
    base = keras.callbacks.Callback
    return any(getattr(type(cb), h, None) is not getattr(base, h) for h in hooks)


def _make_callback(key, cb, shared, own):
    """One Keras callback: a class built with its parameters, or a fresh copy of an instance."""
    from ..._tensorflow import keras  # imported on the first fit, not with keraskit

    if isinstance(cb, type) and issubclass(cb, keras.callbacks.Callback):
        wanted = inspect.signature(cb.__init__).parameters
        takes_any = any(p.kind == p.VAR_KEYWORD for p in wanted.values())
        # callbacks__<key>__0=...: positional arguments, in the order of their indexes
        args = [v for k, v in sorted((int(k), v) for k, v in own.items() if k.isdigit())]
        own = {k: v for k, v in own.items() if not k.isdigit()}
        refused = [k for k in own if k not in wanted and not takes_any]
        if refused:
            raise ValueError(
                f"callbacks__{key}__{refused[0]}: {cb.__name__} takes no argument {refused[0]!r}."
            )
        shared = {k: v for k, v in shared.items() if k in wanted or takes_any}
        return cb(*args, **{**shared, **own})
    if isinstance(cb, keras.callbacks.Callback):
        if own:
            raise ValueError(
                f"callbacks__{key}__{next(iter(own))} routes a parameter to callback {key}, "
                "which is an instance: pass its class to have it built with the parameter."
            )
        return cb  # the user's object, as in scikeras (clones get deep copies of it)
    raise TypeError(
        f"callbacks must hold keras.callbacks.Callback instances or subclasses, got {cb!r}."
    )
