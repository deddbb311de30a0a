"""The activation vocabulary: keraskit's names and the Keras activations that implement them.

Estimators read their ``activation`` constraints and docstrings from here; builders map the
names to Keras; the NumPy fast path mirrors the same Keras functions.
"""

from __future__ import annotations

#: keraskit's activation names (sklearn's four first) -> Keras activation identifiers.
KERAS_ACTIVATIONS = {
    "identity": "linear",
    "logistic": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
    "elu": "elu",
    "leaky_relu": "leaky_relu",
    "gelu": "gelu",
    "selu": "selu",
    "swish": "swish",
    "softmax": "softmax",
    "exp": "exponential",
}

#: Activations of hidden layers, the ``activation`` parameter's choices (sklearn's four first).
HIDDEN_ACTIVATIONS = tuple(k for k in KERAS_ACTIVATIONS if k not in ("softmax", "exp"))
