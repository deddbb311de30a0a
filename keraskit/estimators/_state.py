"""What an estimator holds besides its parameters: runtime caches, and atomic fits."""

from __future__ import annotations

from contextlib import contextmanager


class Runtime:
    """Per-estimator caches that are not state: weight tensors, the Keras model, and the
    compiled inference of a wrapped model (``KerasClassifier``/``KerasRegressor``).

    It is never pickled or deep-copied (a copy starts empty), and it lives in one attribute
    set by ``fit`` so that predicting never changes the estimator's ``__dict__``.
    """

    __slots__ = ("tensors", "model", "runner")

    def __init__(self):
        self.tensors = None
        self.model = None
        self.runner = None

    def __deepcopy__(self, memo):
        return Runtime()

    def __reduce__(self):
        return (Runtime, ())


@contextmanager
def atomic_fit(est, undo=None):
    """Run a fit so that, if it fails, ``est`` is left exactly as it was before.

    The estimator's attributes are restored on any exception (``KeyboardInterrupt``
    included) and the exception propagates; ``undo`` is called first, to put back state
    that lives outside the attributes (a Keras model's variables trained in place).

    Parameters
    ----------
    est : estimator
        The estimator being fitted.
    undo : callable, default=None
        Called with no argument before the attributes are restored.
    """
    saved = vars(est).copy()
    try:
        yield
    except BaseException:
        if undo is not None:
            undo()
        vars(est).clear()
        vars(est).update(saved)
        raise


def shallow_copy(est):
    """A new estimator sharing ``est``'s attributes, with a fresh runtime cache.

    Parameters
    ----------
    est : estimator
        A keraskit estimator or wrapper (anything with a ``_runtime`` cache).

    Returns
    -------
    copy : estimator
    """
    new = type(est).__new__(type(est))
    new.__dict__.update(est.__dict__)
    new._runtime = Runtime()
    return new
