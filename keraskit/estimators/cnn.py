"""CNNClassifier and CNNRegressor: 1-D and 2-D convolutional networks with the MLPs' contract."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from .._engine.losses import REGRESSION_LOSSES
from .._engine.optimizers import FULL_BATCH_SOLVERS
from .._io.registry import register_estimator
from .._networks.activations import HIDDEN_ACTIVATIONS
from .._networks.specs import IMAGE_AUGMENTATIONS, SIGNAL_AUGMENTATIONS, CNNSpec, cnn_plan
from ._base import BaseKerasEstimator
from ._docs import (
    CALLBACKS_PARAM,
    CLASSIFIER_PARAMS,
    TRAINING_ATTRIBUTES,
    TRAINING_PARAMS,
    activation_param,
    regression_loss_param,
    replace_params,
)
from ._mixins import KerasClassifierMixin, KerasRegressorMixin
from ._shaped import ShapedInputMixin

#: Architecture presets for ``architecture=``; each replaces the explicit architecture parameters.
PRESETS = {
    "lenet5": dict(
        conv_filters=(6, 16),
        kernel_size=5,
        strides=1,
        padding="same",
        pooling="average",
        pool_size=2,
        global_pooling=None,
        dense_layer_sizes=(120, 84),
        residual=False,
        convs_per_block=1,
    ),
    "vgg": dict(
        conv_filters=(32, 64, 128),
        kernel_size=3,
        strides=1,
        padding="same",
        pooling="max",
        pool_size=2,
        global_pooling=None,
        dense_layer_sizes=(256,),
        residual=False,
        convs_per_block=2,
    ),
    "resnet": dict(
        conv_filters=(32, 64, 128),
        kernel_size=3,
        strides=1,
        padding="same",
        pooling="max",
        pool_size=2,
        global_pooling="average",
        dense_layer_sizes=(),
        residual=True,
        convs_per_block=2,
    ),
}
_ARCH_PARAMS = tuple(PRESETS["vgg"])

#: What ``'auto'`` means, by input kind. Signals get the fully convolutional recipe of Wang et
#: al. (2017): wide kernels, batch normalization and global average pooling, which small
#: series (tens to hundreds of samples, hundreds of steps) need to train; images keep 3x3
#: kernels flattened into the dense layers, which suits small images such as 8x8 digits.
AUTO_ARCHITECTURE = {
    "signals": dict(kernel_size=7, global_pooling="average", batch_normalization=True),
    "images": dict(kernel_size=3, global_pooling=None, batch_normalization=False),
}

_CNN_PARAMS = (
    """\
    conv_filters : tuple of int, default=(32, 64)
        Filters of each convolutional block.
    kernel_size : int or 'auto', default='auto'
        Width of the convolution windows (square for images). ``'auto'``: 7 for 1-D signals,
        3 for images.
    strides : int, default=1
        Stride of the first convolution of each block.
    padding : {'same', 'valid'}, default='same'
        Convolution padding; residual blocks always pad ``'same'``.
    pooling : {'max', 'average'} or None, default='max'
        Pooling after each block; skipped where a dimension is already below ``pool_size``
        (tiny inputs work).
    pool_size : int, default=2
        Pooling window and stride.
    global_pooling : {'average', 'max', 'auto'} or None, default='auto'
        Global pooling before the dense layers; ``None`` flattens. ``'auto'``: ``'average'``
        for 1-D signals (shift-invariant features, few weights), ``None`` for images.
    dense_layer_sizes : tuple of int, default=(128,)
        Dense layers after the convolutions.
    residual : bool, default=False
        Skip connections across each block (ResNet-style, 1x1 projection when needed).
    convs_per_block : int, default=1
        Convolutions in each block (2 for VGG- and ResNet-style stacks).
    architecture : {'lenet5', 'vgg', 'resnet'} or None, default=None
        A preset that replaces the ten parameters above: ``'lenet5'`` (6 and 16 filters of
        5x5, average pooling, dense 120 and 84), ``'vgg'`` (stacked 3x3 pairs of 32, 64, 128
        filters, halving resolution), ``'resnet'`` (three residual stages, global average
        pooling). ``None`` uses the explicit parameters.
