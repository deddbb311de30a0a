"""scikit-learn's stochastic training loop, written once for every network the engine trains.

A :class:`MemberLoop` is one network's loop on the host: its shuffle, learning-rate
schedule, ``tol``/``n_iter_no_change`` stopping, validation score and loss, early-stopping
best weights, divergence rollback (weights *and* optimizer state), warnings, verbose lines
and epoch hooks. It never computes: a *backend* runs the epochs and hands it, after each,
the epoch's loss, whether the weights stayed finite, a :class:`Snapshot` of what ended the
epoch and the validation outputs. Two backends exist:

- a lone fit (:func:`train`): the Keras template's compiled epoch (``trainer.Trainer``),
  one member;
- a fused group (``population.Group``): many members stacked in one compiled epoch
  (``stacked.StackedTrainer``), one :class:`MemberLoop` each.

Keras callbacks (lone fits only) hook into the loop through :class:`KerasCallbacks`.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .data import reshuffle
from .progress import Reporter
from .records import EpochHooks
from .schedules import count_no_improvement, on_plateau, rate_after_epoch

#: scikit-learn's words when training cannot end with finite weights.
NON_FINITE_MESSAGE = (
    "Solver produced non-finite parameter weights. The input data may contain large "
    "values and need to be preprocessed."
)


def diverged_message(n_iter, loss):
    """The warning of a fit whose loss became ``loss`` at epoch ``n_iter``."""
    return (
        f"Training diverged at iteration {n_iter}: the loss became {loss}. Training "
        "stopped and the weights that started the last finite epoch were kept; a smaller "
        "learning_rate_init (or solver='adam') usually helps."
    )


def max_iter_message(max_iter):
    """scikit-learn's warning of a stochastic fit that ran ``max_iter`` epochs."""
    return (
        f"Stochastic Optimizer: Maximum iterations ({max_iter}) reached and the "
        "optimization hasn't converged yet."
    )


def all_finite(weights):
    """Whether every array of ``(trainable, non_trainable)`` weights is finite."""
    return all(np.isfinite(a).all() for part in weights for a in part)


def check_finite(weights):
    """Raise scikit-learn's ``ValueError`` unless ``weights`` are all finite.

    Parameters
    ----------
    weights : tuple of (list of ndarray, list of ndarray)
        Trainable and non-trainable weights.
    """
    if not all_finite(weights):
        raise ValueError(NON_FINITE_MESSAGE)


def validation_result(score_fn, outputs, total, sw_sum, penalty, scale):
    """An epoch's validation score and loss from the validation set's outputs and loss parts.

    Parameters
    ----------
    score_fn : callable
        Outputs to the score (higher is better).
    outputs : ndarray
        The network's outputs on the validation rows.
    total, sw_sum, penalty : float
        Weighted loss sum, weight sum and penalty.
    scale : float
        The trainer's report scale.

    Returns
    -------
    score, val_loss : float
    """
    # as scikit-learn scores non-finite predictions: nan, never an error
    score = float(score_fn(outputs)) if np.isfinite(outputs).all() else float("nan")
    val_loss = (float(total) * scale + float(penalty)) / sw_sum if sw_sum else 0.0
    return score, val_loss


def warn_now(message, category=ConvergenceWarning):
    """A lone fit's warnings reach the caller of ``fit``."""
    warnings.warn(message, category, stacklevel=6)


class Snapshot:
    """The weights and optimizer state that ended an epoch, read only when asked for.

    A fused group's members keep references to the group's stacked tensors and slice a
    member out only when its bookkeeping needs it (a best epoch, a stop, a rollback).

    Parameters
    ----------
    read_weights : callable
        Returns ``(trainable, non_trainable)`` numpy weights.
    read_state : callable
        Returns the optimizer's state as numpy arrays (Keras' variable order).
    """

    def __init__(self, read_weights, read_state):
        self._read = {"weights": read_weights, "state": read_state}
        self._values = {}

    @classmethod
    def of(cls, weights, state):
        """A snapshot of values already read."""
        return cls(lambda: weights, lambda: state)

    def _get(self, what):
        if what not in self._values:
            self._values[what] = self._read[what]()
        return self._values[what]

    def weights(self):
        """``(trainable, non_trainable)`` numpy weights."""
        return self._get("weights")

    def state(self):
        """The optimizer state, numpy arrays in Keras' variable order."""
        return self._get("state")

    def pair(self):
        """``(weights, optimizer_state)``."""
        return self.weights(), self.state()


