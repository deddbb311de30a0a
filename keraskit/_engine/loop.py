"""scikit-learn's stochastic training loop over a trainer: epochs, stopping rule, validation.

One epoch is one call of the trainer's compiled epoch function (or one per chunk of rows
for large or sparse data). Around it: the learning-rate schedule, sklearn's stopping rule,
the validation score under early stopping, the history, Keras callbacks at epoch
granularity, divergence and interrupt handling.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._tensorflow import keras, tf
from .data import TrainingRows, reshuffle, tensor_chunks
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


def callback_list(trainer, callbacks):
    """Keras callbacks bound to the trainer's template model (``None`` without callbacks).

    Parameters
    ----------
    trainer : Trainer
        Its template model is what the callbacks see (``stop_training``, ``optimizer``).
    callbacks : list of keras.callbacks.Callback or None
        The callbacks.

    Returns
    -------
    callbacks : keras.callbacks.CallbackList or None
    """
    if not callbacks:
        return None
    model = trainer.template.model
    model.stop_training = False
    if trainer.optimizer is not None:
        model.optimizer = trainer.optimizer
    return keras.callbacks.CallbackList(list(callbacks), model=model)


class Loop:
    """sklearn's stochastic training loop; a dense epoch is one compiled graph call.

    Parameters
    ----------
    trainer : Trainer
        The compiled training functions; its template holds the weights being trained.
    data : FitData
        Encoded training (and validation) arrays.
    cfg : FitConfig
        Loop settings.
    progress : Progress
        Bookkeeping, updated in place.
    score_fn : callable or None
        Validation outputs to the validation score (higher is better).
    callbacks : keras.callbacks.CallbackList or None
        Driven at epoch granularity.
    rng : numpy.random.RandomState
        Source of the shuffling order.
    hooks : EpochHooks, default=None
        Told of every epoch (scikit-learn's callbacks); may ask to stop.
    """

    def __init__(self, trainer, data, cfg, progress, score_fn, callbacks, rng, hooks=None):
        self.trainer, self.data, self.cfg, self.p = trainer, data, cfg, progress
        self.score_fn, self.callbacks, self.rng = score_fn, callbacks, rng
        self.hooks = hooks or EpochHooks()
        dt = trainer.template.dtype
        self.consts = [tf.constant(v, dt) for v in (cfg.alpha, cfg.l1, cfg.smoothing)]
        self.batch_size = tf.constant(cfg.batch_size, tf.int32)
        self.rows = TrainingRows(data, dt, cfg.batch_size)
        self.order = np.arange(data.n_train, dtype=np.int32)
        self.n_iter = 0
        self.val_chunks = None
        if data.X_val is not None:
            self.val_chunks = tensor_chunks(data.X_val, data.Y_val, data.sw_val, dt)
        self.report = None

    def run_epoch(self):
        """One epoch; returns its mean loss, and the weights and optimizer state that end it
        (flat tensors)."""
        if self.cfg.shuffle:
            # sklearn reshuffles the previous order (a composition of permutations); doing the
            # same keeps the batches identical to sklearn's for the same random_state
            self.order = reshuffle(self.order, self.rng)
        index = self.rows.epoch_index(self.order)
        with np.errstate(over="ignore"):  # beyond float32 it is inf, as Keras' variable holds it
            rate = np.float32(self.p.learning_rate)
        if self.rows.in_graph:  # the whole epoch in one call
            (chunk,) = self.rows.chunks(index)
            loss, *flats = self.trainer.epoch(*chunk, self.batch_size, *self.consts, rate)
            return float(loss), flats
        total, flats = 0.0, None
        for X, Y, sw, positions in self.rows.chunks(index):
            loss, *flats = self.trainer.epoch(
                X, Y, sw, positions, self.batch_size, *self.consts, rate
            )
            total += float(loss) * int(positions.shape[0])
        return total / len(index), flats

    def validate(self, logs):
        """Validation loss and score after an epoch, chunk by chunk; returns the score."""
        total = sw_sum = penalty = 0.0
        outputs = []
        for Xc, Yc, swc in self.val_chunks():
            t, s, penalty, out = self.trainer.evaluate(Xc, Yc, swc, *self.consts)
            total, sw_sum = total + float(t), sw_sum + float(s)
            outputs.append(out.numpy())
        score, val_loss = validation_result(
            self.score_fn,
            np.concatenate(outputs),
            total,
            sw_sum,
            penalty,
            self.trainer.report_scale,
        )
        logs.update(val_loss=val_loss, val_score=score)
        return score

    def update_no_improvement(self, logs):
        """sklearn's count of epochs without improvement (validation score or loss).

        Validation data is evaluated every epoch (its loss and score logged); only under
        early stopping does its score count.
        """
        p = self.p
        score = None if self.val_chunks is None else self.validate(logs)
        if not p.early_stopping:
            count_no_improvement(p, self.cfg.tol)
            return
        p.validation_scores.append(score)
        self.report.validation(score)
        if count_no_improvement(p, self.cfg.tol, score):
            p.best_weights = self.last_good[0]  # the weights that ended this epoch

    def diverged(self, loss):
        """Keep the last weights that gave finite losses and warn; with none, raise.

        A non-finite loss means the weights that ended the last finite epoch already fed
        this epoch's first (non-finite) batches: the weights that started that epoch are
        kept. A finite loss with non-finite weights keeps the weights that started this
        epoch. When the first epoch of a fit is not finite, there is nothing to keep:
        scikit-learn's ``ValueError`` (the fit then leaves the estimator as it was).
        """
        if self.n_iter == 1:
            raise ValueError(NON_FINITE_MESSAGE)
        keep = self.last_good if np.isfinite(loss) else self.prev_good
        # weights and optimizer state together: a later partial_fit continues from both
        self.trainer.start(*keep)
        self.final = keep
        self.hooks.end_epoch(self.n_iter, keep[0])  # the epoch's task ends with what is kept
        warnings.warn(
            diverged_message(self.n_iter, loss),
            ConvergenceWarning,
            stacklevel=5,
        )

    def begin_epoch(self):
        """Callbacks may change this epoch's learning rate (the epoch's call sets it)."""
        if self.callbacks is not None:
            opt_lr = self.trainer.optimizer.learning_rate
            opt_lr.assign(self.p.learning_rate)
            self.callbacks.on_epoch_begin(self.n_iter)
            self.p.learning_rate = float(opt_lr.numpy())

    def end_epoch(self, logs):
        """Callbacks and the stopping rule after an epoch; return whether to stop."""
        cfg, p, cbs = self.cfg, self.p, self.callbacks
        done = len(p.loss_curve) if cfg.incremental else self.n_iter
        p.learning_rate = rate_after_epoch(cfg, p, done)
        stop = False
        if cbs is not None:
            # callbacks see (and may change) the rate the schedule set for the next epoch
            self.trainer.optimizer.learning_rate.assign(p.learning_rate)
            cbs.on_epoch_end(self.n_iter - 1, logs)
            stop = bool(getattr(self.trainer.template.model, "stop_training", False))
            p.learning_rate = float(self.trainer.optimizer.learning_rate.numpy())
        if p.no_improvement_count > cfg.n_iter_no_change:
            plateau_stop, message = on_plateau(cfg, p)
            self.report.say(message)
            stop = plateau_stop or stop
        return stop

    def epoch(self):
        """Run one epoch and its bookkeeping; return whether to stop."""
        p = self.p
        self.begin_epoch()
        self.hooks.begin_epoch()
        loss, (flats, optimizer_flats) = self.run_epoch()
        weights = self.trainer.template.get_weights(flats) if np.isfinite(loss) else None
        if weights is None or not all_finite(weights):
            self.n_iter += 1
            self.diverged(loss)
            return True
        # the epoch counts once its weights are safe: an interrupt before this line falls
        # back to the previous epoch, with bookkeeping to match
        ended = (weights, self.trainer.optimizer_state(optimizer_flats))
        self.prev_good, self.last_good = self.last_good, ended
        self.n_iter += 1
        p.t += len(self.order)
        p.loss_curve.append(loss)
        logs = {"loss": loss, "learning_rate": p.learning_rate}
        self.report.iteration(self.n_iter, loss)
        self.update_no_improvement(logs)
        p.history.append(logs.copy())
        self.report.epoch_end(logs)
        stop = self.end_epoch(logs)
        # both are told of the epoch; either may stop training after it
        return self.hooks.end_epoch(self.n_iter, weights) or stop

    def epochs(self):
        """Epochs until a rule stops them, with sklearn's warning at ``max_iter``."""
        cfg = self.cfg
        for _ in range(cfg.max_iter):
            if self.epoch() or cfg.incremental:
                return
            if self.n_iter == cfg.max_iter:
                warnings.warn(
                    max_iter_message(cfg.max_iter),
                    ConvergenceWarning,
                    stacklevel=4,
                )

    def run(self, start):
        """Run epochs from ``start`` until a stopping rule fires; return the epochs run.

        ``start`` is the ``(weights, optimizer_state)`` loaded into the trainer; afterwards
        :attr:`final` holds the pair the fit ends with (the last finite epoch's, the best
        weights under early stopping, or what callbacks left in the model).
        """
        p, cbs = self.p, self.callbacks
        self.last_good = self.prev_good = start
        self.final = None  # set by a divergence
        self.report = Reporter(self.cfg.verbose, self.cfg.max_iter, self.cfg.progress_bar)
        if cbs is not None:
            cbs.on_train_begin()
        try:
            self.epochs()
            if self.final is None:
                self.final = self.last_good
        except KeyboardInterrupt:
            # keep the last completed epoch (the best one under early stopping, below); a
            # second Ctrl-C during this wrap-up propagates
            self.trainer.start(*self.last_good)
            self.final = self.last_good
            warnings.warn(
                f"Training interrupted by user after {self.n_iter} completed epoch(s); the "
                "estimator keeps the weights of the last completed epoch.",
                stacklevel=3,
            )
        finally:
            self.report.close()
        if cbs is not None:
            cbs.on_train_end()  # callbacks may change the weights (restore_best_weights)
            self.final = (self.trainer.template.get_weights(), self.trainer.get_optimizer_state())
        if p.early_stopping and p.best_weights is not None:
            self.final = (p.best_weights, self.final[1])
        return self.n_iter


