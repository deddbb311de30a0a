"""Learning-rate schedules and sklearn's stopping rule, as plain functions of the bookkeeping.

``constant``, ``invscaling`` and ``adaptive`` are scikit-learn's (they drive ``sgd``);
``cosine`` is keraskit's and drives every stochastic solver.
"""

from __future__ import annotations

import numpy as np

from .optimizers import TRAITS

#: The ``learning_rate`` parameter's choices.
SCHEDULES = ("constant", "invscaling", "adaptive", "cosine")
#: Schedules that apply to every stochastic solver (the others to ``sgd`` only, as in sklearn).
ALL_SOLVER_SCHEDULES = ("cosine",)
#: ``adaptive`` stops dividing the learning rate once it is this small.
MIN_ADAPTIVE_RATE = 1e-6


def effective_schedule(schedule, solver):
    """The schedule a solver follows: sklearn's drive ``sgd`` only, ``cosine`` every solver.

    Parameters
    ----------
    schedule : str
        One of ``SCHEDULES``.
    solver : str
        The solver's name.

    Returns
    -------
    schedule : str
        ``schedule``, or ``'constant'`` where it does not apply.
    """
    follows = TRAITS[solver].sklearn_schedules or schedule in ALL_SOLVER_SCHEDULES
    return schedule if follows else "constant"


def rate_after_epoch(cfg, progress, epochs_done):
    """The learning rate for the next epoch under ``invscaling`` or ``cosine``.

    Parameters
    ----------
    cfg : FitConfig
        ``lr_schedule``, ``learning_rate_init``, ``power_t``, ``max_iter``.
    progress : Progress
        ``t`` (samples seen) and the current ``learning_rate``.
    epochs_done : int
        Epochs counted by the cosine schedule.

    Returns
    -------
    learning_rate : float
        Unchanged for the other schedules.
    """
    if cfg.lr_schedule == "invscaling":
        return cfg.learning_rate_init / (progress.t + 1) ** cfg.power_t
    if cfg.lr_schedule == "cosine":
        frac = min(epochs_done, cfg.max_iter) / cfg.max_iter
        return cfg.learning_rate_init * 0.5 * (1.0 + np.cos(np.pi * frac))
    return progress.learning_rate


def count_no_improvement(progress, tol, score=None):
    """sklearn's count of epochs without improvement, updated in place.

    Parameters
    ----------
    progress : Progress
        Bookkeeping; ``loss_curve`` already holds this epoch's loss.
    tol : float
        Improvement needed to reset the count.
    score : float, default=None
        This epoch's validation score (early stopping), else the training loss counts.

    Returns
    -------
    improved : bool
        Whether the validation score is the best so far (early stopping only).
    """
    p = progress
    if score is not None:
        worse = score < p.best_validation_score + tol
        p.no_improvement_count = p.no_improvement_count + 1 if worse else 0
        improved = score > p.best_validation_score
        p.best_validation_score = max(p.best_validation_score, score)
        return improved
    last = p.loss_curve[-1]
    p.no_improvement_count = p.no_improvement_count + 1 if last > p.best_loss - tol else 0
    p.best_loss = min(p.best_loss, last)
    return False


def on_plateau(cfg, progress):
    """sklearn's rule once the count passes ``n_iter_no_change``: adapt the rate, or stop.

    Parameters
    ----------
    cfg : FitConfig
        ``lr_schedule``, ``tol`` and ``n_iter_no_change``.
    progress : Progress
        Bookkeeping (``learning_rate`` and the count are updated in place).

    Returns
    -------
    stop : bool
        Whether training stops.
    message : str
        sklearn's verbose line for the event.
    """
    p = progress
    what = "Validation score" if p.early_stopping else "Training loss"
    msg = (
        f"{what} did not improve more than tol={cfg.tol:f} for "
        f"{cfg.n_iter_no_change} consecutive epochs."
    )
    if cfg.lr_schedule == "adaptive" and p.learning_rate > MIN_ADAPTIVE_RATE:
        p.learning_rate /= 5.0
        p.no_improvement_count = 0
        return False, msg + f" Setting learning rate to {p.learning_rate:f}"
    tail = " Learning rate too small." if cfg.lr_schedule == "adaptive" else ""
    return True, msg + tail + " Stopping."