class MemberLoop:
    """One network's scikit-learn loop, whichever backend computes its epochs.

    The backend calls :meth:`epoch_order` and :meth:`rate` before an epoch, runs it, and
    :meth:`end_epoch` after; once :attr:`active` is false, :meth:`finish` gives what the fit
    ends with.

    Parameters
    ----------
    cfg : FitConfig
        Loop settings.
    progress : Progress
        Bookkeeping, updated in place.
    resume : Resume
        Best weights (kept in place under early stopping) and, once the fit ends, its
        optimizer state.
    score_fn : callable or None
        Validation outputs to the validation score (higher is better).
    rng : numpy.random.RandomState
        Source of the shuffling order.
    n_train : int
        Training rows.
    start : Snapshot
        The weights and optimizer state the fit starts from.
    hooks : EpochHooks, default=None
        Told of every epoch (scikit-learn's callbacks); may ask to stop.
    warn : callable, default=warn_now
        ``warn(message, category)``: what the fit warns (a fused member records it).
    callbacks : KerasCallbacks, default=None
        Keras callbacks at epoch granularity (lone fits only).
    """

    def __init__(
        self, cfg, progress, resume, score_fn, rng, n_train, start, hooks=None, warn=warn_now,
        callbacks=None,
    ):  # fmt: skip
        self.cfg, self.p, self.resume = cfg, progress, resume
        self.score_fn, self.rng = score_fn, rng
        self.n_train = n_train
        self.order = np.arange(n_train, dtype=np.int32)
        self.hooks = hooks or EpochHooks()
        self.warn, self.callbacks = warn, callbacks
        self.report = Reporter(cfg.verbose, cfg.max_iter, cfg.progress_bar)
        self.last_good = self.prev_good = start
        self.n_iter, self.active, self.final, self.rolled_back = 0, True, None, False

    def epoch_order(self):
        """This epoch's order of the training rows (sklearn reshuffles the previous one)."""
        if self.cfg.shuffle:
            # a composition of permutations, as sklearn's: identical batches for a seed
            self.order = reshuffle(self.order, self.rng)
        return self.order

    def rate(self):
        """This epoch's learning rate, as Keras' float32 variable holds it."""
        if self.callbacks is not None:  # callbacks may change it before the epoch
            self.p.learning_rate = self.callbacks.begin(self.n_iter, self.p.learning_rate)
        self.hooks.begin_epoch()
        with np.errstate(over="ignore"):  # beyond float32 it is inf, as Keras' variable holds it
            return np.float32(self.p.learning_rate)

    def end_epoch(self, loss, finite, snapshot, validation=None):
        """The bookkeeping after an epoch; return whether training stops.

        Parameters
        ----------
        loss : float
            The epoch's mean reported loss.
        finite : bool
            Whether the weights that end the epoch are all finite.
        snapshot : Snapshot
            The weights and optimizer state that end the epoch.
        validation : callable, default=None
            ``() -> (outputs, loss_sum, sw_sum, penalty, scale)`` on the validation rows.

        Raises
        ------
        ValueError
            scikit-learn's error when the first epoch is not finite.
        """
        self.n_iter += 1
        if not (np.isfinite(loss) and finite):
            self._diverged(loss)
            return self._stop()
        # the epoch counts once its weights are safe
        self.prev_good, self.last_good = self.last_good, snapshot
        p = self.p
        p.t += self.n_train
        p.loss_curve.append(loss)
        logs = {"loss": loss, "learning_rate": p.learning_rate}
        self.report.iteration(self.n_iter, loss)
        self._count(logs, snapshot, validation)
        p.history.append(logs.copy())
        self.report.epoch_end(logs)
        stop = self._schedule(logs)
        weights = snapshot.weights() if self.hooks.listening else None
        # both are told of the epoch; either may stop training after it
        stop = self.hooks.end_epoch(self.n_iter, weights) or stop
        if stop or self.cfg.incremental:
            return self._stop()
        if self.n_iter == self.cfg.max_iter:
            self.warn(max_iter_message(self.cfg.max_iter), ConvergenceWarning)
            return self._stop()
        return False

    def _count(self, logs, snapshot, validation):
        """Validation (logged whenever there are validation rows) and the stopping count."""
        p, score = self.p, None
        if validation is not None:
            outputs, *parts = validation()
            score, val_loss = validation_result(self.score_fn, outputs, *parts)
            logs.update(val_loss=val_loss, val_score=score)
        if not p.early_stopping:
            count_no_improvement(p, self.cfg.tol)
            return
        p.validation_scores.append(score)
        self.report.validation(score)
        if count_no_improvement(p, self.cfg.tol, score):
            self.resume.best_weights = snapshot.weights()  # the weights ending this epoch

    def _schedule(self, logs):
        """The rate for the next epoch, callbacks and the plateau rule; whether to stop."""
        cfg, p = self.cfg, self.p
        done = len(p.loss_curve) if cfg.incremental else self.n_iter
        p.learning_rate = rate_after_epoch(cfg, p, done)
        stop = False
        if self.callbacks is not None:
            # callbacks see (and may change) the rate the schedule set for the next epoch
            stop, p.learning_rate = self.callbacks.end(self.n_iter, logs, p.learning_rate)
        if p.no_improvement_count > cfg.n_iter_no_change:
            plateau_stop, message = on_plateau(cfg, p)
            self.report.say(message)
            stop = plateau_stop or stop
        return stop

    def _diverged(self, loss):
        """Keep the last weights that gave finite losses and warn; with none, raise.

        A non-finite loss means the weights that ended the last finite epoch already fed
        this epoch's first (non-finite) batches: the weights that started that epoch are
        kept. A finite loss with non-finite weights keeps the weights that started this
        epoch. Weights and optimizer state go back together, so a later ``partial_fit``
        continues from both. When the first epoch of a fit is not finite, there is nothing
        to keep: scikit-learn's ``ValueError``.
        """
        if self.n_iter == 1:
            self.active = False
            raise ValueError(NON_FINITE_MESSAGE)
        keep = self.last_good if np.isfinite(loss) else self.prev_good
        self.final, self.rolled_back = keep, True
        self.hooks.end_epoch(self.n_iter, keep.weights())  # the epoch's task ends with it
        self.warn(diverged_message(self.n_iter, loss), ConvergenceWarning)

    def _stop(self):
        self.active = False
        if self.final is None:
            self.final = self.last_good
        return True

    def interrupted(self):
        """Ctrl-C: end with the last completed epoch, and say so."""
        self.active, self.final = False, self.last_good
        warnings.warn(
            f"Training interrupted by user after {self.n_iter} completed epoch(s); the "
            "estimator keeps the weights of the last completed epoch.",
            stacklevel=4,
        )

    def finish(self, spec, final=None):
        """The weights the fit ends with; its optimizer state goes to ``resume``.

        The snapshot it stopped at (or rolled back to), unless ``final`` (what Keras
        callbacks left in the model) is given; under early stopping, the best weights.

        Parameters
        ----------
        spec : TrainSpec
            The training signature the optimizer state belongs to.
        final : tuple of (weights, optimizer_state), default=None
            What Keras callbacks left in the model.

        Returns
        -------
        weights : tuple of (list of ndarray, list of ndarray)
        """
        self.report.close()
        weights, state = (self.final or self.last_good).pair() if final is None else final
        if self.p.early_stopping and self.resume.best_weights is not None:
            weights = self.resume.best_weights
        # a stopped member of a group must not keep the group's tensors alive
        self.final = self.last_good = self.prev_good = Snapshot.of(weights, state)
        self.resume.optimizer_state, self.resume.optimizer_spec = state, spec
        return weights