"""
    + activation_param("Activation of the convolutional and dense layers.")
    + """\
    input_shape : tuple of int or None, default=None
        Shape of one sample, channels last: ``(length,)`` or ``(length, channels)`` for
        signals, ``(height, width, channels)`` for images. ``X`` of any dimensions with that
        many values per sample is reshaped to it (2-D rows in a Pipeline, ``(n, h, w)``
        single-channel images with ``input_shape=(h, w, 1)``). ``None`` infers the shape: 2-D ``X``
        is a 1-D signal of ``n_features`` steps, 3-D ``X`` is ``(n, length, channels)``
        unless it looks like single-channel images ``(n, height, width)`` (both sides >= 5,
        at most 4:1), 4-D ``X`` is ``(n, height, width, channels)``.
    flip : {'horizontal', 'vertical', 'both'} or None, default=None
        Random image flips in training.
    rotation : float, default=0.0
        Random image rotations of up to this many degrees in training.
    translation : float, default=0.0
        Random image shifts of up to this fraction of the height and width in training.
    zoom : float, default=0.0
        Random image zoom of up to this fraction in training.
    contrast : float, default=0.0
        Random image contrast changes of up to this factor in training.
    noise_std : float, default=0.0
        Gaussian noise of this standard deviation on the input in training (signals and
        images).
    shift : float, default=0.0
        Random signal shifts of up to this fraction of the length in training (zero fill).
    scale : float, default=0.0
        Random signal amplitude scaling by a factor in ``[1 - scale, 1 + scale]`` in training.
"""
)

#: The CNNs train longer than the MLPs by default: 1-D signals in small sets train one full
#: batch per epoch and keep improving on held-out data after the loss falls by less than
#: 1e-4 per epoch (UCR OSULeaf: 0.88 at sklearn's 200 / 1e-4, 0.95 at 500 / 1e-5, four
#: seeds; benchmarks/ucr.py); images gain a little too (digits 0.984 -> 0.987).
_CNN_TRAINING_PARAMS = replace_params(
    TRAINING_PARAMS,
    max_iter="""\
    max_iter : int, default=500
        Maximum number of epochs (iterations of ``solver='lbfgs'``).
""",
    tol="""\
    tol : float, default=1e-5
        Tolerance of the stopping rule (see ``n_iter_no_change``); smaller than the MLPs'
        1e-4, which stops a small signal set while it still generalises better.
""",
    batch_normalization="""\
    batch_normalization : bool or 'auto', default='auto'
        Add batch normalization after each convolution and hidden dense layer (before its
        activation). ``'auto'``: on for 1-D signals, off for images and with
        ``solver='lbfgs'``. Batch statistics are unweighted: with ``sample_weight`` a row of
        weight 2 trains a little differently from the row repeated.
""",
)

_CNN_ATTRIBUTES = """\
    input_shape_ : tuple of int
        Shape of one sample as the network sees it (channels last).
