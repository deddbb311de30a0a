"""Autoencoders as scikit-learn transformers."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._io.registry import register_estimator
from .._networks.activations import HIDDEN_ACTIVATIONS
from .._networks.specs import AutoencoderSpec, ConvAutoencoderSpec
from . import _validation_set
from ._base import BaseKerasEstimator
from ._docs import (
    CALLBACKS_PARAM,
    TRAINING_ATTRIBUTES,
    TRAINING_PARAMS,
    activation_param,
    replace_params,
)
from ._heads import ReconstructionHead
from ._shaped import ShapedInputMixin

#: The dense autoencoder's defaults differ where scikit-learn's MLP defaults underfit a
#: reconstruction: its loss keeps falling by less than 1e-4 per epoch long after the
#: classifiers' has settled. With (128,) and 1e-5 the default autoencoder beats PCA on
#: sklearn's digits at 2, 8 and 16 components (tests/test_autoencoder.py).
_DENSE_AE_TRAINING_PARAMS = replace_params(
    TRAINING_PARAMS,
    tol="""\
    tol : float, default=1e-5
        Tolerance of the stopping rule (see ``n_iter_no_change``); smaller than the MLPs'
        1e-4, which stops a reconstruction while it still improves.
""",
)

_AE_PARAMS = (
    """\
    encoding_dim : int, default=2
        Width of the code that ``transform`` returns.
    hidden_layer_sizes : tuple of int, default=(128,)
        Encoder hidden layers; the decoder mirrors them.
"""
    + activation_param("Activation of the hidden layers (the code itself is linear).")
    + """\
    output_activation : {'linear', 'sigmoid'}, default='linear'
        Activation of the reconstruction: ``'sigmoid'`` for data in [0, 1].
    noise_std : float, default=0.0
        Gaussian noise added to the input during training only (denoising autoencoder).
    activity_l1 : float, default=0.0
        L1 penalty on the code of each sample (sparse code).
"""
)

_AE_ATTRIBUTES = """\
    encoder_ : keras.Model
        The fitted encoder, input to code.
    decoder_ : keras.Model
        The fitted decoder, code to reconstruction.
"""


class _ReconstructionMixin(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """Transformer API of the autoencoders: code, decoding and reconstruction scores."""

    _head = ReconstructionHead

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None, *, X_val=None, sample_weight_val=None):
        """Learn to reconstruct ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights of the reconstruction loss.
        X_val : array-like of shape (n_val_samples, n_features), default=None
            A fixed validation set: it replaces the ``validation_fraction`` split (the
            network trains on all of ``X``); early stopping and ``validation_scores_`` use
            its reconstruction, and its loss is recorded every epoch
            (``validation_loss_curve_``). Stochastic solvers only. In a ``Pipeline``,
            ``Pipeline(..., transform_input=["X_val"])`` transforms it as ``X``.
        sample_weight_val : array-like of shape (n_val_samples,), default=None
            Weights of the validation samples.

        Returns
        -------
        self : object
            The fitted autoencoder.
        """
        validation = _validation_set.from_fit_arguments(
            X_val, None, sample_weight_val, supervised=False
        )
        return self._fit(X, None, sample_weight, validation=validation)

    def transform(self, X):
        """Encode ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        Z : ndarray of shape (n_samples, encoding_dim)
            The code.
        """
        return self._forward(X, part="encoder")

    def inverse_transform(self, X):
        """Decode codes back to the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, encoding_dim)
            Codes, as ``transform`` returns them.

        Returns
        -------
        X_rec : ndarray
            Reconstructions, shaped like the samples seen in ``fit``.
        """
        check_is_fitted(self)
        out = self._run(self._check_code(X), part="decoder")
        return out.reshape((len(out),) + self._fit_sample_shape)

    def _check_code(self, Z):
        Z = check_array(Z, dtype=(np.float64, np.float32))
        if Z.shape[1] != self.encoding_dim:
            raise ValueError(
                f"X has {Z.shape[1]} features, but inverse_transform of "
                f"{type(self).__name__} is expecting codes of encoding_dim={self.encoding_dim}."
            )
        return Z

    def _reconstruction_errors(self, X):
        check_is_fitted(self)
        X = self._validate_predict_data(X)
        rec = self._run(X, part="model")
        return ((rec.reshape(len(rec), -1) - X.reshape(len(X), -1)) ** 2).mean(axis=1)

    def score_samples(self, X):
        """Negative mean squared reconstruction error of each row (higher is more normal).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``-mean((X - reconstruction) ** 2)`` per row; anomalies score low.
        """
        return -self._reconstruction_errors(X)

    def score(self, X, y=None, sample_weight=None):
        """Negative mean squared reconstruction error.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the mean.

        Returns
        -------
        score : float
            ``-mean((X - reconstruction) ** 2)``; higher is better.
        """
        return float(-np.average(self._reconstruction_errors(X), weights=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.target_tags.required = False
        return tags

    @property
    def _n_features_out(self):
        return self.encoding_dim

    @property
    def encoder_(self):
        """keras.Model: the fitted encoder, sharing the weights of ``model_``."""
        # Keras is imported on first use, not with keraskit
        from .._networks.builders import split_autoencoder

        return split_autoencoder(self.model_)[0]

    @property
    def decoder_(self):
        """keras.Model: the fitted decoder, sharing the weights of ``model_``."""
        # Keras is imported on first use, not with keraskit
        from .._networks.builders import split_autoencoder

        return split_autoencoder(self.model_)[1]


@register_estimator
class AutoencoderTransformer(_ReconstructionMixin, BaseKerasEstimator):
    __doc__ = (
        """Dense autoencoder as a scikit-learn transformer.

    ``fit`` learns to reconstruct ``X`` through a narrow code; ``transform`` returns the
    code, ``inverse_transform`` decodes it, ``score_samples`` gives each row's negative
    reconstruction error (anomaly detection). Trained on the same engine and with the same
    training parameters as keraskit's MLPs.

    Parameters
    ----------
