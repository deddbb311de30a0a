"""A population's runs as tasks of the user's joblib backend: processes, Dask, Ray.

A fused search cuts its plans into runs (``population.partition``: decided by the plans
alone, so a member's bits do not depend on where it trains), bundles the runs into one task
per worker with about equal work, and hands the tasks to the joblib backend the user chose
(``joblib.parallel_config``). Each task trains its runs side by side in the worker
(:func:`train_bundle`) and sends back small things: weights, curves, optimizer state.

Data travels once. The plans' arrays are taken out of them (:func:`detach`) and passed as
top-level arguments of the tasks, which joblib's Dask backend scatters to the cluster once
per search, and which its loky backend memory-maps; on Ray they are put in the object store
once and fetched by reference in the worker.

No TensorFlow here: a worker must pick its GPU before TensorFlow starts in it.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import socket
import time

import joblib
import numpy as np
from joblib import Parallel, delayed, effective_n_jobs, parallel_config
from joblib.parallel import ParallelBackendBase, SequentialBackend, get_active_backend

from .._config import worker_share

#: The arrays of a plan's ``data`` that travel apart from it.
ARRAY_FIELDS = ("X", "Y", "sw", "X_val", "Y_val", "sw_val")


@dataclasses.dataclass(frozen=True)
class _Ref:
    """Where a detached array is among a task's arrays."""

    index: int


@dataclasses.dataclass
class Chosen:
    """The joblib backend the user chose, to run a population's tasks on.

    Parameters
    ----------
    backend : joblib.parallel.ParallelBackendBase
        The backend instance of the user's ``parallel_config``.
    n_jobs : int or None
        The ``n_jobs`` in force with it.
    """

    backend: ParallelBackendBase
    n_jobs: int | None

    @property
    def name(self):
        """The backend's class name (for messages and ``fused_groups_``)."""
        return type(self.backend).__name__


def chosen_backend():
    """The process-based backend the user set with joblib's ``parallel_config``, if any.

    Threads and the sequential backend train in this process (``None``); so does joblib's
    default backend when the user set none, as before backends were honoured.

    Returns
    -------
    chosen : Chosen or None
    """
    # joblib keeps the active configuration per thread; a backend the user set is an
    # instance there, an unset one a sentinel (joblib has no public test for "set")
    config = getattr(joblib.parallel._backend, "config", None) or {}
    backend = config.get("backend")
    if not isinstance(backend, ParallelBackendBase):
        return None
    if isinstance(backend, SequentialBackend) or getattr(backend, "uses_threads", False):
        return None
    return Chosen(*get_active_backend())


def detach(plans):
    """The plans without their arrays, and the distinct arrays they held.

    Arrays equal in content are sent once: a split's members share ``X`` by identity and
    their encoded targets by content.

    Parameters
    ----------
    plans : list of FitPlan

    Returns
    -------
    lean : list of FitPlan
        Copies whose array fields hold ``_Ref`` indexes into ``arrays``.
    arrays : list of ndarray
    """
    arrays, where, hashes = [], {}, {}

    def ref(array):
        if array is None:
            return None
        if id(array) not in hashes:
            hashes[id(array)] = joblib.hash(array)
        key = hashes[id(array)]
        if key not in where:
            where[key] = _Ref(len(arrays))
            arrays.append(array)
        return where[key]

    lean = []
    for plan in plans:
        fields = {name: ref(getattr(plan.data, name)) for name in ARRAY_FIELDS}
        data = dataclasses.replace(plan.data, **fields)
        # the bookkeeping a worker updates: copies, so that a task run in this process
        # (joblib's n_jobs=1) leaves the plans as they were if the backend then fails
        own = {k: copy.deepcopy(getattr(plan, k)) for k in ("progress", "resume", "rng")}
        lean.append(dataclasses.replace(plan, data=data, **own))
    return lean, arrays


def attach(lean, arrays):
    """The plans with their arrays back (Ray's object references fetched)."""
    arrays = list(arrays)
    for i, array in enumerate(arrays):
        if type(array).__name__ == "ObjectRef":  # put in Ray's object store by the caller
            # only a Ray worker gets object references, so Ray is installed
            import ray

            arrays[i] = ray.get(array)
    plans = []
    for plan in lean:
        fields = {}
        for name in ARRAY_FIELDS:
            value = getattr(plan.data, name)
            fields[name] = arrays[value.index] if isinstance(value, _Ref) else value
        plans.append(dataclasses.replace(plan, data=dataclasses.replace(plan.data, **fields)))
    return plans


def run_cost(plans, run):
    """Estimated work of a run: its members' epochs of their rows through their weights."""
    longest = max(plans[i].cfg.max_iter for i in run)
    per_epoch = sum(
        plans[i].data.n_train * sum(int(np.prod(np.shape(w))) for w in plans[i].weights[0])
        for i in run
    )
    return longest * per_epoch


