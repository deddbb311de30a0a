"""Architecture specs: frozen, hashable descriptions of a network, free of TensorFlow.

An estimator turns its parameters into one of these; the builders turn it into a Keras model
and the engine caches one compiled template per distinct spec. Nothing here imports Keras,
so the estimators can read the specs (and the names below) when keraskit is imported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Augmentation parameters of the CNNs, by input kind (layers in ``augment``).
IMAGE_AUGMENTATIONS = ("flip", "rotation", "translation", "zoom", "contrast", "noise_std")
SIGNAL_AUGMENTATIONS = ("shift", "scale", "noise_std")

#: Name of the final activation layer; the engine trains on its input (the logits).
OUTPUT_LAYER = "output_activation"


#: Name of the code layer of autoencoders (the encoder ends here, the decoder starts after).
CODE_LAYER = "code"


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
        Training-only augmentation layers, see ``keraskit._networks.augment``.
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
