"""Pure network builders: an architecture spec in, an uncompiled ``keras.Model`` out.

Builders never see an estimator. Every spec is a frozen, hashable dataclass (``specs``) so
that the training engine can cache one compiled template per architecture signature. To add
an architecture: a spec in ``specs``, a ``build_<name>`` here, one line in ``BUILDERS``.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .._tensorflow import keras
from . import augment
from .activations import KERAS_ACTIVATIONS
from .specs import (
    CODE_LAYER,
    OUTPUT_LAYER,
    AutoencoderSpec,
    CNNSpec,
    ConvAutoencoderSpec,
    MLPSpec,
    cnn_plan,
    layer_dtype,
)


def _dense_stack(h, sizes, spec, prefix, layers):
    """Dense -> [batch norm] -> activation -> [dropout], once per size."""
    dtype = layer_dtype(spec)
    for i, units in enumerate(sizes):
        h = _zero_init(layers.Dense)(units, name=f"{prefix}_{i}", dtype=dtype)(h)
        if spec.batch_normalization:
            h = layers.BatchNormalization(
                momentum=0.9, name=f"{prefix}_batchnorm_{i}", dtype=dtype
            )(h)
        h = layers.Activation(
            KERAS_ACTIVATIONS[spec.activation], name=f"{prefix}_activation_{i}", dtype=dtype
        )(h)
        if spec.dropout > 0:
            h = layers.Dropout(spec.dropout, seed=i, name=f"{prefix}_dropout_{i}", dtype=dtype)(h)
    return h


def _output_head(h, spec, n_outputs, layers):
    """The ``logits`` dense layer and the ``output_activation`` the engine trains through."""
    logits = _zero_init(layers.Dense)(n_outputs, name="logits", dtype=spec.dtype)(h)
    return layers.Activation(
        KERAS_ACTIVATIONS[spec.out_activation], name=OUTPUT_LAYER, dtype=spec.dtype
    )(logits)


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
    inputs = keras.Input((spec.n_features,), dtype=spec.dtype, name="X")
    h = _dense_stack(inputs, spec.hidden_layer_sizes, spec, "hidden", keras.layers)
    outputs = _output_head(h, spec, spec.n_outputs, keras.layers)
    return keras.Model(inputs, outputs, name="mlp")


def _conv_block(h, spec, i, filters, pools, layers):
    rank = len(spec.input_shape) - 1
    conv = _zero_init(layers.Conv1D if rank == 1 else layers.Conv2D)
    dtype = layer_dtype(spec)
    shortcut = h
    for j in range(spec.convs_per_block):
        last = j == spec.convs_per_block - 1
        h = conv(
            filters,
            spec.kernel_size,
            strides=spec.strides if j == 0 else 1,
            padding="same" if spec.residual else spec.padding,
            name=f"conv_{i}_{j}",
            dtype=dtype,
        )(h)
        if spec.batch_normalization:
            h = layers.BatchNormalization(momentum=0.9, name=f"batchnorm_{i}_{j}", dtype=dtype)(h)
        if not (spec.residual and last):
            h = layers.Activation(
                KERAS_ACTIVATIONS[spec.activation], name=f"activation_{i}_{j}", dtype=dtype
            )(h)
    if spec.residual:
        if shortcut.shape[-1] != filters or spec.strides != 1:
            shortcut = conv(
                filters, 1, strides=spec.strides, padding="same", name=f"shortcut_{i}", dtype=dtype
            )(shortcut)
        h = layers.Add(name=f"add_{i}", dtype=dtype)([h, shortcut])
        h = layers.Activation(
            KERAS_ACTIVATIONS[spec.activation], name=f"activation_{i}_out", dtype=dtype
        )(h)
    if pools:
        names = {"max": ("MaxPooling", "max"), "average": ("AveragePooling", "avg")}
        cls = getattr(layers, f"{names[spec.pooling][0]}{rank}D")
        h = cls(spec.pool_size, name=f"pool_{i}", dtype=dtype)(h)
    return h


def build_cnn(spec):
    """Build the uncompiled Keras model of a 1-D or 2-D CNN.

    Parameters
    ----------
    spec : CNNSpec
        The architecture.

    Returns
    -------
    model : keras.Model
        Functional model from ``(batch, *input_shape)`` to ``(batch, n_outputs)``: training-only
        augmentation, convolutional blocks, flatten or global pooling, dense layers, ``logits``
        and ``output_activation``.
    """
    layers, dtype = keras.layers, layer_dtype(spec)
    rank = len(spec.input_shape) - 1
    inputs = keras.Input(spec.input_shape, dtype=spec.dtype, name="X")
    h = augment.apply(inputs, spec.augmentation, rank, spec.dtype)
    for i, (filters, (_, pools)) in enumerate(zip(spec.conv_filters, cnn_plan(spec), strict=True)):
        h = _conv_block(h, spec, i, filters, pools, layers)
    if spec.global_pooling is None:
        h = layers.Flatten(name="flatten", dtype=dtype)(h)
    else:
        kind = "Average" if spec.global_pooling == "average" else "Max"
        h = getattr(layers, f"Global{kind}Pooling{rank}D")(name="global_pool", dtype=dtype)(h)
    if spec.dropout > 0:
        h = layers.Dropout(spec.dropout, seed=100, name="dropout_features", dtype=dtype)(h)
    h = _dense_stack(h, spec.dense_layer_sizes, spec, "dense", layers)
    outputs = _output_head(h, spec, spec.n_outputs, layers)
    return keras.Model(inputs, outputs, name="cnn")


def _zero_init(layer_class):
    """``layer_class`` with zero kernels: keraskit draws every weight itself, and Keras'
    default initializers would otherwise draw seeds from Python's global ``random``."""
    return partial(layer_class, kernel_initializer="zeros")


