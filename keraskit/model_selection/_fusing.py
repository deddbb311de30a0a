"""Plan every (candidate, split) fit of a search, train the fusable ones together, offer them.

A member is one fit a search would run: a candidate's parameters on one split's training
rows. Each is planned by its own estimator (``plan_fit``: data validation, initial
weights, validation split, loop settings, from its own random stream), so a member starts
and runs exactly as the lone fit. Fusable plans (see ``population.fusable``) are trained
together by the engine; each result becomes an :class:`~keraskit.estimators._adoption.Outcome`
keyed by the fit call it stands for. scikit-learn's search then runs unchanged, and each of
its fits adopts its outcome; whatever was not fused simply trains there.

In a pipeline only the final step is a member: the steps before it are fitted here once per
split and distinct setting of their parameters, and the network is planned on their output,
which is the data the pipeline's own fit later hands to the network.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import joblib
import numpy as np
from joblib import delayed, effective_n_jobs
from sklearn import get_config
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils.metadata_routing import get_routing_for_object
from sklearn.utils.metaestimators import _safe_split
from sklearn.utils.validation import _check_method_params

from ..estimators import _validation_set
from ..estimators._adoption import Outcome, data_key, fit_key
from ..estimators._base import BaseKerasEstimator


class _SearchFit:
    """One fit of the search: the network estimator, its data, its plan and timing."""

    def __init__(self, est, X, y, fit_params, key):
        self.est, self.X, self.y, self.fit_params = est, X, y, fit_params
        # as the search would fit it: planning advances a RandomState parameter
        self.unplanned = clone(est)
        self.key = key  # taken before planning: a RandomState parameter advances in it
        self.plan, self.seconds, self.warnings = None, 0.0, []

    def make_plan(self):
        """Plan the fit as the estimator's own ``fit`` would; ``False`` if it cannot be."""
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                self.plan = self.est.plan_fit(self.X, self.y, **self.fit_params)
            except Exception:  # the lone fit meets the same error in the search
                self.plan = None
        self.warnings = [(str(w.message), w.category) for w in caught]
        self.seconds = time.perf_counter() - start
        return self.plan is not None

    def outcome(self, result):
        """The adoptable outcome of the member's engine result."""
        seconds = self.seconds + result.seconds
        found = self.warnings + result.warnings
        if result.error is not None:
            return Outcome(error=result.error, warnings=found, seconds=seconds)
        self.est.fit_from_plan(self.plan, result.weights, result.n_iter)
        return Outcome(state=dict(vars(self.est)), warnings=found, seconds=seconds)


def _network(est):
    """``(steps before the network, network)`` of an estimator or a pipeline ending in one."""
    if isinstance(est, Pipeline) and est.steps:
        final = est.steps[-1][1]
        return (est[:-1] if len(est.steps) > 1 else None), final
    return None, est


#: What a network's ``fit`` takes besides ``X`` and ``y``, all of which a plan can hold.
PLANNABLE = ("sample_weight", "X_val", "y_val", "sample_weight_val")


def network_fit_params(estimator, params, splitter_keys=()):
    """What each fit of a search's network receives of the search's metadata.

    ``splitter_keys`` (a search's ``groups``) go to the splitter. Without metadata
    routing, ``sample_weight`` goes to every fit. With routing, the network's own requests
    say what it receives (by name or alias), as scikit-learn routes it; a pipeline routes
    metadata its own way, so its fits are fused only when there is none.

    Parameters
    ----------
    estimator : estimator
        The search's estimator.
    params : dict
        The metadata given to the search's ``fit``.
    splitter_keys : tuple of str, default=()
        Keys that go to the splitter.

    Returns
    -------
    fit_params : dict or None
        ``{name: value}`` for the network's ``fit`` (before slicing per split), or
        ``None`` when the fits cannot be fused.
    """
    rest = {k: v for k, v in params.items() if k not in splitter_keys}
    prefix, network = _network(estimator)
    if not get_config().get("enable_metadata_routing", False):
        return rest if set(rest) <= {"sample_weight"} else None
    if prefix is not None or not isinstance(network, BaseKerasEstimator):
        return None if rest else {}
    requests = get_routing_for_object(network).fit.requests
    routed = {}
    for name, request in requests.items():
        alias = name if request is True else request if isinstance(request, str) else None
        if alias is not None and alias in rest:
            routed[name] = rest[alias]
    return routed if set(routed) <= set(PLANNABLE) else None


