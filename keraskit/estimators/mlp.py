"""MLPClassifier and MLPRegressor: drop-in replacements for scikit-learn's, trained by Keras."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target

from ._base import ACTIVATIONS, BaseKerasEstimator
from ._builders import MLPSpec
from ._heads import ClassifierHead, RegressorHead

_COMMON_PARAMS = """\
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of neurons in the ith hidden layer.
    activation : {'identity', 'logistic', 'tanh', 'relu', 'elu', 'leaky_relu', 'gelu', \
'selu', 'swish'}, default='relu'
        Activation of the hidden layers. The first four are scikit-learn's.
    solver : {'lbfgs', 'sgd', 'adam', 'adamw', 'nadam', 'rmsprop', 'adagrad'}, default='adam'
        Optimizer. ``'lbfgs'`` is full-batch L-BFGS (scipy's ``L-BFGS-B``) on TensorFlow's
        loss and gradient, as in scikit-learn; the others are Keras optimizers. With
        ``'adamw'`` the ``alpha`` penalty is applied as decoupled weight decay instead of an
        L2 term in the loss.
    alpha : float, default=0.0001
        Strength of the L2 penalty, scaled as in scikit-learn:
        ``0.5 * alpha * ||W||^2 / sum(batch sample weights)``.
    batch_size : int or 'auto', default='auto'
        Size of minibatches; ``'auto'`` is ``min(200, n_samples)``.
    learning_rate : {'constant', 'invscaling', 'adaptive', 'cosine'}, default='constant'
        Learning-rate schedule. As in scikit-learn, ``'invscaling'`` (divide by
        ``(t + 1) ** power_t`` after each epoch, ``t`` samples seen) and ``'adaptive'``
        (divide by 5 when the loss stalls for ``n_iter_no_change`` epochs) apply to
        ``solver='sgd'`` only. ``'cosine'`` (keraskit's) applies to every stochastic solver:
        ``learning_rate_init * (1 + cos(pi * epoch / max_iter)) / 2``.
    learning_rate_init : float, default=0.001
        Initial learning rate.
    power_t : float, default=0.5
        Exponent of ``learning_rate='invscaling'``.
    max_iter : int, default=200
        Maximum number of epochs (iterations of ``solver='lbfgs'``).
    shuffle : bool, default=True
        Whether to shuffle the samples in each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and the validation split. The same
        integer gives the same model; no global TensorFlow state is touched.
    tol : float, default=1e-4
        Tolerance of the stopping rule (see ``n_iter_no_change``).
    verbose : bool, default=False
        Print scikit-learn's progress lines (``Iteration 1, loss = ...``) to stdout.
    warm_start : bool, default=False
        Reuse the previous solution as the starting point of the next ``fit``.
    momentum : float, default=0.9
        Momentum of ``solver='sgd'``, between 0 and 1.
    nesterovs_momentum : bool, default=True
        Whether ``solver='sgd'`` uses Nesterov's momentum (when ``momentum > 0``).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for classifiers)
        and stop when the validation score (accuracy or R^2) stops improving; the weights of
        the best epoch are restored.
    validation_fraction : float, default=0.1
        Share of the training data held out when ``early_stopping=True``.
    beta_1 : float, default=0.9
        First-moment decay of the Adam-family solvers, in [0, 1).
    beta_2 : float, default=0.999
        Second-moment decay of the Adam-family solvers, in [0, 1).
    epsilon : float, default=1e-8
        Numerical-stability constant of the adaptive solvers.
    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` (in training loss, or in
        validation score with ``early_stopping``) after which training stops.
    max_fun : int, default=15000
        Maximum number of loss evaluations of ``solver='lbfgs'``.
    dropout : float, default=0.0
        Dropout rate after each hidden layer, active only during training.
    l1 : float, default=0.0
        Strength of an L1 weight penalty beside ``alpha``, scaled the same way:
        ``l1 * ||W||_1 / sum(batch sample weights)``.
    batch_normalization : bool, default=False
        Add batch normalization after each hidden dense layer (before its activation).
"""

_CALLBACKS_PARAM = """\
    callbacks : list of keras.callbacks.Callback, default=None
        Keras callbacks, deep-copied for each fit so the estimator stays clonable. Whole
        epochs run in one compiled call, so callbacks receive ``on_train_begin/end`` and
        ``on_epoch_begin/end`` (logs: ``loss``, ``learning_rate``, and ``val_loss``,
        ``val_score`` with early stopping); ``self.model.stop_training = True`` stops
        training and ``LearningRateScheduler`` works.
"""

_COMMON_ATTRIBUTES = """\
    loss_ : float
        The loss of the last epoch.
    best_loss_ : float or None
        The lowest training loss seen; ``None`` with ``early_stopping``.
    loss_curve_ : list of float
        Training loss of each epoch (stochastic solvers only, as in scikit-learn).
    validation_scores_ : list of float or None
        Validation score of each epoch with ``early_stopping``, else ``None``.
    best_validation_score_ : float or None
        Best validation score with ``early_stopping``, else ``None``.
    t_ : int
        Number of training samples seen by the solver.
    coefs_ : list of ndarray of shape (n_fan_in, n_fan_out)
        Copies of the dense kernels, layer by layer (scikit-learn's shapes). Settable.
    intercepts_ : list of ndarray of shape (n_fan_out,)
        Copies of the dense biases, layer by layer. Settable.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.
    n_iter_ : int
        Epochs run by the last fit.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of output units.
    out_activation_ : str
        Name of the output activation.
    history_ : pandas.DataFrame
        One row per epoch: ``loss``, ``learning_rate`` and, with early stopping,
        ``val_loss`` and ``val_score``.
    model_ : keras.Model
        A Keras model holding the fitted weights, for inspection and export.
"""


class _BaseMLP(BaseKerasEstimator):
    """Shared parameters and architecture of the two MLPs."""

    _parameter_constraints: dict = {
        **BaseKerasEstimator._parameter_constraints,
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(ACTIVATIONS)],
    }

    def _arch_spec(self, n_features, n_outputs, hidden, dtype):
        return MLPSpec(
            n_features=n_features,
            hidden_layer_sizes=hidden,
            activation=self.activation,
            n_outputs=n_outputs,
            out_activation=self.out_activation_,
            dropout=float(self.dropout),
            batch_normalization=bool(self.batch_normalization),
            dtype=dtype,
        )

    def _init_factor(self):
        return 2.0 if self.activation == "logistic" else 6.0

    def _dense_pairs(self):
        from ._training import get_template

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


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = (
        """Multi-layer perceptron classifier trained by Keras.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`: the same
    parameters, defaults, fitted attributes and stopping rule, trained on the shared Keras
    engine (GPU when there is one), plus dropout, L1, batch normalization, more activations
    and solvers, class weights, label smoothing and Keras callbacks.

    Parameters
    ----------
"""
        + _COMMON_PARAMS
        + """\
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into ``sample_weight``; ``'balanced'`` uses
        ``n_samples / (n_classes * np.bincount(y))``.
    label_smoothing : float, default=0.0
        Share of the target probability spread uniformly over the classes, in [0, 1).
"""
        + _CALLBACKS_PARAM
        + """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
"""
        + _COMMON_ATTRIBUTES
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

    _head = ClassifierHead
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
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.l1 = l1
        self.batch_normalization = batch_normalization
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing
        self.callbacks = callbacks

    def _fit_sample_weight(self, sample_weight, X, y):
        sw = super()._fit_sample_weight(sample_weight, X, y)
        if self.class_weight is not None:
            sw *= compute_sample_weight(self.class_weight, np.asarray(y).reshape(len(y), -1)[:, 0])
        return sw

    @available_if(BaseKerasEstimator._check_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Target labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array of shape (n_classes,), default=None
            Every class that will ever appear; required on the first call, ignored later
            unless it differs (an error).

        Returns
        -------
        self : object
            The updated estimator.
        """

        def define_classes():
            if _check_partial_fit_first_call(self, classes):
                if len(self.classes_) < 2 and not type_of_target(y).startswith("multilabel"):
                    raise ValueError(f"classes must hold at least 2 classes, got {self.classes_}.")
                self._label_binarizer = LabelBinarizer()
                if type_of_target(y).startswith("multilabel"):
                    self._label_binarizer.fit(y)
                else:
                    self._label_binarizer.fit(self.classes_)

        return self._fit(X, y, sample_weight, incremental=True, prepare=define_classes)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted classes.
        """
        return ClassifierHead.labels(self, self._forward(X))

    def predict_proba(self, X):
        """Probability of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, columns in the order of ``classes_``.
        """
        return ClassifierHead.proba(self._forward(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def predict_log_proba(self, X):
        """Logarithm of the probability of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = (
        """Multi-layer perceptron regressor trained by Keras.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`: the same
    parameters, defaults, fitted attributes and stopping rule, trained on the shared Keras
    engine, plus dropout, L1, batch normalization, more activations, solvers and losses and
    Keras callbacks. Several outputs are fitted jointly when ``y`` is 2-D.

    Parameters
    ----------
    loss : {'squared_error', 'poisson', 'huber', 'absolute_error'}, default='squared_error'
        Loss minimised. ``'poisson'`` uses an exponential output (y must be >= 0);
        ``'huber'`` (delta 1) and ``'absolute_error'`` are robust to outliers.
"""
        + _COMMON_PARAMS
        + _CALLBACKS_PARAM
        + """
    Attributes
    ----------
"""
        + _COMMON_ATTRIBUTES
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

    _head = RegressorHead
    _parameter_constraints: dict = {
        **_BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson", "huber", "absolute_error"})],
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
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.l1 = l1
        self.batch_normalization = batch_normalization
        self.callbacks = callbacks

    @available_if(BaseKerasEstimator._check_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict target values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions, 1-D when the network has one output.
        """
        out = self._forward(X)
        return out.ravel() if out.shape[1] == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
