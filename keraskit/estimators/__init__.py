"""keraskit's estimators."""

from ._base import BaseKerasEstimator
from .autoencoder import AutoencoderTransformer, ConvAutoencoderTransformer
from .cnn import CNNClassifier, CNNRegressor
from .mlp import MLPClassifier, MLPRegressor

__all__ = [
    "AutoencoderTransformer",
    "BaseKerasEstimator",
    "CNNClassifier",
    "CNNRegressor",
    "ConvAutoencoderTransformer",
    "MLPClassifier",
    "MLPRegressor",
]
