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

from .._tensorflow import tf
from . import cache
from .data import IN_GRAPH_BYTES
from .loop import MemberLoop, Snapshot
from .losses import report_scale
from .optimizers import slot_names
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


class _Fit:
    """One planned fit in a group: its rows, its :class:`~loop.MemberLoop` and its result."""

    def __init__(self, plan, offset, start):
        self.plan, self.p = plan, plan.progress
        data = plan.data
        rows = np.arange(data.n_train) if data.rows is None else data.rows
        self.rows = (rows + offset).astype(np.int32)
        self.val_rows = None if data.val_rows is None else (data.val_rows + offset).astype(np.int32)
        self.result = MemberResult()
        self.loop = MemberLoop(
            plan.cfg, plan.progress, plan.score_fn, plan.rng, data.n_train, start,
            warn=lambda message, category: self.result.warnings.append((message, category)),
        )  # fmt: skip
        self.rate = np.float32(plan.progress.learning_rate)

    @property
    def active(self):
        """Whether the fit still trains."""
        return self.loop.active and self.result.error is None

    def positions(self):
        """This epoch's rows in order (sklearn reshuffles the previous order)."""
        return self.rows[self.loop.epoch_order()]


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
        self.k = SLOTS[spec.solver]
        self.slots = [tf.zeros_like(p) for p in self.params for _ in range(self.k)]
        self.iterations = tf.zeros((len(plans),), tf.int64)
        self.members = [
            _Fit(p, offsets[j], self._start_snapshot(j, p)) for j, p in enumerate(plans)
        ]
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

    def _start_snapshot(self, j, plan):
        """What member ``j`` starts from: its weights and a fresh optimizer state."""
        slots = [np.zeros(shape, self.np_dtype) for shape in self.shapes[j] for _ in range(self.k)]
        with np.errstate(over="ignore"):
            rate = np.float32(plan.progress.learning_rate)
        return Snapshot.of(plan.weights, self._layout(plan, 0, slots, rate))

    def train(self):
        """Run epochs until every member has stopped; return the members' results."""
        start = time.perf_counter()
        empty = np.zeros(0, np.int32)
        val = None
        if any(m.val_rows is not None for m in self.members):
            val = self._stacked_rows(lambda m: empty if m.val_rows is None else m.val_rows)
        while any(m.active for m in self.members):
            pos, counts = self._stacked_rows(lambda m: m.positions() if m.active else empty)
            for m in self.members:
                m.rate = m.loop.rate() if m.active else m.rate
            lr = tf.constant([m.rate for m in self.members], tf.float32)
            active = tf.constant([m.active for m in self.members])
            batch_size, scale = self.fixed
            losses, self.params, self.slots, self.iterations, finite = self.trainer.epoch(
                self.X, self.Y, self.sw, pos, counts, batch_size, lr, *self.hyper,
                self.constants, active, self.iterations, scale, self.masks, self.params,
                self.slots,
            )  # fmt: skip
            scores = self._validate(val) if val is not None else None
            ended = (self.params, self.slots, self.iterations)
            losses, finite = losses.numpy(), finite.numpy()
            for j, m in enumerate(self.members):
                if m.active:
                    self._end_epoch(j, float(losses[j]), bool(finite[j]), ended, scores)
        return self._results(time.perf_counter() - start)

    def _end_epoch(self, j, loss, finite, ended, scores):
        """Member ``j``'s loop after the epoch; its result once it stops."""
        m = self.members[j]
        params, slots, iterations = ended
        rate = m.rate  # the rate this epoch ran with (Keras' variable holds it)
        snapshot = Snapshot(
            lambda: self._slice(params, j),
            lambda: self._member_state(j, slots, iterations, rate),
        )
        validation = None
        if m.val_rows is not None:
            validation = lambda: self._member_scores(j, scores)  # noqa: E731
        try:
            stop = m.loop.end_epoch(loss, finite, snapshot, validation)
        except Exception as error:  # what the lone fit raises (a first epoch not finite)
            m.result.error = error
            return
        if stop:  # read now: the group's tensors move on
            m.result.weights, m.p.optimizer_state = m.loop.finish()
            m.p.optimizer_spec = m.plan.train_spec

    def _validate(self, val):
        """Every member's validation outputs and loss parts, on the host."""
        pos, counts = val
        out = self.trainer.evaluate(
            self.X, self.Y, self.sw, pos, counts, *self.hyper, self.masks, self.params
        )
        return [t.numpy() for t in out], counts.numpy()

    def _member_scores(self, j, scores):
        """Member ``j``'s validation outputs and loss parts (see ``MemberLoop.end_epoch``)."""
        (loss_sum, sw_sum, penalty, outputs), counts = scores
        return outputs[j, : counts[j]], loss_sum[j], float(sw_sum[j]), penalty[j], self.scale

    def _results(self, seconds):
        share = seconds / len(self.members)
        for m in self.members:
            m.result.seconds = share
            m.result.n_iter = m.loop.n_iter
        return [m.result for m in self.members]

    def _member_state(self, j, slots, iterations, rate):
        """Member ``j``'s optimizer state from the group's stacked slots."""
        shapes = self.shapes[j]
        own = [slots[i][_corner(j, shapes[i // self.k])].numpy() for i in range(len(slots))]
        return self._layout(self.members[j].plan, int(iterations[j]), own, rate)

    def _layout(self, plan, iterations, slots, rate):
        """A member's optimizer variables in the order of its lone trainer's optimizer.

        ``slots`` are the member's own, ``k`` per variable in chain order.
        """
        names = slot_names(plan.train_spec)
        position = {v: i for i, v in enumerate(self.chain.variables)}
        state = [np.array(iterations, np.int64), np.array(rate, np.float32)]
        for v in range(len(self.chain.variables)):  # template order
            for s in range(len(names)):
                state.append(slots[self.k * position[v] + s])
        return state
