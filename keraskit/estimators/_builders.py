"""Pure network builders: an architecture spec in, an uncompiled ``keras.Model`` out.

Builders never see an estimator. Every spec is a frozen, hashable dataclass so that the
training engine can cache one compiled template per architecture signature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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

#: Augmentation parameters of the CNNs, by input kind (layers in ``_augment``).
IMAGE_AUGMENTATIONS = ("flip", "rotation", "translation", "zoom", "contrast", "noise_std")
SIGNAL_AUGMENTATIONS = ("shift", "scale", "noise_std")

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
        ``"float32"`` or ``"float64"``: the dtype of the input, every weight and the outputs
        (and of every computation, without mixed precision).
    mixed_precision : {'float16', 'bfloat16'} or None
        Compute dtype of the hidden layers (Keras' ``mixed_<dtype>`` policy); the input,
        the logits, the output activation and an autoencoder's code stay in ``dtype``.
    """

    n_features: int
    hidden_layer_sizes: tuple
    activation: str
    n_outputs: int
    out_activation: str
    dropout: float = 0.0
    batch_normalization: bool = False
    dtype: str = "float32"
    mixed_precision: str | None = None


def layer_dtype(spec):
    """Dtype policy of the hidden layers: ``spec.dtype``, or Keras' ``mixed_<dtype>``."""
    return spec.dtype if spec.mixed_precision is None else f"mixed_{spec.mixed_precision}"


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
    import keras  # imported here so that importing keraskit does not start TensorFlow

    inputs = keras.Input((spec.n_features,), dtype=spec.dtype, name="X")
    h = _dense_stack(inputs, spec.hidden_layer_sizes, spec, "hidden", keras.layers)
    outputs = _output_head(h, spec, spec.n_outputs, keras.layers)
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


@dataclass(frozen=True)
class CNNSpec:
    """Architecture signature of a 1-D or 2-D convolutional network.

    Parameters
    ----------
    input_shape : tuple of int
        Per-sample shape, channels last: ``(length, channels)`` or ``(height, width, channels)``.
    conv_filters : tuple of int
        Filters of each convolutional block.
    kernel_size, strides : int
        Convolution window and stride (the same along every spatial axis).
    padding : str
        ``"same"`` or ``"valid"`` (residual blocks always use ``"same"``).
    pooling : str or None
        ``"max"``, ``"average"`` or ``None`` after each block; skipped where a dimension is
        smaller than ``pool_size``.
    pool_size : int
        Pooling window and stride.
    global_pooling : str or None
        ``"average"``, ``"max"`` or ``None`` (flatten) before the dense layers.
    dense_layer_sizes : tuple of int
        Units of the dense layers after the convolutions.
    residual : bool
        Skip connections across each block (1x1 projection where the shape changes).
    convs_per_block : int
        Convolutions in each block.
    activation, n_outputs, out_activation, dropout, batch_normalization, dtype, mixed_precision
        As in :class:`MLPSpec`.
    augmentation : tuple of (str, object)
        Training-only augmentation layers, see ``keraskit.estimators._augment``.
    """

    input_shape: tuple
    conv_filters: tuple
    kernel_size: int
    strides: int
    padding: str
    pooling: str | None
    pool_size: int
    global_pooling: str | None
    dense_layer_sizes: tuple
    residual: bool
    convs_per_block: int
    activation: str
    n_outputs: int
    out_activation: str
    dropout: float = 0.0
    batch_normalization: bool = False
    augmentation: tuple = ()
    dtype: str = "float32"
    mixed_precision: str | None = None


