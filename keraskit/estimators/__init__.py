"""keraskit's estimators."""

from ._base import BaseKerasEstimator
from .mlp import MLPClassifier, MLPRegressor

__all__ = ["BaseKerasEstimator", "MLPClassifier", "MLPRegressor"]
