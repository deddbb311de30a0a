"""Plain records exchanged by estimators and the engine (no TensorFlow here)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class TrainSpec:
    """Training signature: everything that is compiled into the epoch function.

    Parameters
    ----------
    loss : str
        One of ``losses.LOSSES``.
    solver : str
        One of ``optimizers.SOLVERS``.
    momentum, nesterov, beta_1, beta_2, epsilon : float or bool
        Optimizer constants (only the ones the solver uses matter).
    weight_decay : float
        Decoupled weight decay (``adamw`` only).
    """

    loss: str
    solver: str
    momentum: float = 0.9
    nesterov: bool = True
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    weight_decay: float = 0.0


@dataclass
class FitConfig:
    """Per-fit settings of the training loop (all plain Python values)."""

    max_iter: int
    batch_size: int
    shuffle: bool
    tol: float
    n_iter_no_change: int
    learning_rate_init: float
    lr_schedule: str
    power_t: float
    alpha: float
    l1: float
    smoothing: float
    verbose: int
    incremental: bool = False
    max_fun: int = 15000
    progress_bar: bool = False


@dataclass
class Progress:
    """sklearn's training bookkeeping, carried across warm starts and ``partial_fit`` calls.

    Parameters
    ----------
    early_stopping : bool
        Whether a validation score drives stopping.
    learning_rate : float
        The current learning rate.
    """

    early_stopping: bool
    learning_rate: float
    loss_curve: list = field(default_factory=list)
    best_loss: float | None = np.inf
    validation_scores: list | None = None
    best_validation_score: float | None = None
    no_improvement_count: int = 0
    t: int = 0
    history: list = field(default_factory=list)

    def __post_init__(self):
        if self.early_stopping and self.validation_scores is None:  # new, not restored
            self.validation_scores = []
            self.best_validation_score = -np.inf
            self.best_loss = None


@dataclass
class Resume:
    """What a later fit continues from besides the weights and :class:`Progress`.

    Kept apart from the bookkeeping: it holds arrays (a network's worth of them), where
    :class:`Progress` holds sklearn's counters and curves.

    Parameters
    ----------
    optimizer_state : list of ndarray, default=None
        The optimizer's slots and iterations as the last fit ended (a ``partial_fit``
        continues from them).
    optimizer_spec : TrainSpec, default=None
        The training signature that state belongs to (another solver starts afresh).
    best_weights : tuple, default=None
        Under early stopping, the weights of the best validation score so far: a warm
        start that never beats it ends with them, as sklearn's ``_best_coefs``.
    """

    optimizer_state: list | None = None
    optimizer_spec: object = None
    best_weights: tuple | None = None

    def state_for(self, spec):
        """The optimizer state to continue from under ``spec`` (``None``: start afresh)."""
        return self.optimizer_state if self.optimizer_spec == spec else None


@dataclass
class FitData:
    """Training and (optional) validation arrays, targets already encoded.

    ``X`` and ``X_val`` may be scipy CSR matrices: they are densified a chunk at a time.
    ``rows``, when given, selects the training rows of ``X`` (a validation split made by
    index, so that splitting never copies ``X``); ``val_rows`` are then the rows of ``X``
    that ``X_val`` holds.
    """

    X: object
    Y: np.ndarray
    sw: np.ndarray
    X_val: object = None
    Y_val: np.ndarray | None = None
    sw_val: np.ndarray | None = None
    rows: np.ndarray | None = None
    val_rows: np.ndarray | None = None

    @property
    def n_train(self):
        """Number of training rows (``rows`` selects them from ``X`` when given)."""
        return self.X.shape[0] if self.rows is None else len(self.rows)


@dataclass
class FitPlan:
    """A fit prepared up to its training: what the engine needs to train one network.

    An estimator's ``fit`` validates its data, draws the initial weights, splits off its
    validation rows and settles its loop settings, in this order and from one random
    stream; the plan holds the outcome. A lone fit hands it to the training loop, a fused
    search hands many plans to the population trainer.

    Parameters
    ----------
    arch : MLPSpec, CNNSpec, AutoencoderSpec or ConvAutoencoderSpec
        The network's architecture.
    train_spec : TrainSpec
        The training signature.
    weights : tuple of (list of ndarray, list of ndarray)
        Starting weights, in the template's variable order.
    progress : Progress
        Bookkeeping to update.
    resume : Resume
        Optimizer state and best weights to continue from; updated at the end.
    data : FitData
        Encoded training (and validation) arrays.
    cfg : FitConfig
        Loop settings.
    score_fn : callable or None
        Validation outputs to the validation score (early stopping only).
    callbacks : list
        Keras callbacks (copies of the estimator's).
    rng : numpy.random.RandomState
        The fit's random stream, advanced past the weights and the validation split.
    distribution : {'mirrored'} or None, default=None
        The distribution strategy the fit trains under.
    """

    arch: object
    train_spec: TrainSpec
    weights: tuple
    progress: Progress
    resume: Resume
    data: FitData
    cfg: FitConfig
    score_fn: object
    callbacks: list
    rng: object
    distribution: str | None = None


class EpochHooks:
    """What a fit's owner hears at each epoch (L-BFGS iteration); this base hears nothing.

    The estimators subclass it to drive scikit-learn's callbacks; the engine only calls it.
    ``listening`` says whether anything hears the calls (the engine may then skip building
    their arguments).
    """

    listening = False

    def begin_epoch(self):
        """An epoch is about to run."""

    def end_epoch(self, n_iter, weights):
        """An epoch ended with ``weights`` after ``n_iter`` epochs; return whether to stop.

        Parameters
        ----------
        n_iter : int
            Epochs (iterations) completed in this fit.
        weights : tuple of (list of ndarray, list of ndarray) or None
            The weights that ended it (``None`` where the caller holds no copy: a Keras
            model trained in place by ``Model.fit``).

        Returns
        -------
        stop : bool
        """
        return False
