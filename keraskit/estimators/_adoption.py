"""Fits trained ahead of the call: a fused search's results, adopted by ``fit``.

A fused search (``keraskit.model_selection``) trains many networks together, then lets
scikit-learn's own search code run as usual: each clone's ``fit`` finds the result trained
for exactly its class, parameters and data, and takes it instead of training again. The key
hashes all three, so a fit adopts only what a lone fit of the same call computes (up to
float rounding); any other call trains as usual. An outcome also carries what the lone fit
would have raised or warned, which ``fit`` raises or warns in its turn.
"""

from __future__ import annotations

import copy
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import joblib

_offers: dict = {}
_lock = threading.Lock()


@dataclass
class Outcome:
    """What one fit of a fused search ended with.

    Parameters
    ----------
    state : dict or None
        The fitted estimator's attributes (``None`` when the fit failed).
    error : Exception or None
        What the fit raised.
    warnings : list of (str, type)
        Warnings the fit gave, message and category.
    seconds : float
        The fit's share of its group's training time.
    adoptions : int
        How many fits have taken this outcome so far.
    """

    state: dict | None = None
    error: BaseException | None = None
    warnings: list = field(default_factory=list)
    seconds: float = 0.0
    adoptions: int = 0


def data_key(X, y, sample_weight, validation=None):
    """Hash of the data of a ``fit`` call (computed once for many calls on the same data).

    ``validation`` is the call's fixed validation set (``X_val``...), or ``None``.
    """
    return joblib.hash((X, y, sample_weight, validation))


def fit_key(est, X, y, sample_weight, data=None, validation=None):
    """Hash of a ``fit`` call: the estimator's class and parameters, and the data.

    Parameters
    ----------
    est : estimator
        The estimator whose ``fit`` is called.
    X, y, sample_weight : object
        The call's arguments.
    data : str, default=None
        ``data_key(X, y, sample_weight, validation)`` when already known.
    validation : ValidationSet, default=None
        The call's fixed validation set.

    Returns
    -------
    key : str
    """
    cls = type(est)
    params = est.get_params(deep=False)
    data = data_key(X, y, sample_weight, validation) if data is None else data
    return joblib.hash((cls.__module__, cls.__qualname__, params, data))


@contextmanager
def offered(outcomes):
    """Make ``{fit_key: Outcome}`` available to the fits run inside the block.

    Blocks may nest and overlap (searches in threads): each takes back only its own.

    Parameters
    ----------
    outcomes : dict
        Outcomes by :func:`fit_key`.
    """
    with _lock:
        for key, outcome in outcomes.items():
            _offers.setdefault(key, []).append(outcome)
    try:
        yield
    finally:
        with _lock:
            for key, outcome in outcomes.items():
                stack = _offers.get(key, [])
                stack[:] = [o for o in stack if o is not outcome]
                if not stack:
                    _offers.pop(key, None)


def find(est, X, y, sample_weight, validation=None):
    """The outcome offered for this call, or ``None`` (always ``None`` outside a search)."""
    if not _offers:
        return None
    try:
        key = fit_key(est, X, y, sample_weight, validation=validation)
    except Exception:  # parameters that cannot be hashed (a lambda): never offered
        return None
    with _lock:
        stack = _offers.get(key)
        return stack[-1] if stack else None


def adopt(est, outcome):
    """Give ``est`` the outcome's fitted state, warnings and error, as its own fit would.

    Parameters
    ----------
    est : BaseKerasEstimator
        An unfitted estimator whose ``fit`` call matches the outcome.
    outcome : Outcome
        The result to take.

    Returns
    -------
    est : BaseKerasEstimator
    """
    with _lock:
        outcome.adoptions += 1
    for message, category in outcome.warnings:
        warnings.warn(message, category, stacklevel=4)
    if outcome.error is not None:
        raise copy.copy(outcome.error)
    vars(est).update(copy.deepcopy(outcome.state))
    return est
