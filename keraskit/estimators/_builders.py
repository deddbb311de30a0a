"""Pure network builders: an architecture spec in, an uncompiled ``keras.Model`` out.

Builders never see an estimator. Every spec is a frozen, hashable dataclass so that the
training engine can cache one compiled template per architecture signature.
"""

from __future__ import annotations

from dataclasses import dataclass

#: sklearn's activation names (and keraskit's extras) -> Keras activation identifiers.
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

#: Name of the final activation layer; the engine trains on its input (the logits).
OUTPUT_LAYER = "output_activation"


@dataclass(frozen=True)
class MLPSpec:
    """Architecture signature of a multi-layer perceptron.

    Parameters
    ----------
    n_features : int
        Number of input features.
    hidden_layer_sizes : tuple of int
        Units of each hidden layer.
    activation : str
        Hidden activation, one of the keys of ``KERAS_ACTIVATIONS``.
    n_outputs : int
        Units of the output layer.
    out_activation : str
        Output activation (``"softmax"``, ``"logistic"``, ``"identity"`` or ``"exp"``).
    dropout : float
        Dropout rate after each hidden layer (0 disables it).
    batch_normalization : bool
        Whether a batch normalization layer follows each hidden dense layer.
    dtype : str
        ``"float32"`` or ``"float64"``: the dtype of every weight and computation.
    """

    n_features: int
    hidden_layer_sizes: tuple
    activation: str
    n_outputs: int
    out_activation: str
    dropout: float = 0.0
    batch_normalization: bool = False
    dtype: str = "float32"


def build_mlp(spec):
    """Build the uncompiled Keras model of an MLP.

    Parameters
    ----------
    spec : MLPSpec
        The architecture.

    Returns
    -------
    model : keras.Model
        Functional model mapping ``(batch, n_features)`` to ``(batch, n_outputs)``. Hidden
        layers are named ``hidden_<i>``, the last dense layer ``logits`` and the final
        activation ``output_activation``.
    """
    import keras  # imported here so that importing keraskit does not start TensorFlow

    dtype = spec.dtype
    inputs = keras.Input((spec.n_features,), dtype=dtype, name="X")
    h = inputs
    for i, units in enumerate(spec.hidden_layer_sizes):
        h = keras.layers.Dense(units, name=f"hidden_{i}", dtype=dtype)(h)
        if spec.batch_normalization:
            h = keras.layers.BatchNormalization(momentum=0.9, name=f"batchnorm_{i}", dtype=dtype)(h)
        h = keras.layers.Activation(
            KERAS_ACTIVATIONS[spec.activation], name=f"activation_{i}", dtype=dtype
        )(h)
        if spec.dropout > 0:
            h = keras.layers.Dropout(spec.dropout, seed=i, name=f"dropout_{i}", dtype=dtype)(h)
    logits = keras.layers.Dense(spec.n_outputs, name="logits", dtype=dtype)(h)
    outputs = keras.layers.Activation(
        KERAS_ACTIVATIONS[spec.out_activation], name=OUTPUT_LAYER, dtype=dtype
    )(logits)
    return keras.Model(inputs, outputs, name="mlp")


BUILDERS = {MLPSpec: build_mlp}


def build(spec):
    """Build the model of any known spec.

    Parameters
    ----------
    spec : MLPSpec
        An architecture spec registered in ``BUILDERS``.

    Returns
    -------
    model : keras.Model
        The uncompiled model.
    """
    return BUILDERS[type(spec)](spec)
