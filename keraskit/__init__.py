"""keraskit: scikit-learn estimators made of Keras 3 networks on TensorFlow."""

from ._version import __version__
from .estimators import CNNClassifier, CNNRegressor, MLPClassifier, MLPRegressor

__all__ = [
    "CNNClassifier",
    "CNNRegressor",
    "MLPClassifier",
    "MLPRegressor",
    "__version__",
]
