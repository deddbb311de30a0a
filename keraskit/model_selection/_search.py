"""GridSearchCV and RandomizedSearchCV that train the networks of a search together.

They are scikit-learn's classes with one more parameter, ``fuse``: the constructors,
attributes, ``cv_results_`` keys, refit, scoring, ``error_score`` and ``verbose`` are
scikit-learn's own, because scikit-learn's ``fit`` runs them. Before each batch of
candidates is evaluated, the fusable fits are trained together (``_fusing.prefit``) and
offered to the fits scikit-learn then runs, which adopt them.
"""

from __future__ import annotations

from inspect import signature

import numpy as np
from joblib import parallel_config
from sklearn import get_config
from sklearn import model_selection as sk_model_selection
from sklearn.base import is_classifier
from sklearn.model_selection import check_cv
from sklearn.utils import get_tags
from sklearn.utils.validation import indexable

from ..estimators._prefit import offered
from ._fusing import prefit

_FUSE_DOC = """
    fuse : bool, default=True
        Train the networks of the search together: every keraskit ``MLPClassifier``,
        ``MLPRegressor`` or ``AutoencoderTransformer`` fit (alone or as the last step of
        a pipeline) that shares its network's shape and training signature with others
        is trained with them as one stacked network. Each reproduces its lone fit (same
        initial weights, batches, stopping epoch and scores, up to float rounding). Fits
        that cannot be fused (``lbfgs``, CNNs, wrappers, callbacks, verbose fits, other
        estimators) run as scikit-learn runs them. ``False`` runs the whole search as
        scikit-learn does.

    Notes
    -----
    With fusing, a fused fit's ``mean_fit_time`` is its planning time plus its share of
    its group's training time (the group's time divided by its members), plus the time
    scikit-learn measured for the fit to adopt its result; ``std_fit_time`` is scikit-
    learn's, over the adopting fits. Candidates are evaluated in threads (joblib's
    threading backend), so that the adopting fits see the trained results; ``n_jobs``
    sets how many.
"""


def _routing_enabled():
    """Whether scikit-learn routes metadata (then it decides where sample weights go)."""
    return bool(get_config().get("enable_metadata_routing", False))


class _FusedSearchMixin:
    """``fit`` with the fusable fits trained ahead of scikit-learn's evaluation."""

    def fit(self, X, y=None, **params):
        """Run fit with all sets of parameters, the networks trained together.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets.
        **params : dict
            Passed to scikit-learn's ``fit`` (``groups``, ``sample_weight``, routed
            metadata).

        Returns
        -------
        self : object
            The fitted search.
        """
        if not self.fuse:
            return super().fit(X, y, **params)
        X, y = indexable(X, y)
        self._fused_data = (X, y, params)
        self.n_fused_fits_ = 0
        self._fused_seconds = []
        try:
            with parallel_config(backend="threading"):
                super().fit(X, y, **params)
        finally:
            del self._fused_data
        self._add_fused_times()
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # scikit-learn's searches leave this tag at False, which asks a multi-output
        # network for a warning that it rightly does not give
        tags.target_tags.multi_output = get_tags(self.estimator).target_tags.multi_output
        return tags

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        if not self.fuse:
            return self._parent_run_search(evaluate_candidates, callback_ctx)

        def fused(candidate_params, cv=None, *args, **kwargs):
            candidate_params = list(candidate_params)
            outcomes = self._prefit(candidate_params, cv or self._cv_checked())
            with offered(outcomes):
                return evaluate_candidates(candidate_params, cv, *args, **kwargs)

        return self._parent_run_search(fused, callback_ctx)

    def _parent_run_search(self, evaluate_candidates, callback_ctx):
        # scikit-learn >= 1.9 passes its callback context on; earlier versions have none
        if "callback_ctx" in signature(super()._run_search).parameters:
            return super()._run_search(evaluate_candidates, callback_ctx=callback_ctx)
        return super()._run_search(evaluate_candidates)

    def _cv_checked(self):
        """The splitter scikit-learn's ``fit`` checked (re-checked on versions without it)."""
        checked = getattr(self, "_checked_cv_orig", None)
        if checked is None:
            y = self._fused_data[1]
            checked = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        return checked

    def _prefit(self, candidates, cv):
        X, y, params = self._fused_data
        extra = set(params) - {"groups", "sample_weight"}
        if _routing_enabled():
            extra = set(params) - {"groups"}
        if extra:  # other metadata: routed by scikit-learn, trained there
            self._fused_seconds.append(np.zeros((len(candidates), cv.get_n_splits())))
            return {}
        splits = list(cv.split(X, y, groups=params.get("groups")))
        outcomes, seconds = prefit(
            self.estimator, X, y, candidates, splits, params.get("sample_weight")
        )
        self._fused_seconds.append(seconds)
        self.n_fused_fits_ = getattr(self, "n_fused_fits_", 0) + len(outcomes)
        return outcomes

    def _add_fused_times(self):
        seconds = np.concatenate(self._fused_seconds) if self._fused_seconds else None
        del self._fused_seconds
        if seconds is not None and len(seconds) == len(self.cv_results_["mean_fit_time"]):
            self.cv_results_["mean_fit_time"] = self.cv_results_["mean_fit_time"] + seconds.mean(
                axis=1
            )


class GridSearchCV(_FusedSearchMixin, sk_model_selection.GridSearchCV):
    __doc__ = (
        "Exhaustive search over a parameter grid, with the networks trained together.\n\n"
        "scikit-learn's :class:`sklearn.model_selection.GridSearchCV` (same parameters,\n"
        "attributes and results) with ``fuse``.\n\n"
        "Parameters\n----------\n"
        "estimator, param_grid, scoring, n_jobs, refit, cv, verbose, pre_dispatch,\n"
        "error_score, return_train_score\n"
        "    As in :class:`sklearn.model_selection.GridSearchCV`.\n" + _FUSE_DOC
    )

    _parameter_constraints: dict = {
        **sk_model_selection.GridSearchCV._parameter_constraints,
        "fuse": ["boolean"],
    }

    def __init__(
        self,
        estimator,
        param_grid,
        *,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        error_score=np.nan,
        return_train_score=False,
        fuse=True,
    ):
        super().__init__(
            estimator,
            param_grid,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.fuse = fuse


class RandomizedSearchCV(_FusedSearchMixin, sk_model_selection.RandomizedSearchCV):
    __doc__ = (
        "Randomized search over parameters, with the networks trained together.\n\n"
        "scikit-learn's :class:`sklearn.model_selection.RandomizedSearchCV` (same\n"
        "parameters, attributes and results) with ``fuse``.\n\n"
        "Parameters\n----------\n"
        "estimator, param_distributions, n_iter, scoring, n_jobs, refit, cv, verbose,\n"
        "pre_dispatch, random_state, error_score, return_train_score\n"
        "    As in :class:`sklearn.model_selection.RandomizedSearchCV`.\n" + _FUSE_DOC
    )

    _parameter_constraints: dict = {
        **sk_model_selection.RandomizedSearchCV._parameter_constraints,
        "fuse": ["boolean"],
    }

    def __init__(
        self,
        estimator,
        param_distributions,
        *,
        n_iter=10,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        random_state=None,
        error_score=np.nan,
        return_train_score=False,
        fuse=True,
    ):
        super().__init__(
            estimator,
            param_distributions,
            n_iter=n_iter,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            random_state=random_state,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.fuse = fuse