"""


class _BaseCNN(ShapedInputMixin, BaseKerasEstimator):
    """Shared parameters, input handling and architecture of the CNNs."""

    _parameter_constraints: dict = {
        **BaseKerasEstimator._parameter_constraints,
        "conv_filters": ["array-like"],
        "kernel_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "strides": [Interval(Integral, 1, None, closed="left")],
        "padding": [StrOptions({"same", "valid"})],
        "pooling": [StrOptions({"max", "average"}), None],
        "pool_size": [Interval(Integral, 1, None, closed="left")],
        "global_pooling": [StrOptions({"max", "average", "auto"}), None],
        "batch_normalization": ["boolean", StrOptions({"auto"})],
        "dense_layer_sizes": ["array-like"],
        "residual": ["boolean"],
        "convs_per_block": [Interval(Integral, 1, None, closed="left")],
        "architecture": [StrOptions(set(PRESETS)), None],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
        "input_shape": ["array-like", None],
        "flip": [StrOptions({"horizontal", "vertical", "both"}), None],
        "rotation": [Interval(Real, 0, 180, closed="both")],
        "translation": [Interval(Real, 0, 1, closed="left")],
        "zoom": [Interval(Real, 0, 1, closed="left")],
        "contrast": [Interval(Real, 0, 1, closed="both")],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "shift": [Interval(Real, 0, 1, closed="left")],
        "scale": [Interval(Real, 0, 1, closed="left")],
    }

    def _architecture(self):
        """The effective architecture parameters (a preset, or the explicit ones)."""
        if self.architecture is not None:
            return dict(PRESETS[self.architecture])
        return {name: getattr(self, name) for name in _ARCH_PARAMS}

    def _resolve_auto(self, arch, rank):
        """``arch`` and ``batch_normalization`` with each ``'auto'`` replaced for this input."""
        auto = AUTO_ARCHITECTURE["signals" if rank == 1 else "images"]
        if self.solver in FULL_BATCH_SOLVERS:  # L-BFGS needs a batch-independent objective
            auto = {**auto, "batch_normalization": False}
        settings = {**arch, "batch_normalization": self.batch_normalization}
        return {
            name: auto[name] if isinstance(value, str) and value == "auto" else value
            for name, value in settings.items()
        }

    @staticmethod
    def _positive_ints(name, value, allow_empty):
        values = list(value) if hasattr(value, "__iter__") else [value]
        if (not values and not allow_empty) or any(
            not isinstance(v, Integral) or v <= 0 for v in values
        ):
            raise ValueError(
                f"{name} must be a {'' if allow_empty else 'non-empty '}tuple of positive "
                f"integers, got {value!r}."
            )
        return tuple(int(v) for v in values)

    def _check_architecture(self):
        arch = self._architecture()
        arch["conv_filters"] = self._positive_ints("conv_filters", arch["conv_filters"], False)
        arch["dense_layer_sizes"] = self._positive_ints(
            "dense_layer_sizes", arch["dense_layer_sizes"], True
        )
        if self.input_shape is not None:
            shape = self._positive_ints("input_shape", self.input_shape, False)
            if len(shape) > 3:
                raise ValueError(
                    f"input_shape must have 1 to 3 dimensions (signal or image, channels "
                    f"last), got {self.input_shape!r}."
                )
        return arch

    def _random_settings(self):
        augmentations = dict.fromkeys(IMAGE_AUGMENTATIONS + SIGNAL_AUGMENTATIONS)
        names = ["noise_std"] + [name for name in augmentations if name != "noise_std"]
        return {**super()._random_settings(), **{name: getattr(self, name) for name in names}}

    def _augmentation(self, rank):
        allowed = SIGNAL_AUGMENTATIONS if rank == 1 else IMAGE_AUGMENTATIONS
        defaults = {"flip": None}
        used = []
        for name in dict.fromkeys(IMAGE_AUGMENTATIONS + SIGNAL_AUGMENTATIONS):
            value = getattr(self, name)
            if value == defaults.get(name, 0.0):
                continue
            if name not in allowed:
                kind, other = ("signals", "images") if rank == 1 else ("images", "signals")
                raise ValueError(
                    f"{name}={value!r} applies to {other}, but X holds {kind} of shape "
                    f"{self.input_shape_}. {kind.capitalize()} take: {', '.join(allowed)}."
                )
            used.append((name, value if name == "flip" else float(value)))
        return tuple(used)

    def _validate_fit_data(self, X, y, reset):
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            allow_nd=True,
            dtype=(np.float64, np.float32),
            multi_output=True,
            y_numeric=not is_classifier(self),
        )
        return self._to_samples(X, fitting=reset), y

    def _arch_spec(self, X, n_outputs, dtype, arch):
        rank = len(self.input_shape_) - 1
        arch = self._resolve_auto(arch, rank)
        spec = CNNSpec(
            input_shape=self.input_shape_,
            activation=self.activation,
            n_outputs=n_outputs,
            out_activation=self.out_activation_,
            dropout=float(self.dropout),
            augmentation=self._augmentation(rank),
            dtype=dtype,
            **arch,
        )
        cnn_plan(spec)  # raises a clear ValueError if the input is too small to build
        return spec

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


def _cnn_doc(kind, extra_params, see_also):
    return (
        f"""Convolutional network {kind} for 1-D signals and 2-D images, trained by Keras.

    The same contract and training parameters as keraskit's MLPs (and scikit-learn's), with
    convolutional blocks, presets (``architecture='lenet5' | 'vgg' | 'resnet'``) and
    training-only data augmentation that runs on the GPU with the model. It accepts 2-D rows
    (reshaped with ``input_shape``, so it can end a Pipeline), 3-D signals
    ``(n, length, channels)`` and 4-D images ``(n, height, width, channels)``.

    Parameters
    ----------