def split_autoencoder(model):
    """The encoder and decoder of an autoencoder built here, sharing its layers and weights.

    Parameters
    ----------
    model : keras.Model
        A model from :func:`build_autoencoder` or :func:`build_conv_autoencoder`.

    Returns
    -------
    encoder : keras.Model
        Input to the ``code`` layer.
    decoder : keras.Model
        Code to reconstruction: the layers after ``code``, applied to a new input.
    """
    code = model.get_layer(CODE_LAYER)
    encoder = keras.Model(model.input, code.output, name="encoder")
    layers = model.layers
    start = [layer.name for layer in layers].index(CODE_LAYER) + 1
    code_in = keras.Input(code.output.shape[1:], dtype=model.input.dtype, name="code_in")
    h = code_in
    for layer in layers[start:]:
        h = layer(h)
    return encoder, keras.Model(code_in, h, name="decoder")


def build_autoencoder(spec):
    """Build the uncompiled Keras model of a dense autoencoder.

    Parameters
    ----------
    spec : AutoencoderSpec
        The architecture.

    Returns
    -------
    model : keras.Model
        ``input -> [noise] -> encoder -> code -> decoder -> logits -> output_activation``, one
        flat graph; the layers after ``code`` form the decoder.
    """
    layers, dtype = keras.layers, spec.dtype  # the code stays in dtype (transform's output)
    inputs = keras.Input((spec.n_features,), dtype=dtype, name="X")
    h = inputs
    if spec.noise_std > 0:
        h = layers.GaussianNoise(spec.noise_std, seed=0, name="noise", dtype=dtype)(h)
    h = _dense_stack(h, spec.hidden_layer_sizes, spec, "encoder", layers)
    h = _zero_init(layers.Dense)(spec.encoding_dim, name=CODE_LAYER, dtype=dtype)(h)
    h = _dense_stack(h, spec.hidden_layer_sizes[::-1], spec, "decoder", layers)
    outputs = _output_head(h, spec, spec.n_features, layers)
    return keras.Model(inputs, outputs, name="autoencoder")


def _conv_act(h, filters, spec, name, layers, conv):
    dtype = layer_dtype(spec)
    h = conv(filters, spec.kernel_size, padding="same", name=name, dtype=dtype)(h)
    if spec.batch_normalization:
        h = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn", dtype=dtype)(h)
    return layers.Activation(KERAS_ACTIVATIONS[spec.activation], name=f"{name}_act", dtype=dtype)(h)


def _conv_encoder(h, spec, layers, conv):
    """Encoder blocks; returns the features and each block's spatial size before pooling."""
    rank, dtype = len(spec.input_shape) - 1, layer_dtype(spec)
    names = {"max": "MaxPooling", "average": "AveragePooling"}
    sizes = []  # spatial size before each pooling, None where the block did not pool
    for i, filters in enumerate(spec.conv_filters):
        h = _conv_act(h, filters, spec, f"encoder_conv_{i}", layers, conv)
        dims = tuple(h.shape[1:-1])
        pools = spec.pooling is not None and min(dims) >= 2
        sizes.append(dims if pools else None)
        if pools:
            pool = getattr(layers, f"{names[spec.pooling]}{rank}D")
            h = pool(2, name=f"pool_{i}", dtype=dtype)(h)
        if spec.dropout > 0:
            name = f"encoder_dropout_{i}"
            h = layers.Dropout(spec.dropout, seed=10 + i, name=name, dtype=dtype)(h)
    return h, sizes