def cnn_plan(spec):
    """Spatial sizes through the network, and whether each block pools (pure Python).

    Parameters
    ----------
    spec : CNNSpec
        The architecture.

    Returns
    -------
    plan : list of (tuple of int, bool)
        Per block: spatial size after its convolutions, and whether it pools.

    Raises
    ------
    ValueError
        If a convolution would shrink a dimension below 1.
    """
    dims = list(spec.input_shape[:-1])
    plan = []
    for i, _ in enumerate(spec.conv_filters):
        for j in range(spec.convs_per_block):
            stride = spec.strides if j == 0 else 1
            same = spec.padding == "same" or spec.residual
            new = [-(-d // stride) if same else (d - spec.kernel_size) // stride + 1 for d in dims]
            if min(new) < 1:
                raise ValueError(
                    f"Input of shape {spec.input_shape} is too small for block {i}: "
                    f"kernel_size={spec.kernel_size} with padding='valid' needs every spatial "
                    f"dimension >= {spec.kernel_size}, got {tuple(dims)}. Use padding='same', "
                    "a smaller kernel_size or fewer conv_filters."
                )
            dims = new
        pools = spec.pooling is not None and min(dims) >= spec.pool_size
        plan.append((tuple(dims), pools))
        if pools:
            dims = [d // spec.pool_size for d in dims]
    return plan


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
    import keras  # imported here so that importing keraskit does not start TensorFlow

    from . import _augment

    layers, dtype = keras.layers, layer_dtype(spec)
    rank = len(spec.input_shape) - 1
    inputs = keras.Input(spec.input_shape, dtype=spec.dtype, name="X")
    h = _augment.apply(inputs, spec.augmentation, rank, spec.dtype)
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


BUILDERS[CNNSpec] = build_cnn


@dataclass(frozen=True)
class AutoencoderSpec:
    """Architecture signature of a dense autoencoder.

    Parameters
    ----------
    n_features : int
        Input (and output) width.
    hidden_layer_sizes : tuple of int
        Encoder hidden layers; the decoder mirrors them.
    encoding_dim : int
        Width of the code (layer ``code``, linear).
    activation, dropout, batch_normalization, dtype, mixed_precision
        As in :class:`MLPSpec`.
    out_activation : str
        ``"identity"`` or ``"logistic"`` (for data in [0, 1]).
    noise_std : float
        Gaussian noise on the input during training (denoising autoencoder).
    activity_l1 : float
        L1 penalty on the code, per sample (sparse code).
    """

    n_features: int
    hidden_layer_sizes: tuple
    encoding_dim: int
    activation: str
    out_activation: str
    dropout: float = 0.0
    batch_normalization: bool = False
    noise_std: float = 0.0
    activity_l1: float = 0.0
    dtype: str = "float32"
    mixed_precision: str | None = None

    @property
    def n_outputs(self):
        """Width of the reconstruction."""
        return self.n_features


#: Name of the code layer of autoencoders (the encoder ends here, the decoder starts after).
CODE_LAYER = "code"


def _zero_init(layer_class):
    """``layer_class`` with zero kernels: keraskit draws every weight itself, and Keras'
    default initializers would otherwise draw seeds from Python's global ``random``."""
    from functools import partial

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
    import keras

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
    import keras  # imported here so that importing keraskit does not start TensorFlow

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


BUILDERS[AutoencoderSpec] = build_autoencoder


@dataclass(frozen=True)
class ConvAutoencoderSpec:
    """Architecture signature of a 1-D or 2-D convolutional autoencoder.

    Parameters
    ----------
    input_shape : tuple of int
        Per-sample shape, channels last.
    conv_filters : tuple of int
        Filters of each encoder block; the decoder mirrors them.
    kernel_size : int
        Convolution window.
    pooling : str or None
        ``"max"``, ``"average"`` or ``None``; pooling by 2 where a dimension allows it.
    upsampling : str
        ``"nearest"`` (UpSampling) or ``"transpose"`` (strided transposed convolutions).
    encoding_dim : int
        Width of the dense code.
    activation, out_activation, batch_normalization, noise_std, activity_l1, dtype
        As in :class:`AutoencoderSpec`.
    dropout, mixed_precision
        As in :class:`MLPSpec`.
    """

    input_shape: tuple
    conv_filters: tuple
    kernel_size: int
    pooling: str | None
    upsampling: str
    encoding_dim: int
    activation: str
    out_activation: str
    batch_normalization: bool = False
    noise_std: float = 0.0
    activity_l1: float = 0.0
    dropout: float = 0.0
    dtype: str = "float32"
    mixed_precision: str | None = None

    @property
    def n_outputs(self):
        """Values per reconstructed sample."""
        return int(np.prod(self.input_shape))


def _conv_act(h, filters, spec, name, layers, conv):
    dtype = layer_dtype(spec)
    h = conv(filters, spec.kernel_size, padding="same", name=name, dtype=dtype)(h)
    if spec.batch_normalization:
        h = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn", dtype=dtype)(h)
    return layers.Activation(KERAS_ACTIVATIONS[spec.activation], name=f"{name}_act", dtype=dtype)(h)


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
    import keras

    layers, dtype = keras.layers, layer_dtype(spec)
    rank = len(spec.input_shape) - 1
    conv = _zero_init(layers.Conv1D if rank == 1 else layers.Conv2D)
    conv_t = _zero_init(layers.Conv1DTranspose if rank == 1 else layers.Conv2DTranspose)
    names = {"max": "MaxPooling", "average": "AveragePooling"}
    inputs = keras.Input(spec.input_shape, dtype=spec.dtype, name="X")
    h = inputs
    if spec.noise_std > 0:
        h = layers.GaussianNoise(spec.noise_std, seed=0, name="noise", dtype=spec.dtype)(h)
    sizes = []  # spatial size before each pooling, None where the block did not pool
    for i, filters in enumerate(spec.conv_filters):
        h = _conv_act(h, filters, spec, f"encoder_conv_{i}", layers, conv)
        dims = tuple(h.shape[1:-1])
        if spec.pooling is not None and min(dims) >= 2:
            sizes.append(dims)
            h = getattr(layers, f"{names[spec.pooling]}{rank}D")(2, name=f"pool_{i}", dtype=dtype)(
                h
            )
        else:
            sizes.append(None)
        if spec.dropout > 0:
            h = layers.Dropout(spec.dropout, seed=10 + i, name=f"encoder_dropout_{i}", dtype=dtype)(
                h
            )
    feature_shape = tuple(h.shape[1:])
    h = layers.Flatten(name="flatten", dtype=dtype)(h)
    h = _zero_init(layers.Dense)(spec.encoding_dim, name=CODE_LAYER, dtype=spec.dtype)(h)
    h = _zero_init(layers.Dense)(int(np.prod(feature_shape)), name="decoder_dense", dtype=dtype)(h)
    h = layers.Activation(
        KERAS_ACTIVATIONS[spec.activation], name="decoder_dense_act", dtype=dtype
    )(h)
    h = layers.Reshape(feature_shape, name="decoder_reshape", dtype=dtype)(h)
    for i in reversed(range(len(spec.conv_filters))):
        filters = spec.conv_filters[i]
        if sizes[i] is not None:
            if spec.upsampling == "transpose":
                h = conv_t(
                    filters,
                    spec.kernel_size,
                    strides=2,
                    padding="same",
                    name=f"upsample_{i}",
                    dtype=dtype,
                )(h)
            else:
                up = layers.UpSampling1D if rank == 1 else layers.UpSampling2D
                h = up(2, name=f"upsample_{i}", dtype=dtype)(h)
            missing = [t - d for t, d in zip(sizes[i], h.shape[1:-1], strict=True)]
            if any(missing):  # odd sizes: pad the last row/column back
                pad = missing[0] if rank == 1 else tuple((0, m) for m in missing)
                pad = (0, pad) if rank == 1 else pad
                zero = layers.ZeroPadding1D if rank == 1 else layers.ZeroPadding2D
                h = zero(pad, name=f"pad_{i}", dtype=dtype)(h)
        h = _conv_act(h, filters, spec, f"decoder_conv_{i}", layers, conv)
    logits = conv(
        spec.input_shape[-1], spec.kernel_size, padding="same", name="logits", dtype=spec.dtype
    )(h)
    outputs = layers.Activation(
        KERAS_ACTIVATIONS[spec.out_activation], name=OUTPUT_LAYER, dtype=spec.dtype
    )(logits)
    return keras.Model(inputs, outputs, name="conv_autoencoder")


BUILDERS[ConvAutoencoderSpec] = build_conv_autoencoder
