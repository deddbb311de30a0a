"""Small instances of every public estimator, with data of the kind each takes."""

import numpy as np

from keraskit import (
    AutoencoderTransformer,
    CNNClassifier,
    CNNRegressor,
    ConvAutoencoderTransformer,
    MLPClassifier,
    MLPRegressor,
)

FAST = dict(max_iter=3, random_state=0)


def cases():
    """``(id, estimator, X, y)`` for each public estimator (y is None for transformers)."""
    rng = np.random.RandomState(0)
    X = rng.rand(40, 6)
    images = rng.rand(40, 6, 6).astype(np.float32)
    y_cls = np.arange(40) % 3
    y_reg = X.sum(axis=1)
    return [
        ("MLPClassifier", MLPClassifier((8,), **FAST), X, y_cls),
        ("MLPRegressor", MLPRegressor(hidden_layer_sizes=(8,), **FAST), X, y_reg),
        (
            "CNNClassifier",
            CNNClassifier(conv_filters=(4,), dense_layer_sizes=(8,), **FAST),
            images,
            y_cls,
        ),
        (
            "CNNRegressor",
            CNNRegressor(conv_filters=(4,), dense_layer_sizes=(8,), **FAST),
            images,
            y_reg,
        ),
        (
            "AutoencoderTransformer",
            AutoencoderTransformer(hidden_layer_sizes=(8,), **FAST),
            X,
            None,
        ),
        (
            "ConvAutoencoderTransformer",
            ConvAutoencoderTransformer(encoding_dim=3, conv_filters=(4,), **FAST),
            images,
            None,
        ),
    ]


def methods(est):
    """The inference methods an estimator has."""
    names = ["predict", "predict_proba", "predict_log_proba", "transform", "score_samples"]
    return [m for m in names if hasattr(est, m)]


def fit(est, X, y):
    """Fit with or without a target."""
    return est.fit(X) if y is None else est.fit(X, y)
