"""Train many planned fits together: scikit-learn's loop per member around stacked networks.

A fused search plans every (candidate, fold) fit as its estimator would (``FitPlan``: the
initial weights, the validation split and the shuffling all come from the fit's own random
stream), then hands the plans here. Plans of one network shape and training signature form
a *group*, trained as one stacked network (``stacked``) one compiled epoch at a time, with
every member's bookkeeping on the host by a ``loop.MemberLoop``, as a lone fit's: its own
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

from .._tensorflow import tf
from . import cache, lone
from .data import IN_GRAPH_BYTES
from .loop import MemberLoop, Snapshot, warn_now
from .losses import report_scale
from .rules import RULES, constants_row, initial_arrays, keras_state
from .stacked import dense_chain


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

    Networks the stacked trainer computes (``stacked.dense_chain``: dense layers, batch
    normalization, activations, dropout) trained by any stochastic solver, from dense
    arrays small enough to live in the graph; not ``partial_fit`` calls, Keras
    callbacks, verbose output, distribution or mixed precision. Anything else trains alone.

    Parameters
    ----------
    plan : FitPlan
        The planned fit.

    Returns
    -------
    fusable : bool
    """
    cfg = plan.cfg
    if cfg.incremental or cfg.verbose or cfg.progress_bar:
        return False
    return stackable(plan)


def stackable(plan):
    """Whether the stacked backend can train a planned fit (alone or with others).

    A network ``stacked.dense_chain`` accepts, any stochastic solver, dense arrays small
    enough to live in the graph; no Keras callbacks (they need a Keras model) and no
    distribution strategy.

    Parameters
    ----------
    plan : FitPlan
        The planned fit.

    Returns
    -------
    stackable : bool
    """
    data = plan.data
    if plan.train_spec.solver not in RULES or plan.callbacks or plan.distribution is not None:
        return False
    arrays = [data.X] if data.X_val is None else [data.X, data.X_val]
    if not all(type(a) is np.ndarray for a in arrays):
        return False
    if sum(a.nbytes for a in arrays) > IN_GRAPH_BYTES:
        return False
    return dense_chain(cache.get_template(plan.arch)) is not None


def group_key(plan):
    """Plans with equal keys train as one stacked network.

    The same layers, widths, solver, loss and batch size; dropout rates may differ (each
    member has its own, all above zero: a network without dropout has no dropout layers).

    Parameters
    ----------
    plan : FitPlan
        A fusable plan.

    Returns
    -------
    key : tuple
    """
    arch = plan.arch
    if getattr(arch, "dropout", 0) > 0:
        arch = dataclasses.replace(arch, dropout=0.5)  # any rate: the layers are the same
    return (arch, plan.train_spec.solver, plan.train_spec.loss, plan.cfg.batch_size)


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
    n_slots = len(RULES[plan.train_spec.solver].slots)
    return item * (n_weights * (4 + n_slots) + activations)