def has_network(estimator):
    """Whether ``estimator`` is a keraskit network or a pipeline ending in one."""
    return isinstance(_network(estimator)[1], BaseKerasEstimator)


class _SplitCache:
    """Per search: the output of a pipeline's steps before the network, once per split and
    setting, and the hash of each distinct training data (shared by a split's members)."""

    def __init__(self):
        self.done, self.hashes = {}, {}

    def transform(self, prefix, split, X_train, y_train):
        if prefix is None:
            return X_train
        key = (split, joblib.hash(prefix.get_params(deep=True)))
        if key not in self.done:
            self.done[key] = clone(prefix).fit_transform(X_train, y_train)
        return self.done[key]

    def data_key(self, X, y, sample_weight, validation):
        # the arrays live as long as the search (the ValidationSet around them does not)
        given = () if validation is None else (validation.X, validation.y, validation.sample_weight)
        ids = (id(X), id(y), id(sample_weight), *map(id, given))
        if ids not in self.hashes:
            self.hashes[ids] = data_key(X, y, sample_weight, validation)
        return self.hashes[ids]


def _member(base, params, split, data, prefixes, alone_too=False):
    """The keraskit network fit of ``params`` on one split, or ``None`` without one.

    ``None`` also where the fit is better left to the search itself: scikit-learn's
    callbacks, a pipeline's sample weights, data its steps fail on, unhashable parameters.
    """
    est = clone(base).set_params(**clone(params, safe=False))
    prefix, network = _network(est)
    if not isinstance(network, BaseKerasEstimator):
        return None
    if not alone_too and not network.can_fuse():
        return None  # trained by the search itself: nothing to prepare here
    if getattr(network, "_skl_callbacks", None):
        return None  # scikit-learn's callbacks (clones share them) follow a fit's epochs
    X_train, y_train, fit_params = data
    if prefix is not None and fit_params.get("sample_weight") is not None:
        return None  # where a pipeline routes sample weights is the pipeline's business
    try:
        X_net = prefixes.transform(prefix, split, X_train, y_train)
    except Exception:  # the search's own fit meets it and applies error_score
        return None
    # an autoencoder's fit passes on no y: neither does its plan, nor its key
    y_net = y_train if network._head.supervised else None
    sw = fit_params.get("sample_weight")
    try:
        validation = _validation_set.from_fit_arguments(
            fit_params.get("X_val"), fit_params.get("y_val"),
            fit_params.get("sample_weight_val"), network._head.supervised,
        )  # fmt: skip
        data = prefixes.data_key(X_net, y_net, sw, validation)
        key = fit_key(network, X_net, y_net, sw, data, validation)
    except Exception:  # parameters that cannot be hashed (a lambda), a partial set: alone
        return None
    return _SearchFit(network, X_net, y_net, fit_params, key)


def _split_data(base, X, y, splits, fit_params):
    """Each split's training data and fit parameters, sliced as scikit-learn's
    ``_fit_and_score`` slices them."""
    out = []
    for train, _ in splits:
        X_train, y_train = _safe_split(base, X, y, train)
        out.append((X_train, y_train, _check_method_params(X, fit_params, train)))
    return out


