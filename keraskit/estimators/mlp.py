"""MLPClassifier and MLPRegressor: drop-in replacements for scikit-learn's, trained by Keras."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from .._engine.losses import REGRESSION_LOSSES
from .._io.registry import register_estimator
from .._networks.activations import HIDDEN_ACTIVATIONS
from .._networks.specs import MLPSpec
from ._base import BaseKerasEstimator
from ._docs import (
    CALLBACKS_PARAM,
    CLASSIFIER_PARAMS,
    TRAINING_ATTRIBUTES,
    TRAINING_PARAMS,
    activation_param,
    regression_loss_param,
)
from ._mixins import KerasClassifierMixin, KerasRegressorMixin

_MLP_PARAMS = """\
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of neurons in the ith hidden layer.
""" + activation_param("Activation of the hidden layers. The first four are scikit-learn's.")

_MLP_ATTRIBUTES = """\
    coefs_ : list of ndarray of shape (n_fan_in, n_fan_out)
        Copies of the dense kernels, layer by layer (scikit-learn's shapes). Settable.
    intercepts_ : list of ndarray of shape (n_fan_out,)
        Copies of the dense biases, layer by layer. Settable.
    n_layers_ : int
        Number of layers, input and output included.
"""


class _BaseMLP(BaseKerasEstimator):
    """Shared parameters and architecture of the two MLPs."""

    _parameter_constraints: dict = {
        **BaseKerasEstimator._parameter_constraints,
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
    }

    def _stackable(self):
        return True  # a chain of dense layers: the stacked trainer's kind of network

    def _check_architecture(self):
        return self._hidden_sizes()

    def _arch_spec(self, X, n_outputs, dtype, hidden):
        self.n_layers_ = len(hidden) + 2
        return MLPSpec(
            n_features=X.shape[1],
            hidden_layer_sizes=hidden,
            activation=self.activation,
            n_outputs=n_outputs,
            out_activation=self.out_activation_,
            dropout=float(self.dropout),
            batch_normalization=bool(self.batch_normalization),
            dtype=dtype,
        )

    def _dense_pairs(self):
        # the engine imports TensorFlow: loaded on first use, not with keraskit
        from .._engine.cache import get_template

        if not hasattr(self, "_weights"):
            raise AttributeError(
                f"This {type(self).__name__} instance is not fitted yet: it has no weights."
            )
        return get_template(self._arch).dense_pairs

    def _get_dense(self, which):
        return [self._weights[0][pair[which]].copy() for pair in self._dense_pairs()]

    def _set_dense(self, which, arrays):
        pairs = self._dense_pairs()
        if len(arrays) != len(pairs):
            raise ValueError(f"Expected {len(pairs)} arrays, got {len(arrays)}.")
        trainable = list(self._weights[0])
        for pair, a in zip(pairs, arrays, strict=True):
            old = trainable[pair[which]]
            a = np.asarray(a, dtype=old.dtype)
            if a.shape != old.shape:
                raise ValueError(f"Expected an array of shape {old.shape}, got {a.shape}.")
            trainable[pair[which]] = a.copy()
        self._weights = (trainable, self._weights[1])
        self._runtime.tensors = self._runtime.model = None

    @property
    def coefs_(self):
        """list of ndarray: copies of the dense kernels, layer by layer; settable."""
        return self._get_dense(0)

    @coefs_.setter
    def coefs_(self, arrays):
        self._set_dense(0, arrays)

    @property
    def intercepts_(self):
        """list of ndarray: copies of the dense biases, layer by layer; settable."""
        return self._get_dense(1)

    @intercepts_.setter
    def intercepts_(self, arrays):
        self._set_dense(1, arrays)


@register_estimator
class MLPClassifier(KerasClassifierMixin, _BaseMLP):
    __doc__ = (
        """Multi-layer perceptron classifier trained by Keras.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`: the same
    parameters, defaults, fitted attributes and stopping rule, trained on the shared Keras
    engine (GPU when there is one), plus dropout, L1, batch normalization, more activations
    and solvers, class weights, label smoothing and Keras callbacks.

    Parameters
    ----------
"""
        + _MLP_PARAMS
        + TRAINING_PARAMS
        + CLASSIFIER_PARAMS
        + CALLBACKS_PARAM
        + """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
"""
        + TRAINING_ATTRIBUTES
        + _MLP_ATTRIBUTES
        + """
    See Also
    --------
    MLPRegressor : The regressor.
    sklearn.neural_network.MLPClassifier : The estimator this one replaces.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from keraskit import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(max_iter=300, random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
"""
    )

    _parameter_constraints: dict = {
        **_BaseMLP._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
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
class MLPRegressor(KerasRegressorMixin, _BaseMLP):
    __doc__ = (
        """Multi-layer perceptron regressor trained by Keras.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`: the same
    parameters, defaults, fitted attributes and stopping rule, trained on the shared Keras
    engine, plus dropout, L1, batch normalization, more activations, solvers and losses and
    Keras callbacks. Several outputs are fitted jointly when ``y`` is 2-D.

    Parameters
    ----------
"""
        + regression_loss_param(
            "Loss minimised. ``'poisson'`` uses an exponential output (y must be >= 0);\n"
            "``'huber'`` (delta 1) and ``'absolute_error'`` are robust to outliers."
        )
        + _MLP_PARAMS
        + TRAINING_PARAMS
        + CALLBACKS_PARAM
        + """
    Attributes
    ----------
"""
        + TRAINING_ATTRIBUTES
        + _MLP_ATTRIBUTES
        + """
    See Also
    --------
    MLPClassifier : The classifier.
    sklearn.neural_network.MLPRegressor : The estimator this one replaces.

    Examples
    --------
    >>> import numpy as np
    >>> from keraskit import MLPRegressor
    >>> X = np.linspace(0, 1, 50).reshape(-1, 1)
    >>> reg = MLPRegressor(max_iter=50, random_state=0).fit(X, 2 * X.ravel())
    >>> reg.predict(X[:2]).shape
    (2,)
"""
    )

    _parameter_constraints: dict = {
        **_BaseMLP._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
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