def _upsample(h, spec, i, size, layers, conv_t):
    """Undo block ``i``'s pooling: upsample by 2, then pad odd sizes back to ``size``."""
    rank, dtype = len(spec.input_shape) - 1, layer_dtype(spec)
    filters = spec.conv_filters[i]
    if spec.upsampling == "transpose":
        h = conv_t(
            filters, spec.kernel_size, strides=2, padding="same", name=f"upsample_{i}", dtype=dtype
        )(h)
    else:
        up = layers.UpSampling1D if rank == 1 else layers.UpSampling2D
        h = up(2, name=f"upsample_{i}", dtype=dtype)(h)
    missing = [t - d for t, d in zip(size, h.shape[1:-1], strict=True)]
    if any(missing):  # odd sizes: pad the last row/column back
        pad = (0, missing[0]) if rank == 1 else tuple((0, m) for m in missing)
        zero = layers.ZeroPadding1D if rank == 1 else layers.ZeroPadding2D
        h = zero(pad, name=f"pad_{i}", dtype=dtype)(h)
    return h


def _conv_decoder(h, spec, sizes, layers, conv, conv_t):
    """Dense code -> features of the encoder's last shape -> mirrored blocks -> logits."""
    dtype, feature_shape = layer_dtype(spec), tuple(h.shape[1:])
    h = layers.Flatten(name="flatten", dtype=dtype)(h)
    h = _zero_init(layers.Dense)(spec.encoding_dim, name=CODE_LAYER, dtype=spec.dtype)(h)
    h = _zero_init(layers.Dense)(int(np.prod(feature_shape)), name="decoder_dense", dtype=dtype)(h)
    activation = KERAS_ACTIVATIONS[spec.activation]
    h = layers.Activation(activation, name="decoder_dense_act", dtype=dtype)(h)
    h = layers.Reshape(feature_shape, name="decoder_reshape", dtype=dtype)(h)
    for i in reversed(range(len(spec.conv_filters))):
        if sizes[i] is not None:
            h = _upsample(h, spec, i, sizes[i], layers, conv_t)
        h = _conv_act(h, spec.conv_filters[i], spec, f"decoder_conv_{i}", layers, conv)
    return conv(
        spec.input_shape[-1], spec.kernel_size, padding="same", name="logits", dtype=spec.dtype
    )(h)


def build_conv_autoencoder(spec):
    """Build a convolutional autoencoder whose output shape equals its input shape.

    The encoder pools by 2 where every spatial dimension allows it and remembers each size;
    the decoder upsamples (nearest or transposed convolution) and zero-pads back to the
    remembered size, so odd sizes come back exact.

    Parameters
    ----------
    spec : ConvAutoencoderSpec
        The architecture.

    Returns
    -------
    model : keras.Model
        One flat graph: encoder, dense ``code`` layer, decoder (the layers after ``code``).
    """
    layers, rank = keras.layers, len(spec.input_shape) - 1
    conv = _zero_init(layers.Conv1D if rank == 1 else layers.Conv2D)
    conv_t = _zero_init(layers.Conv1DTranspose if rank == 1 else layers.Conv2DTranspose)
    inputs = keras.Input(spec.input_shape, dtype=spec.dtype, name="X")
    h = inputs
    if spec.noise_std > 0:
        h = layers.GaussianNoise(spec.noise_std, seed=0, name="noise", dtype=spec.dtype)(h)
    h, sizes = _conv_encoder(h, spec, layers, conv)
    logits = _conv_decoder(h, spec, sizes, layers, conv, conv_t)
    outputs = layers.Activation(
        KERAS_ACTIVATIONS[spec.out_activation], name=OUTPUT_LAYER, dtype=spec.dtype
    )(logits)
    return keras.Model(inputs, outputs, name="conv_autoencoder")


BUILDERS = {
    MLPSpec: build_mlp,
    CNNSpec: build_cnn,
    AutoencoderSpec: build_autoencoder,
    ConvAutoencoderSpec: build_conv_autoencoder,
}


def build(spec):
    """Build the model of any known spec.

    Parameters
    ----------
    spec : MLPSpec, CNNSpec, AutoencoderSpec or ConvAutoencoderSpec
        An architecture spec registered in ``BUILDERS``.

    Returns
    -------
    model : keras.Model
        The uncompiled model.
    """
    return BUILDERS[type(spec)](spec)
