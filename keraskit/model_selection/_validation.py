"""cross_validate and cross_val_score that train the folds' networks together."""

from __future__ import annotations

import numpy as np
from joblib import parallel_config
from sklearn import model_selection as sk_model_selection
from sklearn.base import is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils.validation import indexable

from .._engine.dispatch import chosen_backend
from ..estimators._adoption import offered
from ._fusing import has_network, network_fit_params, train_fused


def cross_validate(
    estimator,
    X,
    y=None,
    *,
    groups=None,
    scoring=None,
    cv=None,
    n_jobs=None,
    verbose=0,
    params=None,
    pre_dispatch="2*n_jobs",
    return_train_score=False,
    return_estimator=False,
    return_indices=False,
    error_score=np.nan,
    fuse=True,
):
    """Evaluate metrics by cross-validation, the folds' networks trained together.

    scikit-learn's :func:`sklearn.model_selection.cross_validate`, same parameters and
    results, with ``fuse``: the folds' keraskit networks (alone or ending a pipeline) are
    trained as one stacked network, each fold reproducing its lone fit up to float
    rounding; the scores are then computed by scikit-learn. Inside a process-based joblib
    backend the user chose (``joblib.parallel_config(backend="loky" | "dask" | "ray")``),
    the stacked networks (and folds that cannot be fused) train as that backend's tasks.

    Parameters
    ----------
    estimator, X, y, groups, scoring, cv, n_jobs, verbose, params, pre_dispatch
        As in :func:`sklearn.model_selection.cross_validate`.
    return_train_score, return_estimator, return_indices, error_score
        As in :func:`sklearn.model_selection.cross_validate`.
    fuse : bool, default=True
        Train the folds' networks together; ``False`` runs scikit-learn's function as is.

    Returns
    -------
    scores : dict of ndarray
        scikit-learn's result. A fused fold's ``fit_time`` is its planning time plus its
        share of the group's training time, plus the time its fit took to adopt it.
    """
    kwargs = dict(
        groups=groups,
        scoring=scoring,
        n_jobs=n_jobs,
        verbose=verbose,
        params=params,
        pre_dispatch=pre_dispatch,
        return_train_score=return_train_score,
        return_estimator=return_estimator,
        return_indices=return_indices,
        error_score=error_score,
    )
    params = dict(params or {})
    # routed groups go to the splitter through scikit-learn's own routing: left to it
    fused = fuse and "groups" not in params
    fit_params = network_fit_params(estimator, params) if fused else None
    if fit_params is None or not has_network(estimator):
        return sk_model_selection.cross_validate(estimator, X, y, cv=cv, **kwargs)
    X, y = indexable(X, y)
    splits = list(check_cv(cv, y, classifier=is_classifier(estimator)).split(X, y, groups))
    chosen = chosen_backend()
    batch = train_fused(estimator, X, y, [{}], splits, fit_params, n_jobs, chosen)
    with offered(batch.outcomes), parallel_config(backend="threading"):
        result = sk_model_selection.cross_validate(estimator, X, y, cv=splits, **kwargs)
    result["fit_time"] = result["fit_time"] + batch.seconds[0]
    return result


def cross_val_score(
    estimator,
    X,
    y=None,
    *,
    groups=None,
    scoring=None,
    cv=None,
    n_jobs=None,
    verbose=0,
    params=None,
    pre_dispatch="2*n_jobs",
    error_score=np.nan,
    fuse=True,
):
    """Cross-validated scores, the folds' networks trained together.

    scikit-learn's :func:`sklearn.model_selection.cross_val_score` with ``fuse`` (see
    :func:`cross_validate`).

    Parameters
    ----------
    estimator, X, y, groups, scoring, cv, n_jobs, verbose, params, pre_dispatch, error_score
        As in :func:`sklearn.model_selection.cross_val_score`.
    fuse : bool, default=True
        Train the folds' networks together.

    Returns
    -------
    scores : ndarray of shape (n_splits,)
        The test scores.
    """
    scorer = check_scoring(estimator, scoring=scoring)
    result = cross_validate(
        estimator,
        X,
        y,
        groups=groups,
        scoring={"score": scorer},
        cv=cv,
        n_jobs=n_jobs,
        verbose=verbose,
        params=params,
        pre_dispatch=pre_dispatch,
        error_score=error_score,
        fuse=fuse,
    )
    return result["test_score"]
