"""Train many planned fits together: scikit-learn's loop per member around stacked networks.

A fused search plans every (candidate, fold) fit as its estimator would (``FitPlan``: the
initial weights, the validation split and the shuffling all come from the fit's own random
stream), then hands the plans here. Plans of one network shape and training signature form
a *group*, trained as one stacked network (``stacked``) one compiled epoch at a time, with
every member's bookkeeping on the host exactly as ``loop.Loop`` keeps a lone fit's: its own
shuffle of its rows, learning-rate schedule, stopping rule, validation score, divergence
handling and warnings. A member that stops is frozen while the others go on; a member whose
first epoch is not finite ends with the lone fit's error, without harming the rest.
"""

from __future__ import annotations

import dataclasses
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from .._tensorflow import tf
from . import cache
from .data import IN_GRAPH_BYTES, reshuffle
from .loop import NON_FINITE_MESSAGE, diverged_message, max_iter_message, validation_result
from .losses import report_scale
from .optimizers import slot_names
from .schedules import count_no_improvement, on_plateau, rate_after_epoch
from .stacked import FUSED_SOLVERS, SLOTS, dense_chain


@dataclass
class MemberResult:
    """How one planned fit of a population ended.

    Parameters
    ----------
    weights : tuple of (list of ndarray, list of ndarray) or None
        The fitted (or best, under early stopping) weights; ``None`` after an error.
    n_iter : int
        Epochs run.
    error : Exception or None
        What the lone fit would have raised.
    warnings : list of (str, type)
        What the lone fit would have warned, message and category.
    seconds : float
        The member's share of its group's training time.
    """

    weights: tuple | None = None
    n_iter: int = 0
    error: BaseException | None = None
    warnings: list = field(default_factory=list)
    seconds: float = 0.0


def fusable(plan):
    """Whether a planned fit can be trained as a member of a population.

    Dense chains (MLPs, dense autoencoders) trained by ``adam`` or ``sgd`` from dense data
    small enough to live in the graph, without callbacks, verbosity, mixed precision,
    distribution, dropout, noise or batch normalization. Anything else trains alone.

    Parameters
    ----------
    plan : FitPlan
        The planned fit.

    Returns
    -------
    fusable : bool
    """
    cfg, data = plan.cfg, plan.data
    if plan.train_spec.solver not in FUSED_SOLVERS or plan.callbacks or cfg.incremental:
        return False
    if plan.distribution is not None:
        return False
    if cfg.verbose or cfg.progress_bar or sp.issparse(data.X) or not isinstance(data.X, np.ndarray):
        return False
    if data.X.nbytes > IN_GRAPH_BYTES:
        return False
    return dense_chain(cache.get_template(plan.arch)) is not None


#: Architecture fields that are widths: members differing only there can share a group.
WIDTH_FIELDS = ("hidden_layer_sizes", "encoding_dim")


def group_key(plan, layout="exact"):
    """Plans with equal keys train as one stacked network.

    Parameters
    ----------
    plan : FitPlan
        A fusable plan.
    layout : {'exact', 'pad'}, default='exact'
        ``'pad'`` groups networks that differ only in their widths (narrower members are
        padded with units held at zero); ``'exact'`` groups equal shapes only.

    Returns
    -------
    key : tuple
    """
    arch = plan.arch
    if layout == "pad":
        widths = {f: _depth_only(getattr(arch, f)) for f in WIDTH_FIELDS if hasattr(arch, f)}
        arch = dataclasses.replace(arch, **widths)
    return (arch, plan.train_spec.solver, plan.train_spec.loss, plan.cfg.batch_size)


def _depth_only(widths):
    return (0,) * len(widths) if isinstance(widths, tuple) else 0


def memory_budget():
    """Working memory of the groups training at once: a quarter of the RAM (on a GPU, 1 GiB).

    Returns
    -------
    budget : int
        Bytes.
    """
    if tf.config.list_logical_devices("GPU"):
        return 1 << 30
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = 8 << 30
    return ram // 4


def member_bytes(plan):
    """Estimated working memory of one member: weights, optimizer slots, activations."""
    item = np.dtype(plan.arch.dtype).itemsize
    n_weights = sum(int(np.prod(w.shape)) for w in plan.weights[0])
    widths = getattr(plan.arch, "hidden_layer_sizes", ()) or (1,)
    activations = plan.cfg.batch_size * (int(np.prod(plan.data.X.shape[1:])) + 4 * sum(widths))
    return item * (n_weights * (4 + SLOTS[plan.train_spec.solver]) + activations)