"""
        + _AE_PARAMS
        + _DENSE_AE_TRAINING_PARAMS
        + CALLBACKS_PARAM
        + """
    Attributes
    ----------
"""
        + TRAINING_ATTRIBUTES
        + _AE_ATTRIBUTES
        + """
    See Also
    --------
    sklearn.decomposition.PCA : The linear counterpart.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from keraskit import AutoencoderTransformer
    >>> X, _ = load_digits(return_X_y=True)
    >>> ae = AutoencoderTransformer(encoding_dim=4, max_iter=5, random_state=0).fit(X / 16)
    >>> ae.transform(X[:3] / 16).shape
    (3, 4)
"""
    )

    _parameter_constraints: dict = {
        **BaseKerasEstimator._parameter_constraints,
        "encoding_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
        "output_activation": [StrOptions({"linear", "sigmoid"})],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "activity_l1": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        encoding_dim=2,
        hidden_layer_sizes=(128,),
        activation="relu",
        *,
        output_activation="linear",
        noise_std=0.0,
        activity_l1=0.0,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
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
        batch_normalization=False,
        callbacks=None,
        mixed_precision=False,
        distribution=None,
    ):
        for name, value in locals().items():
            if name != "self":
                setattr(self, name, value)

    def _check_architecture(self):
        return self._hidden_sizes()

    def _random_settings(self):
        return {**super()._random_settings(), "noise_std": self.noise_std}

    def _stackable(self):
        # input noise and the code's activity penalty are layers the stacked trainer lacks
        return self.noise_std == 0 and self.activity_l1 == 0

    def _validate_fit_data(self, X, y, reset):
        X = validate_data(self, X, reset=reset, dtype=(np.float64, np.float32))
        self._fit_sample_shape = X.shape[1:]
        return X, X

    def _validate_predict_data(self, X):
        if self._plain_rows(X):
            return X
        return validate_data(self, X, reset=False, dtype=(np.float64, np.float32))

    def _arch_spec(self, X, n_outputs, dtype, hidden):
        return AutoencoderSpec(
            n_features=X.shape[1],
            hidden_layer_sizes=hidden,
            encoding_dim=int(self.encoding_dim),
            activation=self.activation,
            out_activation=self.out_activation_,
            dropout=float(self.dropout),
            batch_normalization=bool(self.batch_normalization),
            noise_std=float(self.noise_std),
            activity_l1=float(self.activity_l1),
            dtype=dtype,
        )


_CONV_AE_PARAMS = (
    """\
    encoding_dim : int, default=16
        Width of the code that ``transform`` returns.
    conv_filters : tuple of int, default=(16, 32)
        Filters of each encoder block; the decoder mirrors them.
    kernel_size : int, default=3
        Convolution window (square for images).
    pooling : {'max', 'average'} or None, default='max'
        Pooling by 2 after each encoder block, skipped where a dimension is below 2.
    upsampling : {'nearest', 'transpose'}, default='nearest'
        How the decoder undoes pooling: nearest-neighbour upsampling (unpooling) or strided
        transposed convolutions. Odd sizes are padded back, so reconstructions always have
        the input's shape.
