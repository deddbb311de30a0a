"""keraskit: scikit-learn estimators made of Keras 3 networks on TensorFlow."""

from . import model_selection
from ._config import configure, get_config
from ._io.safe_file import load_estimator as _load_estimator
from ._version import __version__
from .estimators import (
    AutoencoderTransformer,
    CNNClassifier,
    CNNRegressor,
    ConvAutoencoderTransformer,
    KerasClassifier,
    KerasRegressor,
    MLPClassifier,
    MLPRegressor,
    TabularClassifier,
    TabularRegressor,
)
from .plotting import plot_history


def load(path):
    """Load an estimator saved with ``est.save(path)``, refusing files that could run code.

    Parameters
    ----------
    path : str or path-like
        A file written by the ``save`` method of a keraskit estimator or wrapper.

    Returns
    -------
    estimator : BaseKerasEstimator or BaseWrapper
        The estimator, fitted if it was saved fitted.
    """
    return _load_estimator(path)


__all__ = [
    "configure",
    "get_config",
    "load",
    "AutoencoderTransformer",
    "CNNClassifier",
    "CNNRegressor",
    "ConvAutoencoderTransformer",
    "KerasClassifier",
    "KerasRegressor",
    "MLPClassifier",
    "MLPRegressor",
    "TabularClassifier",
    "TabularRegressor",
    "model_selection",
    "plot_history",
    "__version__",
]