def _plan_members(estimator, X, y, candidates, splits, fit_params, alone_too=False):
    """The search's keraskit fits: ``(fusable, alone, others)``.

    ``fusable`` and ``alone`` are ``{(candidate, split): fit}``; ``alone`` holds the network
    fits that cannot be fused (``lbfgs``, CNNs, arrays too large for the graph...) but plan
    without error. ``others`` counts the fits that are no keraskit network's (a pipeline
    whose last step is another estimator) or that only the search can run.
    """
    base = clone(estimator)
    data = _split_data(base, X, y, splits, fit_params)
    prefixes = _SplitCache()
    members, alone, others = {}, {}, 0
    for i, params in enumerate(candidates):
        for s in range(len(splits)):
            m = _member(base, params, s, data[s], prefixes, alone_too)
            if m is None:
                others += 1
                continue
            if not m.est.can_fuse():
                alone[i, s] = m
                continue
            if not m.make_plan():
                continue  # the fit fails at once in the search, as it would alone
            # the engine imports TensorFlow, which planning a keraskit fit has started
            from .._engine.population import fusable

            if fusable(m.plan):
                members[i, s] = m
            else:
                alone[i, s] = m
    return members, alone, others


def fit_alone(est, X, y, fit_params):
    """In a worker: ``est.fit`` as the search would call it, and how it ended.

    Parameters
    ----------
    est : BaseKerasEstimator
        An unfitted network with the candidate's parameters.
    X, y : array-like
        The split's training data (through a pipeline's earlier steps).
    fit_params : dict
        What the network's ``fit`` receives.

    Returns
    -------
    fitted : BaseKerasEstimator or None
        The fitted network (``None`` if ``fit`` raised).
    error : Exception or None
    warnings : list of (str, type)
    seconds : float
    place : dict
        The worker's ``host`` and ``pid``.
    """
    # the engine's dispatch module imports no TensorFlow: the fit starts it in the worker
    from .._engine.dispatch import where

    start = time.perf_counter()
    error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est.fit(X, y, **fit_params)
        except Exception as exc:  # what the search's own fit would meet: raised there
            error = exc
    found = [(str(w.message), w.category) for w in caught]
    return (None if error else est), error, found, time.perf_counter() - start, where()


@dataclass
class FusedBatch:
    """What training a batch of candidates ahead of scikit-learn's evaluation gave.

    Parameters
    ----------
    outcomes : dict
        ``Outcome`` by fit key, for the fits that were trained.
    seconds : ndarray of shape (n_candidates, n_splits)
        Each trained fit's time (a fused fit's planning plus its share of its run's
        training time; a fit trained alone on the user's backend, its fit's time); 0 where
        a fit trains in the search itself.
    runs : list of dict
        Per training run: ``members`` as ``(candidate, split)`` pairs, whether they were
        ``fused`` (one stacked network) or one fit alone, the ``backend``, the ``host`` and
        ``pid`` of the process that trained them, and their ``seconds``.
    """

    outcomes: dict
    seconds: np.ndarray
    runs: list = field(default_factory=list)


