"""Full-batch L-BFGS (scipy's ``L-BFGS-B``) on TensorFlow's loss and gradient, as in sklearn."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import minimize
from sklearn.utils.optimize import _check_optimize_result

from .._tensorflow import tf
from .data import tensor_chunks
from .lone import KerasCallbacks
from .loop import NON_FINITE_MESSAGE, check_finite
from .progress import Reporter
from .records import EpochHooks


class Objective:
    """sklearn's objective over flat trainable weights, chunk by chunk.

    ``(sum of weighted losses + penalty) / sum of weights``; sparse data is densified a
    chunk at a time at each evaluation.

    Parameters
    ----------
    trainer : Trainer
        A trainer built for ``solver='lbfgs'`` (its template's variables are assigned).
    data : FitData
        Encoded training arrays.
    cfg : FitConfig
        ``alpha``, ``l1`` and ``smoothing``.
    """

    def __init__(self, trainer, data, cfg):
        self.trainer = trainer
        dt = trainer.template.dtype
        self.alpha, self.l1, self.smoothing = (
            tf.constant(v, dt) for v in (cfg.alpha, cfg.l1, cfg.smoothing)
        )
        self.chunks = tensor_chunks(data.X, data.Y, data.sw, dt)
        self.dtype = dt
        self.last = {}

    def __call__(self, flat):
        """Objective and gradient at ``flat`` (float64, for scipy); loads ``flat``."""
        t = self.trainer
        t.assign_flat(tf.constant(flat, self.dtype))
        total, sw_sum, grad = 0.0, 0.0, 0.0
        for Xc, Yc, swc in self.chunks():
            part, s, g = t.data_grad(Xc, Yc, swc, self.smoothing)
            total, sw_sum, grad = total + float(part), sw_sum + float(s), grad + g.numpy()
        penalty, g_pen = t.penalty_grad(self.alpha, self.l1)
        self.last.update(total=total, penalty=float(penalty), sw_sum=sw_sum)
        loss = (total + float(penalty)) / sw_sum
        return loss, (grad + g_pen.numpy()).astype(np.float64) / sw_sum

    def reported_loss(self):
        """sklearn's reported loss at the last evaluation (squared error averaged)."""
        last = self.last
        return (last["total"] * self.trainer.report_scale + last["penalty"]) / last["sw_sum"]


class _Iterations:
    """scipy's per-iteration callback: history, verbose lines, Keras callbacks, hooks."""

    def __init__(self, progress, report, callbacks, model, hooks, weights_of):
        self.progress, self.report, self.callbacks, self.model = progress, report, callbacks, model
        self.hooks, self.weights_of = hooks, weights_of
        self.count, self.accepted, self.stopped = 0, None, False

    def __call__(self, intermediate_result):
        self.accepted = np.array(intermediate_result.x, copy=True)
        self.count += 1
        loss = float(intermediate_result.fun)
        self.progress.history.append({"loss": loss})
        self.report.iteration(self.count, loss)
        stop = False
        if self.callbacks is not None:
            self.callbacks.on_epoch_end(self.count - 1, {"loss": loss})
            stop = bool(getattr(self.model, "stop_training", False))
        # an iteration is an epoch for the hooks: begun and ended once scipy accepted it
        if self.hooks.listening:
            self.hooks.begin_epoch()
            stop = self.hooks.end_epoch(self.count, self.weights_of(self.accepted)) or stop
        if stop:
            self.stopped = True
            raise StopIteration


def _minimize(objective, x0, cfg, iterations):
    """Run scipy; returns the solution and the iterations, keeping the last on Ctrl-C."""
    try:
        result = minimize(
            objective,
            x0,
            method="L-BFGS-B",
            jac=True,
            callback=iterations,
            options={"maxfun": cfg.max_fun, "maxiter": cfg.max_iter, "gtol": cfg.tol},
        )
        if iterations.stopped:  # asked to stop: not a failure to converge
            return result.x, iterations.count
        return result.x, _check_optimize_result("lbfgs", result, cfg.max_iter)
    except KeyboardInterrupt:
        n_iter = iterations.count
        warnings.warn(
            f"Training interrupted by user after {n_iter} L-BFGS iteration(s); the "
            "estimator keeps the last accepted iterate.",
            stacklevel=4,
        )
        return (x0 if iterations.accepted is None else iterations.accepted), n_iter


def _unflatten(flat, init_weights):
    """``(trainable, non_trainable)`` weights from L-BFGS's flat trainable vector."""
    trainable, offset = [], 0
    for a in init_weights[0]:
        trainable.append(flat[offset : offset + a.size].reshape(a.shape).astype(a.dtype))
        offset += a.size
    return trainable, [np.array(a, copy=True) for a in init_weights[1]]


def train_lbfgs(trainer, init_weights, data, cfg, progress, callbacks, hooks=None):
    """Full-batch L-BFGS over the template's weights, sklearn's objective and limits.

    ``max_iter``, ``max_fun`` and ``tol`` (as ``gtol``) bound the search and sklearn's
    ``ConvergenceWarning`` is raised when a limit stops it.

    Parameters
    ----------
    trainer : Trainer
        A trainer built for ``solver='lbfgs'``.
    init_weights : tuple of (list of ndarray, list of ndarray)
        Starting weights.
    data : FitData
        Encoded training arrays (no validation split).
    cfg : FitConfig
        ``max_iter``, ``max_fun``, ``tol``, ``alpha``, ``l1``, ``smoothing``, ``verbose``.
    progress : Progress
        Bookkeeping; ``history`` gets one row per L-BFGS iteration.
    callbacks : list of keras.callbacks.Callback or None
        Called once per L-BFGS iteration (``on_epoch_end``).
    hooks : EpochHooks, default=None
        Told of every iteration (scikit-learn's callbacks); may ask to stop.

    Returns
    -------
    weights : tuple of (list of ndarray, list of ndarray)
    n_iter : int
        L-BFGS iterations.
    loss : float
        sklearn's ``loss_`` at the solution (squared error averaged over outputs).
    """
    template = trainer.template
    objective = Objective(trainer, data, cfg)
    with template.lock:
        template.set_weights(init_weights)
        adapter = KerasCallbacks.of(trainer, callbacks)
        cbs = None if adapter is None else adapter.list
        iterations = _Iterations(
            progress,
            Reporter(cfg.verbose),
            cbs,
            template.model,
            hooks or EpochHooks(),
            lambda flat: _unflatten(flat, init_weights),
        )
        if cbs is not None:
            cbs.on_train_begin()
        x0 = np.concatenate([np.ravel(a) for a in init_weights[0]]).astype(np.float64)
        solution, n_iter = _minimize(objective, x0, cfg, iterations)
        if cbs is not None:
            cbs.on_train_end()
        objective(solution)  # loads the solution and its loss parts
        weights, loss = template.get_weights(), objective.reported_loss()
        check_finite(weights)
        if not np.isfinite(loss):
            raise ValueError(NON_FINITE_MESSAGE)
        return weights, n_iter, loss
