"""keraskit: scikit-learn estimators made of Keras 3 networks on TensorFlow."""

from ._version import __version__
from .estimators import (
    AutoencoderTransformer,
    CNNClassifier,
    CNNRegressor,
    ConvAutoencoderTransformer,
    MLPClassifier,
    MLPRegressor,
)

__all__ = [
    "AutoencoderTransformer",
    "CNNClassifier",
    "CNNRegressor",
    "ConvAutoencoderTransformer",
    "MLPClassifier",
    "MLPRegressor",
    "__version__",
]