def bundles(plans, runs, n_workers):
    """Runs dealt into at most ``n_workers`` bundles of about equal work (longest first)."""
    n = max(1, min(n_workers, len(runs)))
    loads, out = [0] * n, [[] for _ in range(n)]
    for run in sorted(runs, key=lambda r: -run_cost(plans, r)):
        k = int(np.argmin(loads))
        out[k].append(run)
        loads[k] += run_cost(plans, run)
    return [b for b in out if b]


def where():
    """This process: host name and process id."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def train_bundle(lean, runs, *arrays):
    """In a worker: train ``runs`` of the plans ``lean`` side by side; what to send back.

    Parameters
    ----------
    lean : list of FitPlan
        Detached plans (:func:`detach`).
    runs : list of list of int
        Indexes into ``lean``.
    *arrays : ndarray or ray.ObjectRef
        The arrays the plans refer to.

    Returns
    -------
    outcome : list of tuple
        Per plan: ``(MemberResult or None, progress, resume, rng)``.
    place : dict
        Where the bundle trained (``host``, ``pid``) and its wall seconds.
    """
    start = time.perf_counter()
    plans = attach(lean, arrays)
    # imports TensorFlow: after attach, so that nothing starts it before the worker's
    # settings (its share of the cores, its GPU) are applied by the engine's first import
    from . import population

    budget = population.memory_budget()
    largest = max(sum(population.member_bytes(plans[i]) for i in run) for run in runs)
    threads = max(1, min(worker_share() + 1, budget // max(largest, 1)))
    results = population.train_runs(plans, runs, threads)
    outcome = [(r, p.progress, p.resume, p.rng) for r, p in zip(results, plans, strict=True)]
    return outcome, {**where(), "seconds": time.perf_counter() - start}


def train_on(chosen, plans, runs, calls=(), n_jobs=None):
    """Train ``runs`` of ``plans`` as tasks of the ``chosen`` backend; update the plans.

    Parameters
    ----------
    chosen : Chosen
        The user's backend.
    plans : list of FitPlan
        The search's fusable plans; each one's ``progress``, ``resume`` and ``rng`` are
        replaced by the ones the worker ended with, as if it had trained here.
    runs : list of list of int
        :func:`population.partition` of ``plans``.
    calls : list of joblib.delayed, default=()
        Other tasks to run in the same go (a search's fits that train alone).
    n_jobs : int, default=None
        Workers to use (a search's own ``n_jobs``); ``None``: the backend's setting.

    Returns
    -------
    results : list of MemberResult or None
        In the order of ``plans``.
    places : list of dict
        Per run: its members (indexes into ``plans``), the worker's ``host`` and ``pid``,
        and the bundle's wall seconds.
    outputs : list
        What ``calls`` returned, in order.
    """
    lean, arrays = detach(plans)
    if chosen.name == "RayBackend":
        arrays = _put_in_ray(arrays)
    n_jobs = chosen.n_jobs if n_jobs is None else n_jobs
    with parallel_config(backend=chosen.backend, n_jobs=n_jobs):
        tasks = bundles(plans, runs, effective_n_jobs(n_jobs)) if runs else []
        every = [_task(lean, arrays, bundle) for bundle in tasks] + list(calls)
        # the user's n_jobs (joblib runs a lone task in this process if n_jobs is 1)
        outcomes = Parallel()(every)
    results, places = [None] * len(plans), []
    for bundle, (outcome, place) in zip(tasks, outcomes, strict=False):
        members = [i for run in bundle for i in run]
        for i, (result, progress, resume, rng) in zip(members, outcome, strict=True):
            plans[i].progress, plans[i].resume, plans[i].rng = progress, resume, rng
            results[i] = result
        places.extend({"members": list(run), **place} for run in bundle)
    return results, places, outcomes[len(tasks) :]


def _task(lean, arrays, bundle):
    """One bundle's call: its plans, its runs re-indexed, the arrays they use as arguments.

    The arrays are the search's own objects (one per content), so that a backend that
    caches arguments by identity (Dask's scatter) sends each once for all tasks.
    """
    members = [i for run in bundle for i in run]
    local = {i: k for k, i in enumerate(members)}
    used = sorted({v.index for i in members for v in _refs(lean[i])})
    renumber = {old: _Ref(new) for new, old in enumerate(used)}
    plans = []
    for i in members:
        fields = {name: renumber[v.index] for name, v in _named_refs(lean[i])}
        plans.append(dataclasses.replace(lean[i], data=dataclasses.replace(lean[i].data, **fields)))
    runs = [[local[i] for i in run] for run in bundle]
    return delayed(train_bundle)(plans, runs, *[arrays[k] for k in used])


def _named_refs(plan):
    """``(field, _Ref)`` of a detached plan's arrays."""
    return [
        (name, getattr(plan.data, name))
        for name in ARRAY_FIELDS
        if isinstance(getattr(plan.data, name), _Ref)
    ]


def _refs(plan):
    return [ref for _, ref in _named_refs(plan)]


def _put_in_ray(arrays):
    """Ray object references for ``arrays``, each put in the object store once."""
    # Ray's joblib backend is in use, so Ray is installed and started
    import ray

    return [ray.put(array) for array in arrays]
