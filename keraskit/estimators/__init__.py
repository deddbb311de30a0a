"""keraskit's estimators."""

from ._base import BaseKerasEstimator
from .cnn import CNNClassifier, CNNRegressor
from .mlp import MLPClassifier, MLPRegressor

__all__ = [
    "BaseKerasEstimator",
    "CNNClassifier",
    "CNNRegressor",
    "MLPClassifier",
    "MLPRegressor",
]