def train_fused(estimator, X, y, candidates, splits, fit_params=None, n_jobs=None, chosen=None):
    """Train the search's keraskit fits ahead of scikit-learn's evaluation.

    Parameters
    ----------
    estimator : estimator
        The search's estimator (a keraskit network or a pipeline ending in one).
    X, y : array-like
        The search's data, already made indexable.
    candidates : list of dict
        Parameter settings, in the search's order.
    splits : list of (ndarray, ndarray)
        Train and test indices.
    fit_params : dict, default=None
        What the network's ``fit`` receives (:func:`network_fit_params`): sample weights of
        ``X`` (sliced per split as the search slices them) and a fixed validation set.
    n_jobs : int, default=None
        Runs trained at once in this process's threads (``None``: the engine's default),
        or workers of the chosen backend (``None``: its own setting).
    chosen : keraskit._engine.dispatch.Chosen, default=None
        The process-based joblib backend the user chose. The fused runs are its tasks,
        and so are the keraskit fits that cannot be fused, each trained alone as the
        search would; every result is then adopted here. ``None``: the fused runs train
        in this process's threads and the rest in the search itself.

    Returns
    -------
    batch : FusedBatch
    """
    members, alone, others = _plan_members(
        estimator, X, y, candidates, splits, fit_params or {}, alone_too=chosen is not None
    )
    batch = FusedBatch({}, np.zeros((len(candidates), len(splits))))
    if chosen is None:
        alone = {}
    elif others:
        warnings.warn(
            f"{others} fits of the search run in this process's threads, not on joblib's "
            f"{chosen.name} backend: keraskit trains ahead only its own networks' fits.",
            UserWarning,
            stacklevel=3,
        )
    if not members and not alone:
        return batch
    # the engine imports TensorFlow, which planning has started (see _plan_members)
    from .._engine import dispatch, population

    order = list(members)
    plans = [members[k].plan for k in order]
    runs = population.partition(plans) if plans else []
    results, places, lone = None, None, None
    if chosen is not None:
        results, places, lone = _train_on_backend(chosen, plans, runs, alone, n_jobs)
    if results is None:
        threads = None if n_jobs is None else effective_n_jobs(n_jobs)
        results = population.train_runs(plans, runs, threads)
        places = [{"members": run, "backend": "threading", **dispatch.where()} for run in runs]
    for key, result in zip(order, results, strict=True):
        if result is not None:  # else its run failed as a whole: trained alone instead
            _keep(batch, key, members[key].key, members[key].outcome(result))
    batch.runs = [_run_record(p, order, results) for p in places]
    for key, (fitted, error, found, seconds, place) in (lone or {}).items():
        state = None if fitted is None else dict(vars(fitted))
        outcome = Outcome(state=state, error=error, warnings=found, seconds=seconds)
        _keep(batch, key, alone[key].key, outcome)
        record = {"members": [key], "fused": False, "backend": chosen.name, **place}
        batch.runs.append({**record, "seconds": seconds})
    return batch


def _keep(batch, index, key, outcome):
    """Offer ``outcome`` to the fit ``key`` (candidate and split ``index``)."""
    batch.outcomes[key] = outcome
    batch.seconds[index] = outcome.seconds


def _train_on_backend(chosen, plans, runs, alone, n_jobs):
    """Fused runs and lone fits as tasks of the user's backend.

    Returns ``(results, places, lone)`` (:func:`dispatch.train_on`; ``lone``: the
    :func:`fit_alone` outputs by ``(candidate, split)``), or ``(None, None, None)`` with a
    warning when the backend cannot take the tasks.
    """
    # the engine imports TensorFlow, which planning has started (see _plan_members)
    from .._engine import dispatch

    keys = list(alone)
    calls = [delayed(fit_alone)(alone[k].unplanned, alone[k].X, alone[k].y, alone[k].fit_params)
             for k in keys]  # fmt: skip
    try:
        results, places, extra = dispatch.train_on(chosen, plans, runs, calls, n_jobs)
    except Exception as exc:  # a backend that cannot take the tasks: said, then done here
        warnings.warn(
            f"keraskit could not train the search's networks on joblib's {chosen.name} "
            f"backend ({type(exc).__name__}: {exc}); they trained in this process instead.",
            UserWarning,
            stacklevel=4,
        )
        return None, None, None
    places = [{**p, "backend": chosen.name} for p in places]
    return results, places, dict(zip(keys, extra, strict=True))


def _run_record(place, order, results):
    """A fused run's line of ``fused_groups_``: its members, where it trained, its seconds."""
    members = place["members"]
    seconds = sum(results[i].seconds for i in members if results[i] is not None)
    return {
        "members": [tuple(int(v) for v in order[i]) for i in members],
        "fused": True,
        "backend": place["backend"],
        "host": place["host"],
        "pid": place["pid"],
        "seconds": seconds,
    }
