"""Bring your own Keras model: ``KerasClassifier`` and ``KerasRegressor``.

scikeras's constructor and behaviour (a scikeras user changes only the import) on top of
keraskit's habits: atomic fits, reproducible ``random_state`` without process-wide side
effects, a fast predict path, pickling without monkeypatching Keras.

Training is Keras' own ``Model.fit`` (so batch-level callbacks, metrics, validation and
class weights behave exactly as in Keras); prediction skips ``Model.predict``'s per-call
overhead through one compiled function that reads the model's live variables.
"""

from ._classifier import KerasClassifier

# pickles of release 0.1.0 name these two here (a model given as an instance, the metric)
from ._models import _KerasBytes, r_squared  # noqa: F401
from ._regressor import KerasRegressor

__all__ = ["KerasClassifier", "KerasRegressor"]
