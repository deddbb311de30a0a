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
from joblib import effective_n_jobs
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


def _member(base, params, split, data, prefixes):
    """The member for ``params`` on one split, or ``None`` when it cannot be fused."""
    est = clone(base).set_params(**clone(params, safe=False))
    prefix, network = _network(est)
    if not isinstance(network, BaseKerasEstimator) or not network.can_fuse():
        return None
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


def _plan_members(estimator, X, y, candidates, splits, fit_params):
    """``{(candidate, split): member}`` of the fits that can be trained together."""
    base = clone(estimator)
    data = _split_data(base, X, y, splits, fit_params)
    prefixes = _SplitCache()
    members = {}
    for i, params in enumerate(candidates):
        for s in range(len(splits)):
            m = _member(base, params, s, data[s], prefixes)
            if m is None or not m.make_plan():
                continue
            # the engine imports TensorFlow, which planning a keraskit fit has started
            from .._engine.population import fusable

            if fusable(m.plan):
                members[i, s] = m
    return members


@dataclass
class FusedBatch:
    """What training a batch of candidates together gave.

    Parameters
    ----------
    outcomes : dict
        ``Outcome`` by fit key, for the fits that were trained.
    seconds : ndarray of shape (n_candidates, n_splits)
        Each fused fit's time (planning plus its share of its run's training time); 0
        where a fit was not fused and trains in the search itself.
    fused : ndarray of bool of shape (n_candidates, n_splits)
        Which fits have an outcome.
    runs : list of dict
        Per run (one stacked network): ``members`` as ``(candidate, split)`` pairs,
        ``backend``, ``host`` and ``pid`` of the process that trained it, and ``seconds``.
    """

    outcomes: dict
    seconds: np.ndarray
    fused: np.ndarray
    runs: list = field(default_factory=list)

    def whole(self, i):
        """Whether every split of candidate ``i`` was trained here."""
        return bool(self.fused[i].all())


def train_fused(estimator, X, y, candidates, splits, fit_params=None, n_jobs=None, chosen=None):
    """Train the fusable fits of ``candidates`` x ``splits`` together.

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
        Runs trained at once in this process's threads (``None``: the engine's default).
    chosen : keraskit._engine.dispatch.Chosen, default=None
        The process-based joblib backend the user chose: the runs are its tasks, and only
        candidates whose every split can be fused are (the others go to the backend
        whole, as scikit-learn sends them). ``None`` trains in threads here.

    Returns
    -------
    batch : FusedBatch
    """
    members = _plan_members(estimator, X, y, candidates, splits, fit_params or {})
    shape = (len(candidates), len(splits))
    if chosen is not None:  # a candidate partly fused would train on the backend anyway
        whole = {i for i in range(shape[0]) if all((i, s) in members for s in range(shape[1]))}
        members = {k: m for k, m in members.items() if k[0] in whole}
    batch = FusedBatch({}, np.zeros(shape), np.zeros(shape, bool))
    if not members:
        return batch
    # the engine imports TensorFlow, which planning has started (see _plan_members)
    from .._engine import dispatch, population

    order = list(members)
    plans = [members[k].plan for k in order]
    runs = population.partition(plans)
    results = None
    if chosen is not None:
        results, places = _train_on_backend(chosen, plans, runs)
    if results is None:
        threads = None if n_jobs is None else effective_n_jobs(n_jobs)
        results = population.train_runs(plans, runs, threads)
        places = [{"members": run, "backend": "threading", **dispatch.where()} for run in runs]
    for key, result in zip(order, results, strict=True):
        if result is not None:  # else its run failed as a whole: trained alone instead
            m = members[key]
            batch.outcomes[m.key] = m.outcome(result)
            batch.seconds[key] = batch.outcomes[m.key].seconds
            batch.fused[key] = True
    batch.runs = [_run_record(p, order, results) for p in places]
    return batch


def _train_on_backend(chosen, plans, runs):
    """The runs trained on the user's backend; ``(None, None)`` with a warning if it fails."""
    # the engine imports TensorFlow, which planning has started (see _plan_members)
    from .._engine import dispatch

    try:
        results, places = dispatch.train_on(chosen, plans, runs)
    except Exception as exc:  # a backend that cannot take the tasks: said, then done here
        warnings.warn(
            f"keraskit could not train the search's networks on joblib's {chosen.name} "
            f"backend ({type(exc).__name__}: {exc}); they trained in this process's threads "
            "instead.",
            UserWarning,
            stacklevel=4,
        )
        return None, None
    return results, [{**p, "backend": chosen.name} for p in places]


def _run_record(place, order, results):
    """A run's line of ``fused_groups_``: its members, where it trained, its seconds."""
    members = place["members"]
    seconds = sum(results[i].seconds for i in members if results[i] is not None)
    return {
        "members": [tuple(int(v) for v in order[i]) for i in members],
        "backend": place["backend"],
        "host": place["host"],
        "pid": place["pid"],
        "seconds": seconds,
    }