def packed(plans, indexes, budget):
    """Split a group's members into runs that each fit ``budget`` bytes."""
    per = max(max(member_bytes(plans[i]) for i in indexes), 1)
    size = max(1, budget // per)
    return [indexes[i : i + size] for i in range(0, len(indexes), size)]


def train_population(plans, budget=None, layout="exact", threads=None):
    """Train planned fits in groups of stacked networks; each reproduces its lone fit.

    Groups are packed so that the runs going on together fit ``budget``, and run side by
    side in threads.

    Parameters
    ----------
    plans : list of FitPlan
        Fusable plans (see :func:`fusable`); their ``progress`` is updated in place.
    budget : int, default=None
        Working memory of all groups training at once, in bytes (default:
        :func:`memory_budget`).
    layout : {'exact', 'pad'}, default='exact'
        How members of different widths are grouped (see :func:`group_key`).
    threads : int, default=None
        Groups trained at once (default: one more than the cores, which measured best).

    Returns
    -------
    results : list of MemberResult or None
        In the order of ``plans``; ``None`` for the members of a group whose training
        failed as a whole (out of memory, say): those are better trained alone.
    """
    budget = memory_budget() if budget is None else budget
    threads = threads or (os.cpu_count() or 1) + 1
    groups = {}
    for i, plan in enumerate(plans):
        groups.setdefault(group_key(plan, layout), []).append(i)
    runs = [run for indexes in groups.values() for run in packed(plans, indexes, budget // threads)]

    def train(run):
        try:
            return run, Group([plans[i] for i in run]).train()
        except (tf.errors.OpError, MemoryError):
            return run, [None] * len(run)

    # a group's step is many small operations, which one thread cannot keep the cores busy
    # with: groups run side by side (measured on 2 cores, 3 groups: 1.5x faster in threads)
    results = [None] * len(plans)
    with ThreadPoolExecutor(max(1, min(len(runs), threads))) as pool:
        for run, group_results in pool.map(train, runs):
            for i, result in zip(run, group_results, strict=True):
                results[i] = result
    return results


def _corner(j, shape):
    """Index of member ``j``'s own ``shape`` in a stacked, zero-padded array."""
    return (j, *(slice(0, n) for n in shape))


class _Member:
    """One planned fit's host-side state: its rows, shuffle and sklearn bookkeeping."""

    def __init__(self, plan, offset):
        self.plan, self.p, self.cfg = plan, plan.progress, plan.cfg
        data = plan.data
        rows = np.arange(data.n_train) if data.rows is None else data.rows
        self.rows = (rows + offset).astype(np.int32)
        self.val_rows = None if data.val_rows is None else (data.val_rows + offset).astype(np.int32)
        self.order = np.arange(data.n_train, dtype=np.int32)
        self.result = MemberResult()
        self.active = True
        self.last_rate = plan.progress.learning_rate

    def positions(self):
        """This epoch's rows in order (sklearn reshuffles the previous order)."""
        if self.cfg.shuffle:
            self.order = reshuffle(self.order, self.plan.rng)
        return self.rows[self.order]

    def stop(self, weights=None):
        self.active = False
        if weights is not None:
            self.result.weights = weights

    def warn(self, message):
        self.result.warnings.append((message, ConvergenceWarning))


class Group:
    """Members of one network shape and training signature, trained as one stacked network.

    Parameters
    ----------
    plans : list of FitPlan
        Fusable plans with equal :func:`group_key`.
    """

    def __init__(self, plans):
        first = plans[0]
        self.template = cache.get_template(first.arch)
        self.chain = dense_chain(self.template)
        spec = first.train_spec
        uses_l1 = any(p.cfg.l1 > 0 for p in plans)
        self.trainer = cache.get_stacked_trainer(
            self.chain, spec.loss, spec.solver, first.arch.dtype, uses_l1
        )
        self.np_dtype = np.dtype(first.arch.dtype)
        self.scale = report_scale(spec.loss, first.arch.n_outputs)
        sources, offsets = self._sources(plans)
        self.members = [_Member(p, offsets[i]) for i, p in enumerate(plans)]
        dt = self.trainer.dtype
        self.X, self.Y, self.sw = (
            tf.constant(np.concatenate([s[k] for s in sources]), dt) for k in range(3)
        )
        self.hyper = [
            tf.constant([getattr(p.cfg, k) for p in plans], dt)
            for k in ("alpha", "l1", "smoothing")
        ]
        self.constants = tf.constant([self._constants(p.train_spec) for p in plans], tf.float64)
        self.shapes = [[p.weights[0][v].shape for v in self.chain.variables] for p in plans]
        self.params = [tf.constant(a, dt) for a in self._stack([p.weights[0] for p in plans])]
        self.masks = [tf.constant(m, dt) for m in self._masks()]
        self.slots = [tf.zeros_like(p) for p in self.params for _ in range(SLOTS[spec.solver])]
        self.iterations = tf.zeros((len(plans),), tf.int64)
        self.fixed = (tf.constant(first.cfg.batch_size), tf.constant(self.scale, dt))

    @staticmethod
    def _sources(plans):
        """The distinct training arrays of the members, and each member's row offset.

        Members of one split share their arrays; arrays validated apart (a DataFrame
        becomes a new array in every fit) are matched by content, hashed once each.
        """
        sources, where, offsets, n, hashed = [], {}, [], 0, {}
        for p in plans:
            d = p.data
            if id(d.X) not in hashed:
                hashed[id(d.X)] = joblib.hash(d.X)
            key = (hashed[id(d.X)], joblib.hash((d.Y, d.sw)))
            if key not in where:
                where[key] = n
                sources.append((d.X, d.Y, d.sw))
                n += d.X.shape[0]
            offsets.append(where[key])
        return sources, offsets

    @staticmethod
    def _constants(spec):
        """A member's optimizer constants, with the values Keras computes with.

        Keras casts ``beta_1``, ``beta_2`` and ``momentum`` to the variable's dtype through
        a float32 tensor (``ops.cast`` of a Python float), while ``1 - beta`` and
        ``epsilon`` enter as Python floats: the same roundings here.
        """
        through_f32 = [float(np.float32(v)) for v in (spec.beta_1, spec.beta_2, spec.momentum)]
        b1, b2, momentum = through_f32
        if spec.solver == "adam":
            return [b1, b2, 1 - spec.beta_1, 1 - spec.beta_2, spec.epsilon]
        nesterov = bool(spec.nesterov and spec.momentum > 0)
        return [momentum, float(nesterov)]

    def _stack(self, weights):
        """Stack members' weights (template order) in chain order, zero-padded to the widest."""
        stacked = []
        for i, v in enumerate(self.chain.variables):
            shape = np.max([s[i] for s in self.shapes], axis=0)
            out = np.zeros((len(weights), *shape), self.np_dtype)
            for j, w in enumerate(weights):
                out[_corner(j, w[v].shape)] = w[v]
            stacked.append(out)
        return stacked

    def _masks(self):
        """0/1 masks of the inputs of the dense layers after the first (1 = a real unit)."""
        masks = []
        for i in self.chain.penalized[1:]:  # kernels of dense layers 1, 2, ...
            fan_in = [s[i][0] for s in self.shapes]
            mask = np.zeros((len(fan_in), max(fan_in)), self.np_dtype)
            for j, n in enumerate(fan_in):
                mask[j, :n] = 1
            masks.append(mask)
        return masks

    def _slice(self, tensors, j):
        """Member ``j``'s weights from stacked tensors, in the template's order."""
        trainable = [None] * len(self.chain.variables)
        for i, (t, v) in enumerate(zip(tensors, self.chain.variables, strict=True)):
            trainable[v] = t[_corner(j, self.shapes[j][i])].numpy()
        return trainable, []

    def _stacked_rows(self, rows_of):
        """``(positions, counts)`` of one row array per member, padded to the longest."""
        rows = [rows_of(m) for m in self.members]
        width = max(len(r) for r in rows)
        pos = np.zeros((len(rows), max(width, 1)), np.int32)
        for j, r in enumerate(rows):
            pos[j, : len(r)] = r
        return tf.constant(pos), tf.constant([len(r) for r in rows], tf.int32)

    def train(self):
        """Run epochs until every member has stopped; return the members' results."""
        start = time.perf_counter()
        empty = np.zeros(0, np.int32)
        snaps = [self.params, self.params]  # weights after the last two epochs
        val = None
        if any(m.val_rows is not None for m in self.members):
            val = self._stacked_rows(lambda m: empty if m.val_rows is None else m.val_rows)
        while any(m.active for m in self.members):
            pos, counts = self._stacked_rows(lambda m: m.positions() if m.active else empty)
            for m in self.members:
                m.last_rate = m.p.learning_rate if m.active else m.last_rate
            lr = tf.constant([m.last_rate for m in self.members], tf.float32)
            active = tf.constant([m.active for m in self.members])
            batch_size, scale = self.fixed
            losses, self.params, self.slots, self.iterations, finite = self.trainer.epoch(
                self.X, self.Y, self.sw, pos, counts, batch_size, lr, *self.hyper,
                self.constants, active, self.iterations, scale, self.masks, self.params,
                self.slots,
            )  # fmt: skip
            scores = self._validate(val) if val is not None else None
            losses, finite = losses.numpy(), finite.numpy()
            improved = [
                j
                for j, m in enumerate(self.members)
                if m.active and self._bookkeep(j, float(losses[j]), finite[j], scores, snaps)
            ]
            for j in improved:
                self.members[j].p.best_weights = self._slice(self.params, j)
            snaps = [snaps[1], self.params]
        return self._results(time.perf_counter() - start)

    def _validate(self, val):
        """Every member's validation outputs and loss parts, on the host."""
        pos, counts = val
        out = self.trainer.evaluate(
            self.X, self.Y, self.sw, pos, counts, *self.hyper, self.masks, self.params
        )
        return [t.numpy() for t in out], counts.numpy()

    def _bookkeep(self, j, loss, finite, scores, snaps):
        """sklearn's loop after member ``j``'s epoch; return whether its score improved."""
        m = self.members[j]
        p, cfg = m.p, m.cfg
        m.result.n_iter += 1
        n_iter = m.result.n_iter
        if not (np.isfinite(loss) and finite):
            self._diverged(j, loss, snaps)
            return False
        p.t += len(m.rows)
        p.loss_curve.append(loss)
        logs = {"loss": loss, "learning_rate": p.learning_rate}
        improved = False
        if p.early_stopping:
            score = self._score(j, scores, logs)
            p.validation_scores.append(score)
            improved = count_no_improvement(p, cfg.tol, score)
        else:
            count_no_improvement(p, cfg.tol)
        p.history.append(logs.copy())
        p.learning_rate = rate_after_epoch(cfg, p, n_iter)
        stop = False
        if p.no_improvement_count > cfg.n_iter_no_change:
            stop, _ = on_plateau(cfg, p)
        if not stop and n_iter == cfg.max_iter:
            m.warn(max_iter_message(cfg.max_iter))
            stop = True
        if stop:  # its weights now: a stopped member's are not kept exact in the group
            m.stop(self._slice(self.params, j))
        return improved

    def _score(self, j, scores, logs):
        """Member ``j``'s validation score and loss, as ``Loop.validate`` computes them."""
        (loss_sum, sw_sum, penalty, outputs), counts = scores
        score, val_loss = validation_result(
            self.members[j].plan.score_fn,
            outputs[j, : counts[j]],
            loss_sum[j],
            float(sw_sum[j]),
            penalty[j],
            self.scale,
        )
        logs.update(val_loss=val_loss, val_score=score)
        return score

    def _diverged(self, j, loss, snaps):
        """A non-finite epoch: the lone fit's error on the first, else keep the last good."""
        m = self.members[j]
        if m.result.n_iter == 1:
            m.result.error = ValueError(NON_FINITE_MESSAGE)
            m.stop()
            return
        keep = snaps[1] if np.isfinite(loss) else snaps[0]
        m.warn(diverged_message(m.result.n_iter, loss))
        m.stop(self._slice(keep, j))

    def _results(self, seconds):
        share = seconds / len(self.members)
        slots = [s.numpy() for s in self.slots]
        iterations = self.iterations.numpy()
        results = []
        for j, m in enumerate(self.members):
            r = m.result
            r.seconds = share
            if r.error is None:  # as Loop.run ends: the best weights under early stopping
                best = m.p.best_weights if m.p.early_stopping else None
                if best is not None:
                    r.weights = best
                elif r.weights is None:
                    r.weights = self._slice(self.params, j)
                # as loop.train ends: the optimizer's state, for a later partial_fit
                m.p.optimizer_state = self._optimizer_state(j, slots, iterations[j])
                m.p.optimizer_spec = m.plan.train_spec
            results.append(r)
        return results

    def _optimizer_state(self, j, slots, iterations):
        """Member ``j``'s optimizer variables, in the order of its lone trainer's optimizer."""
        m = self.members[j]
        names = slot_names(m.plan.train_spec)
        k = SLOTS[m.plan.train_spec.solver]
        position = {v: i for i, v in enumerate(self.chain.variables)}
        state = [np.array(iterations, np.int64), np.array(m.last_rate, np.float32)]
        for v in range(len(self.chain.variables)):  # template order
            i = position[v]
            for s in range(len(names)):
                state.append(slots[k * i + s][_corner(j, self.shapes[j][i])])
        return state