def train(trainer, init_weights, data, cfg, progress, score_fn, callbacks, rng, hooks=None):
    """Train the template of ``trainer`` from ``init_weights``; return the fitted weights.

    Parameters
    ----------
    trainer : Trainer
        Compiled training functions (shared; locked for the duration of the fit).
    init_weights : tuple of (list of ndarray, list of ndarray)
        Starting weights.
    data : FitData
        Encoded training (and validation) arrays.
    cfg : FitConfig
        Loop settings.
    progress : Progress
        Bookkeeping, updated in place (``optimizer_state`` is read to continue a
        ``partial_fit`` and written at the end).
    score_fn : callable
        Maps validation outputs to the validation score (higher is better).
    callbacks : list of keras.callbacks.Callback or None
        Callbacks driven at epoch granularity.
    rng : numpy.random.RandomState
        Source of the shuffling order.
    hooks : EpochHooks, default=None
        Told of every epoch (scikit-learn's callbacks); may ask to stop.

    Returns
    -------
    weights : tuple of (list of ndarray, list of ndarray)
        The trained (or best, under early stopping) weights.
    n_iter : int
        Epochs run.
    """
    template = trainer.template
    with template.lock:
        same_optimizer = progress.optimizer_spec == trainer.spec
        state = None
        if cfg.incremental and progress.optimizer_state is not None and same_optimizer:
            state = progress.optimizer_state
        state = trainer.start(init_weights, state)
        start = (template.as_variables(init_weights), state)
        cbs = callback_list(trainer, callbacks)
        loop = Loop(trainer, data, cfg, progress, score_fn, cbs, rng, hooks)
        n_iter = loop.run(start)
        weights, progress.optimizer_state = loop.final
        progress.optimizer_spec = trainer.spec
        return weights, n_iter