"""
        + _CNN_PARAMS
        + _CNN_TRAINING_PARAMS
        + extra_params
        + CALLBACKS_PARAM
        + """
    Attributes
    ----------
"""
        + (
            "    classes_ : ndarray of shape (n_classes,)\n        Class labels.\n"
            if kind == "classifier"
            else ""
        )
        + TRAINING_ATTRIBUTES
        + _CNN_ATTRIBUTES
        + f"""
    See Also
    --------
    {see_also}
"""
    )


@register_estimator
class CNNClassifier(KerasClassifierMixin, _BaseCNN):
    __doc__ = _cnn_doc("classifier", CLASSIFIER_PARAMS, "MLPClassifier : The dense network.")

    _parameter_constraints: dict = {
        **_BaseCNN._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
        *,
        conv_filters=(32, 64),
        kernel_size="auto",
        strides=1,
        padding="same",
        pooling="max",
        pool_size=2,
        global_pooling="auto",
        dense_layer_sizes=(128,),
        residual=False,
        convs_per_block=1,
        architecture=None,
        activation="relu",
        input_shape=None,
        flip=None,
        rotation=0.0,
        translation=0.0,
        zoom=0.0,
        contrast=0.0,
        noise_std=0.0,
        shift=0.0,
        scale=0.0,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=500,
        shuffle=True,
        random_state=None,
        tol=1e-5,
        verbose=False,
        progress_bar=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        l1=0.0,
        batch_normalization="auto",
        class_weight=None,
        label_smoothing=0.0,
        callbacks=None,
        mixed_precision=False,
        distribution=None,
    ):
        for name, value in locals().items():
            if name != "self":
                setattr(self, name, value)


@register_estimator
class CNNRegressor(KerasRegressorMixin, _BaseCNN):
    __doc__ = _cnn_doc(
        "regressor",
        regression_loss_param("Loss minimised, as in :class:`MLPRegressor`."),
        "MLPRegressor : The dense network.",
    )

    _parameter_constraints: dict = {
        **_BaseCNN._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
    }

    def __init__(
        self,
        *,
        conv_filters=(32, 64),
        kernel_size="auto",
        strides=1,
        padding="same",
        pooling="max",
        pool_size=2,
        global_pooling="auto",
        dense_layer_sizes=(128,),
        residual=False,
        convs_per_block=1,
        architecture=None,
        activation="relu",
        input_shape=None,
        flip=None,
        rotation=0.0,
        translation=0.0,
        zoom=0.0,
        contrast=0.0,
        noise_std=0.0,
        shift=0.0,
        scale=0.0,
        loss="squared_error",
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=500,
        shuffle=True,
        random_state=None,
        tol=1e-5,
        verbose=False,
        progress_bar=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        l1=0.0,
        batch_normalization="auto",
        callbacks=None,
        mixed_precision=False,
        distribution=None,
    ):
        for name, value in locals().items():
            if name != "self":
                setattr(self, name, value)