"""
    + activation_param("Activation of the convolutional layers.")
    + """\
    output_activation : {'linear', 'sigmoid'}, default='linear'
        Activation of the reconstruction: ``'sigmoid'`` for data in [0, 1].
    input_shape : tuple of int or None, default=None
        Shape of one sample, with the same rules as :class:`CNNClassifier`'s.
    noise_std : float, default=0.0
        Gaussian noise added to the input during training only (denoising autoencoder).
    activity_l1 : float, default=0.0
        L1 penalty on the code of each sample (sparse code).
"""
)


@register_estimator
class ConvAutoencoderTransformer(_ReconstructionMixin, ShapedInputMixin, BaseKerasEstimator):
    __doc__ = (
        """Convolutional autoencoder for signals and images, as a scikit-learn transformer.

    The encoder's convolutions and pooling end in a dense code of ``encoding_dim`` values
    (``transform``); the decoder mirrors the encoder with unpooling or transposed
    convolutions back to exactly the input's shape (``inverse_transform``). Inputs follow
    :class:`CNNClassifier`'s rules: rows (with ``input_shape``), ``(n, length, channels)``
    signals, ``(n, height, width[, channels])`` images.

    Parameters
    ----------
"""
        + _CONV_AE_PARAMS
        + TRAINING_PARAMS
        + CALLBACKS_PARAM
        + """
    Attributes
    ----------
"""
        + TRAINING_ATTRIBUTES
        + _AE_ATTRIBUTES
        + """    input_shape_ : tuple of int
        Shape of one sample as the network sees it (channels last).

    See Also
    --------
    AutoencoderTransformer : The dense autoencoder.
"""
    )

    _parameter_constraints: dict = {
        **BaseKerasEstimator._parameter_constraints,
        "encoding_dim": [Interval(Integral, 1, None, closed="left")],
        "conv_filters": ["array-like"],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "pooling": [StrOptions({"max", "average"}), None],
        "upsampling": [StrOptions({"nearest", "transpose"})],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
        "output_activation": [StrOptions({"linear", "sigmoid"})],
        "input_shape": ["array-like", None],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "activity_l1": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        encoding_dim=16,
        *,
        conv_filters=(16, 32),
        kernel_size=3,
        pooling="max",
        upsampling="nearest",
        activation="relu",
        output_activation="linear",
        input_shape=None,
        noise_std=0.0,
        activity_l1=0.0,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
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
        batch_normalization=False,
        callbacks=None,
        mixed_precision=False,
        distribution=None,
    ):
        for name, value in locals().items():
            if name != "self":
                setattr(self, name, value)

    def _random_settings(self):
        return {**super()._random_settings(), "noise_std": self.noise_std}

    def _check_architecture(self):
        filters = self.conv_filters
        filters = list(filters) if hasattr(filters, "__iter__") else [filters]
        if not filters or any(not isinstance(f, Integral) or f <= 0 for f in filters):
            raise ValueError(
                f"conv_filters must be a non-empty tuple of positive integers, got "
                f"{self.conv_filters!r}."
            )
        return tuple(int(f) for f in filters)

    def _validate_fit_data(self, X, y, reset):
        X = validate_data(self, X, reset=reset, allow_nd=True, dtype=(np.float64, np.float32))
        self._fit_sample_shape = X.shape[1:]
        X = self._to_samples(X, fitting=reset)
        return X, X

    def _arch_spec(self, X, n_outputs, dtype, filters):
        return ConvAutoencoderSpec(
            input_shape=self.input_shape_,
            conv_filters=filters,
            kernel_size=int(self.kernel_size),
            pooling=self.pooling,
            upsampling=self.upsampling,
            encoding_dim=int(self.encoding_dim),
            activation=self.activation,
            out_activation=self.out_activation_,
            batch_normalization=bool(self.batch_normalization),
            noise_std=float(self.noise_std),
            activity_l1=float(self.activity_l1),
            dropout=float(self.dropout),
            dtype=dtype,
        )