def packed(plans, indexes, budget):
    """Split a group's members into runs that each fit ``budget`` bytes."""
    per = max(max(member_bytes(plans[i]) for i in indexes), 1)
    size = max(1, budget // per)
    return [indexes[i : i + size] for i in range(0, len(indexes), size)]


#: Most members of one run, by the device of the process that partitions: larger groups
#: train as several runs of near-equal size, so that runs spread over a parallel backend's
#: workers (2 workers cannot share 3 whole groups evenly). On a CPU a run of 12 costs about
#: 6% more per member than one of 24 (measured on digits, 3 groups of 24); a GPU gains
#: from the largest runs.
RUN_MEMBERS = {"CPU": 12, "GPU": 256}


def runs_at_once():
    """How many runs train side by side by default: one more than the cores (measured best)."""
    return (os.cpu_count() or 1) + 1


def partition(plans, budget=None):
    """The runs a population trains as: stacked networks of one group, in plan order.

    Decided from the plans, this machine's memory and its device alone, never from how
    many threads or workers will train them: a member's bits depend on the run it is in
    (rounding in the stacked operations), so the same search gives the same results
    sequentially, in threads and on a cluster.

    Parameters
    ----------
    plans : list of FitPlan
        Fusable plans.
    budget : int, default=None
        Working memory of the runs training at once (default: :func:`memory_budget`),
        shared by :func:`runs_at_once` runs.

    Returns
    -------
    runs : list of list of int
        Indexes into ``plans``; every plan is in one run.
    """
    budget = memory_budget() if budget is None else budget
    device = "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
    cap = RUN_MEMBERS[device]
    groups = {}
    for i, plan in enumerate(plans):
        groups.setdefault(group_key(plan), []).append(i)
    runs = []
    for indexes in groups.values():
        for run in packed(plans, indexes, budget // runs_at_once()):
            pieces = -(-len(run) // cap)
            runs.extend(list(part) for part in np.array_split(run, pieces))
    return [[int(i) for i in run] for run in runs]


def train_population(plans, budget=None, threads=None, hooks=None):
    """Train planned fits in groups of stacked networks; each reproduces its lone fit.

    The plans are cut into runs (:func:`partition`), which train side by side in threads.

    Parameters
    ----------
    plans : list of FitPlan
        Fusable plans (see :func:`fusable`); their ``progress`` is updated in place.
    budget : int, default=None
        Working memory of the runs training at once, in bytes (default:
        :func:`memory_budget`).
    threads : int, default=None
        Runs trained at once (default: :func:`runs_at_once`).
    hooks : EpochHooks, default=None
        Told of every member's epochs, from every run's thread (a pack's owner: the
        tabular estimators' time budget and callbacks).

    Returns
    -------
    results : list of MemberResult or None
        In the order of ``plans``; ``None`` for the members of a run whose training
        failed as a whole (out of memory, say): those are better trained alone.
    """
    return train_runs(plans, partition(plans, budget), threads, hooks)


def train_runs(plans, runs, threads=None, hooks=None):
    """Train ``runs`` of ``plans`` side by side in ``threads`` threads.

    Parameters
    ----------
    plans : list of FitPlan
        Fusable plans.
    runs : list of list of int
        Indexes into ``plans`` of each run (:func:`partition`).
    threads : int, default=None
        Runs trained at once (default: :func:`runs_at_once`).
    hooks : EpochHooks, default=None
        As in :func:`train_population`.

    Returns
    -------
    results : list of MemberResult or None
        As in :func:`train_population`; ``None`` also for plans in no run.
    """
    threads = threads or runs_at_once()

    def train(run):
        try:
            return run, Group([plans[i] for i in run], hooks=hooks).train()
        except (tf.errors.OpError, MemoryError):
            return run, [None] * len(run)

    # a run's step is many small operations, which one thread cannot keep the cores busy
    # with: runs go side by side (measured on 2 cores, 3 groups: 1.5x faster in threads)
    results = [None] * len(plans)
    with ThreadPoolExecutor(max(1, min(len(runs), threads))) as pool:
        for run, run_results in pool.map(train, runs):
            for i, result in zip(run, run_results, strict=True):
                results[i] = result
    return results


class _Fit:
    """One planned fit in a group: its rows, its :class:`~loop.MemberLoop` and its result."""

    def __init__(self, plan, offsets, start, hooks=None, warn=None):
        self.plan = plan
        data = plan.data
        offset, val_offset = offsets
        rows = np.arange(data.n_train) if data.rows is None else data.rows
        self.rows = (rows + offset).astype(np.int32)
        self.val_rows = None
        if data.val_rows is not None:  # a split of X
            self.val_rows = (data.val_rows + offset).astype(np.int32)
        elif val_offset is not None:  # a fixed validation set of its own
            self.val_rows = np.arange(val_offset, val_offset + data.X_val.shape[0], dtype=np.int32)
        self.result = MemberResult()
        if warn is None:  # a search's member: its warnings go with its result

            def warn(message, category):
                self.result.warnings.append((message, category))

        self.loop = MemberLoop(
            plan.cfg, plan.progress, plan.resume, plan.score_fn, plan.rng, data.n_train, start,
            hooks, warn,
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
    hooks : EpochHooks, default=None
        Told of every member's epochs (a lone fit's scikit-learn callbacks, a pack's owner).
    warn : callable, default=None
        ``warn(message, category)`` for every member (default: kept in its result).
    uses_l1 : bool, default=None
        Compile the L1 terms in (default: when a member has an L1 penalty).
    """

    def __init__(self, plans, hooks=None, warn=None, uses_l1=None):
        first = plans[0]
        self.template = cache.get_template(first.arch)
        self.chain = dense_chain(self.template)
        self.solver = spec = first.train_spec.solver
        if uses_l1 is None:  # the L1 terms only where a member has them
            uses_l1 = any(p.cfg.l1 > 0 for p in plans)
        self.trainer = cache.get_stacked_trainer(
            self.chain, first.train_spec.loss, spec, first.arch.dtype, uses_l1
        )
        self.scale = report_scale(first.train_spec.loss, first.arch.n_outputs)
        sources, offsets = self._sources(plans)
        dt = self.trainer.dtype
        self.X, self.Y, self.sw = (
            tf.constant(np.concatenate([s[k] for s in sources]), dt) for k in range(3)
        )
        self.hyper = [
            tf.constant([getattr(p.cfg, k) for p in plans], dt)
            for k in ("alpha", "l1", "smoothing")
        ] + [tf.constant([float(getattr(p.arch, "dropout", 0.0)) for p in plans], tf.float64)]
        self.constants = tf.constant([constants_row(p.train_spec) for p in plans], tf.float64)
        self.params = self._stack([p.weights[0] for p in plans], self.chain.variables)
        self.buffers = self._stack([p.weights[1] for p in plans], self.chain.buffers)
        self.k = len(RULES[spec].slots)
        # stacked from NumPy: eager TensorFlow ops cost a lone fit's set-up milliseconds
        fresh = [self._fresh_state(p) for p in plans]
        self.state = [tf.constant(np.stack(arrays)) for arrays in zip(*fresh, strict=True)]
        self.iterations = tf.zeros((len(plans),), tf.int64)
        self.members = [
            _Fit(p, offsets[j], self._start_snapshot(p, fresh[j]), hooks, warn)
            for j, p in enumerate(plans)
        ]
        self.fixed = (tf.constant(first.cfg.batch_size), tf.constant(self.scale, dt))

    @staticmethod
    def _sources(plans):
        """The distinct arrays of the members, and each member's row offsets.

        Members of one split share their arrays; arrays validated apart (a DataFrame
        becomes a new array in every fit) are matched by content, hashed once each. A fixed
        validation set (``X_val``) is an array of its own, after the training arrays.

        Returns
        -------
        sources : list of (X, Y, sw)
        offsets : list of (int, int or None)
            Per plan: where its training arrays start, and its ``X_val`` (``None`` without).
        """
        sources, where, hashed = [], {}, {}

        def place(X, Y, sw):
            if len(plans) == 1:  # nothing to share: no hashing (a lone fit's set-up)
                key = (id(X), id(Y), id(sw))
            else:
                if id(X) not in hashed:
                    hashed[id(X)] = joblib.hash(X)
                key = (hashed[id(X)], joblib.hash((Y, sw)))
            if key not in where:
                where[key] = sum(s[0].shape[0] for s in sources)
                sources.append((X, Y, sw))
            return where[key]

        offsets = []
        for p in plans:
            d = p.data
            offsets.append((place(d.X, d.Y, d.sw), None))
        for i, p in enumerate(plans):
            d = p.data
            if d.X_val is not None and d.val_rows is None:  # X_val given to fit
                offsets[i] = (offsets[i][0], place(d.X_val, d.Y_val, d.sw_val))
        return sources, offsets

    @staticmethod
    def _stack(weights, order):
        """Members' weights (template order) stacked in chain ``order``, as tensors."""
        return [tf.constant(np.stack([w[v] for w in weights])) for v in order]

    def _slice(self, params, buffers, j):
        """Member ``j``'s ``(trainable, non_trainable)`` weights, in the template's order."""
        out = []
        for tensors, order in ((params, self.chain.variables), (buffers, self.chain.buffers)):
            part = [None] * len(order)
            for t, v in zip(tensors, order, strict=True):
                part[v] = t.numpy()[j].copy()  # one host copy, not an eager slice op
            out.append(part)
        return tuple(out)

    def _stacked_rows(self, rows_of):
        """``(positions, counts)`` of one row array per member, padded to the longest."""
        rows = [rows_of(m) for m in self.members]
        width = max(len(r) for r in rows)
        pos = np.zeros((len(rows), max(width, 1)), np.int32)
        for j, r in enumerate(rows):
            # padding repeats one of the member's own rows: its outputs on another
            # member's rows (which could overflow) never enter even a masked gradient
            pos[j, :] = r[0] if len(r) else self.members[j].rows[0]
            pos[j, : len(r)] = r
        return tf.constant(pos), tf.constant([len(r) for r in rows], tf.int32)

    def _fresh_state(self, plan):
        """A member's fresh optimizer state (chain order, then extras), as NumPy arrays."""
        shapes = [np.shape(plan.weights[0][v]) for v in self.chain.variables]
        return initial_arrays(self.solver, shapes, plan.arch.dtype)

    def _start_snapshot(self, plan, fresh):
        """What a member starts from: its weights and its ``fresh`` optimizer state."""
        with np.errstate(over="ignore"):
            rate = np.float32(plan.progress.learning_rate)
        return Snapshot.of(plan.weights, self._keras_state(plan, 0, fresh, rate))

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
            out = self.trainer.epoch(
                self.X, self.Y, self.sw, pos, counts, batch_size, lr, *self.hyper,
                self.constants, active, self.iterations, scale, self.params, self.state,
                self.buffers,
            )  # fmt: skip
            losses, self.params, self.state, self.buffers, self.iterations, finite = out
            scores = self._validate(val) if val is not None else None
            ended = (self.params, self.buffers, self.state, self.iterations)
            losses, finite = losses.numpy(), finite.numpy()
            for j, m in enumerate(self.members):
                if m.active:
                    self._end_epoch(j, float(losses[j]), bool(finite[j]), ended, scores)
        return self._results(time.perf_counter() - start)

    def _end_epoch(self, j, loss, finite, ended, scores):
        """Member ``j``'s loop after the epoch; its result once it stops."""
        m = self.members[j]
        params, buffers, state, iterations = ended
        rate = m.rate  # the rate this epoch ran with (Keras' variable holds it)
        snapshot = Snapshot(
            lambda: self._slice(params, buffers, j),
            lambda: self._member_state(j, state, iterations, rate),
        )
        validation = None
        if m.val_rows is not None:
            validation = lambda: self._member_scores(j, scores)  # noqa: E731
        try:
            stop = m.loop.end_epoch(loss, finite, snapshot, validation)
        except Exception as error:  # what the lone fit raises (a first epoch not finite)
            m.result.error = error
            m.loop.report.close()
            return
        if stop:  # read now: the group's tensors move on
            m.result.weights = m.loop.finish(m.plan.train_spec)

    def _validate(self, val):
        """Every member's validation outputs and loss parts, on the host."""
        pos, counts = val
        out = self.trainer.evaluate(
            self.X, self.Y, self.sw, pos, counts, *self.hyper, self.params, self.buffers
        )
        return [t.numpy() for t in out], counts.numpy()

    def _member_scores(self, j, scores):
        """Member ``j``'s validation outputs and loss parts (see ``MemberLoop.end_epoch``)."""
        (loss_sum, sw_sum, penalty, outputs), counts = scores
        return outputs[j, : counts[j]], loss_sum[j], float(sw_sum[j]), penalty[j], self.scale

    def interrupted(self):
        """Ctrl-C: the members still training end with their last completed epoch."""
        for m in self.members:
            # also a member stopped but not yet read (Ctrl-C between the two)
            unread = m.result.weights is None and m.result.error is None
            if m.active or unread:
                m.loop.interrupted()
                m.result.weights = m.loop.finish(m.plan.train_spec)
        return self._results(0.0)

    def _results(self, seconds):
        share = seconds / len(self.members)
        for m in self.members:
            m.result.seconds = share
            m.result.n_iter = m.loop.n_iter
        return [m.result for m in self.members]

    def _member_state(self, j, state, iterations, rate):
        """Member ``j``'s optimizer state from the group's stacked state."""
        own = [t.numpy()[j].copy() for t in state]
        return self._keras_state(self.members[j].plan, int(iterations[j]), own, rate)

    def _keras_state(self, plan, iterations, own, rate):
        """A member's state (its slots in chain order, then extras) in Keras' layout."""
        k, n = self.k, len(self.chain.variables)
        per_variable = [None] * n
        for i, v in enumerate(self.chain.variables):  # to template order
            per_variable[v] = own[k * i : k * (i + 1)]
        return keras_state(plan.train_spec, iterations, rate, per_variable, own[k * n :])


#: Most batch steps (``max_iter`` epochs) of a lone fit on the stacked backend: there it
#: needs no trace of its own (measured +0.3 s per new width on the template path), but each
#: step costs a little more (measured 0.1-0.4 ms on a 784-50-10 network), so longer fits
#: pay the template's trace and take its faster steps.
STACKED_STEPS = 2000


def lone_on_stack(plan):
    """Whether a lone fit trains on the stacked backend rather than its Keras template.

    Decided from the plan alone, never from what the process has cached: the same fit
    call always takes the same path, and so gives the same bits, in any process.

    Parameters
    ----------
    plan : FitPlan
        A lone fit's plan (not ``partial_fit``).

    Returns
    -------
    stacked : bool
        A :func:`stackable` fit whose ``max_iter`` epochs make at most
        :data:`STACKED_STEPS` batch steps.
    """
    if not stackable(plan):
        return False
    batches = -(-plan.data.n_train // plan.cfg.batch_size)
    return plan.cfg.max_iter * batches <= STACKED_STEPS


def train_alone(plan, hooks=None):
    """Train one planned fit on the stacked backend, as a lone fit trains.

    The fit's warnings are warned as they come, its error raised, and Ctrl-C keeps the
    last completed epoch. One trace of the stacked trainer serves every width of a depth,
    so a lone fit of a new width traces nothing.

    Parameters
    ----------
    plan : FitPlan
        A fit :func:`stackable` accepts, not a ``partial_fit`` call.
    hooks : EpochHooks, default=None
        Told of every epoch (scikit-learn's callbacks); may ask to stop.

    Returns
    -------
    weights : tuple of (list of ndarray, list of ndarray)
        The trained (or best, under early stopping) weights.
    n_iter : int
        Epochs run.
    """
    # L1 terms always in: lone fits with and without l1 share one trace
    group = Group([plan], hooks=hooks, warn=warn_now, uses_l1=True)
    try:
        (result,) = group.train()
    except KeyboardInterrupt:
        # keep the last completed epoch; a second Ctrl-C during this wrap-up propagates
        (result,) = group.interrupted()
    finally:
        group.members[0].loop.report.close()  # a progress bar ends whatever happens
    if result.error is not None:
        raise result.error
    return result.weights, result.n_iter


def train_one(plan, hooks=None):
    """Train one planned fit on whichever backend takes it; its first-epoch error is kept.

    The stacked backend when :func:`stackable` (see :func:`train_alone`), else the fit's
    Keras template (arrays too large for the graph, say), as a lone fit trains.

    Parameters
    ----------
    plan : FitPlan
        A planned fit with a stochastic solver, not a ``partial_fit`` call.
    hooks : EpochHooks, default=None
        Told of every epoch; may ask to stop.

    Returns
    -------
    result : MemberResult
        Its weights and epochs, or the error the fit raised (its warnings are warned).
    """
    try:
        if stackable(plan):
            weights, n_iter = train_alone(plan, hooks)
        else:
            with cache.trainer_for_fit(plan.arch, plan.train_spec, plan.distribution) as trainer:
                weights, n_iter = lone.train(
                    trainer, plan.weights, plan.data, plan.cfg, plan.progress, plan.resume,
                    plan.score_fn, plan.callbacks, plan.rng, hooks,
                )  # fmt: skip
    except ValueError as exc:  # the first epoch was not finite
        return MemberResult(error=exc)
    return MemberResult(weights=weights, n_iter=n_iter)
