"""keraskit's estimators."""

from ._base import BaseKerasEstimator
from .autoencoder import AutoencoderTransformer, ConvAutoencoderTransformer
from .cnn import CNNClassifier, CNNRegressor
from .mlp import MLPClassifier, MLPRegressor
from .tabular import TabularClassifier, TabularRegressor
from .wrappers import KerasClassifier, KerasRegressor

__all__ = [
    "AutoencoderTransformer",
    "BaseKerasEstimator",
    "KerasClassifier",
    "KerasRegressor",
    "CNNClassifier",
    "CNNRegressor",
    "ConvAutoencoderTransformer",
    "MLPClassifier",
    "MLPRegressor",
    "TabularClassifier",
    "TabularRegressor",
]
