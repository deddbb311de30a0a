"""Docstring fragments shared by the estimators (numpydoc sections).

The lists of choices come from the vocabularies of the code that implements them.
"""

import re

from .._engine.devices import DISTRIBUTIONS, MIXED_PRECISIONS
from .._engine.losses import REGRESSION_LOSSES
from .._engine.optimizers import SOLVERS
from .._engine.schedules import SCHEDULES
from .._networks.activations import HIDDEN_ACTIVATIONS


def choices(values):
    """``{'a', 'b'}``: a numpydoc set of choices."""
    return "{" + ", ".join(f"'{v}'" for v in values) + "}"


def activation_param(description):
    """The ``activation`` parameter's entry, with the activation vocabulary."""
    return (
        f"    activation : {choices(HIDDEN_ACTIVATIONS)}, default='relu'\n        {description}\n"
    )


def replace_params(section, **entries):
    """``section`` with the entries of the named parameters replaced by ``entries``.

    Parameters
    ----------
    section : str
        A numpydoc parameter section: entries ``    name : type`` followed by lines indented
        eight spaces.
    **entries : str
        The new entry of each parameter, from its ``    name : type`` line on.

    Returns
    -------
    section : str
        The section with those entries replaced, in place.

    Raises
    ------
    KeyError
        If ``section`` does not document one of the names (a renamed shared entry would
        otherwise leave the wrong default in a docstring).
    """
    parts = re.split(r"(?m)^(?=    \w+ : )", section)
    names = [re.match(r"    (\w+) : ", part).group(1) if part.strip() else "" for part in parts]
    missing = set(entries) - set(names)
    if missing:
        raise KeyError(f"the section documents no parameter {sorted(missing)}")
    return "".join(entries.get(name, part) for name, part in zip(names, parts, strict=True))


def regression_loss_param(description):
    """The regressors' ``loss`` parameter's entry, with the regression losses."""
    return f"    loss : {choices(REGRESSION_LOSSES)}, default='squared_error'\n" + "".join(
        f"        {line}\n" for line in description.splitlines()
    )


TRAINING_PARAMS = (
    f"    solver : {choices(SOLVERS)}, default='adam'\n"
    + """\
        Optimizer. ``'lbfgs'`` is full-batch L-BFGS (scipy's ``L-BFGS-B``) on TensorFlow's
        loss and gradient, as in scikit-learn; the others are Keras optimizers. With
        ``'adamw'`` the ``alpha`` penalty is applied as decoupled weight decay instead of an
        L2 term in the loss.
    alpha : float, default=0.0001
        Strength of the L2 penalty, scaled as in scikit-learn:
        ``0.5 * alpha * ||W||^2 / sum(batch sample weights)``.
    batch_size : int or 'auto', default='auto'
        Size of minibatches; ``'auto'`` is ``min(200, n_samples)``.
"""
    + f"    learning_rate : {choices(SCHEDULES)}, default='constant'\n"
    + """\
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
    verbose : int or bool, default=False
        As in scikit-learn: ``0``/``False`` is silent, any other value prints its lines
        (``Iteration 1, loss = ...``, ``Validation score: ...``) on stdout.
    progress_bar : bool, default=False
        Draw a live progress bar over the epochs with the loss and validation figures
        (rich), independent of ``verbose``.
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
    n_iter_no_change : int or np.inf, default=10
        Epochs without an improvement of at least ``tol`` (in training loss, or in
        validation score with ``early_stopping``) after which training stops; ``np.inf``
        never stops early.
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
)
CALLBACKS_PARAM = (
    """\
    callbacks : list of keras.callbacks.Callback, default=None
        Keras callbacks, deep-copied for each fit so the estimator stays clonable. Whole
        epochs run in one compiled call, so callbacks receive ``on_train_begin/end`` and
        ``on_epoch_begin/end`` (logs: ``loss``, ``learning_rate``, and ``val_loss``,
        ``val_score`` with early stopping); ``self.model.stop_training = True`` stops
        training and ``LearningRateScheduler`` works.
"""
    + f"    mixed_precision : bool or {choices(MIXED_PRECISIONS)}, default=False\n"
    + """\
        Train with Keras' mixed precision: layers compute in 16-bit floats while weights,
        outputs and the loss stay float32 (faster on GPUs with tensor cores, half the
        activation memory). ``'float16'`` uses dynamic loss scaling against underflow;
        ``'bfloat16'`` needs none (TPUs and recent CPUs). ``True`` picks ``'float16'`` when
        TensorFlow sees a GPU and ``'bfloat16'`` otherwise. Input of any float dtype trains a
        float32 network; predictions run in the same precision (through TensorFlow, not
        the NumPy path for small inputs). float16 overflows above 65504: scale the input.
        Not with ``solver='lbfgs'``, which needs exact gradients.
"""
    + f"    distribution : {choices(DISTRIBUTIONS)} or None, default=None\n"
    + """\
        ``'mirrored'`` trains one model on all local GPUs at once with
        ``tf.distribute.MirroredStrategy`` (on a machine without GPUs: all logical CPU
        devices). ``batch_size`` is the global batch: each of the ``N`` devices takes a
        contiguous share of ``ceil(batch_size / N)`` rows and the gradients are summed, so
        the loss and the results are those of one device up to float rounding, except
        that dropout, noise and augmentation draw their own randomness on each device and
        batch normalization uses each device's rows (its moving statistics come from the
        first device), as in Keras. Prediction runs on one device. Every process mirrors
        over all the GPUs it sees: do not combine with ``n_jobs > 1`` searches on one
        machine. Not with ``solver='lbfgs'``.
"""
)
TRAINING_ATTRIBUTES = """\
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
    validation_loss_curve_ : list of float or None
        Validation loss of each epoch (penalty included, as ``loss_curve_``) whenever
        there is validation data: the ``validation_fraction`` split under
        ``early_stopping``, or ``X_val`` given to ``fit``; ``None`` without.
    t_ : int
        Number of training samples seen by the solver.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.
    n_iter_ : int
        Epochs run by the last fit.
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


CLASSIFIER_PARAMS = """\
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into ``sample_weight``; ``'balanced'`` uses
        ``n_samples / (n_classes * np.bincount(y))``.
    label_smoothing : float, default=0.0
        Share of the target probability spread uniformly over the classes, in [0, 1).
"""
