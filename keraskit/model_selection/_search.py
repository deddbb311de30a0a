"""GridSearchCV and RandomizedSearchCV that train the networks of a search together.

They are scikit-learn's classes with one more parameter, ``fuse``: the constructors,
attributes, ``cv_results_`` keys, refit, scoring, ``error_score`` and ``verbose`` are
scikit-learn's own, because scikit-learn's ``fit`` runs them. Before each batch of
candidates is evaluated, the fusable fits are trained together (``_fusing.train_fused``) and
offered to the fits scikit-learn then runs, which adopt them.
"""

from __future__ import annotations

from inspect import signature

import numpy as np
from joblib import parallel_config
from sklearn import model_selection as sk_model_selection
from sklearn.model_selection import check_cv
from sklearn.utils import get_tags
from sklearn.utils.validation import indexable

from .._engine.dispatch import chosen_backend
from ..estimators._adoption import offered
from ._fusing import FusedBatch, has_network, network_fit_params, train_fused

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

    Attributes
    ----------
    n_fused_fits_ : int
        The fits that adopted a result trained ahead (with fusing).
    fused_groups_ : list of dict
        One entry per training run ahead of scikit-learn's evaluation (load it with
        ``pd.DataFrame``): ``members`` as ``(candidate, split)`` pairs, ``fused`` (one
        stacked network, or a fit trained alone on the user's backend), ``backend``,
        ``host`` and ``pid`` of the process that trained it, and ``seconds``.

    Notes
    -----
    With fusing, a fused fit's ``mean_fit_time`` is its planning time plus its share of
    its group's training time (the group's time divided by its members), plus the time
    scikit-learn measured for the fit to adopt its result; ``std_fit_time`` is scikit-
    learn's, over the adopting fits. Candidates are evaluated in threads (joblib's
    threading backend), so that the adopting fits see the trained results.

    Where the networks train follows joblib's backend. With none chosen (or threads),
    runs of stacked networks train in this process's threads: ``n_jobs`` sets how many
    threads evaluate candidates and how many runs train at once (by default, one more
    than there are cores, which measured best). Inside a process-based backend the user
    chose (``with joblib.parallel_config(backend="loky" | "dask" | "ray")``), the runs are
    that backend's tasks, one bundle of about equal work per worker, their arrays sent
    once; the keraskit fits that cannot be fused go there too, each trained alone; every
    result is adopted here. Runs are cut from the plans alone, so the scores are identical
    wherever they train. A backend that fails is named in a warning and the runs train
    here.
"""


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
        self.__dict__.pop("n_fused_fits_", None)
        self.__dict__.pop("fused_groups_", None)
        chosen = chosen_backend()  # before the fits' own threads take over
        if not self.fuse or not has_network(self.estimator):
            return super().fit(X, y, **params)
        if chosen is not None and not self._trains_ahead(params):
            return super().fit(X, y, **params)  # every fit on the user's backend
        X, y = indexable(X, y)
        self._fused_data, self._chosen = (X, y, params), chosen
        self._fused_seconds, self.n_fused_fits_, self.fused_groups_ = [], 0, []
        try:
            with parallel_config(backend="threading"):
                super().fit(X, y, **params)
            self._add_fused_times()
        finally:
            del self._fused_data, self._fused_seconds, self._chosen
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # scikit-learn's searches leave this tag at False, which asks a multi-output
        # network for a warning that it rightly does not give
        tags.target_tags.multi_output = get_tags(self.estimator).target_tags.multi_output
        return tags

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        if not hasattr(self, "_fused_data"):  # fuse=False, or nothing keraskit to fuse
            return self._parent_run_search(evaluate_candidates, callback_ctx)

        seen = [0]  # candidates evaluated so far (fused_groups_ numbers them all)

        def fused(candidate_params, cv=None, *args, **kwargs):
            candidate_params = list(candidate_params)
            splits = self._splits(cv or self._checked_cv_orig)
            batch = self._train_fused(candidate_params, splits)
            self.fused_groups_ += [_numbered(run, seen[0]) for run in batch.runs]
            seen[0] += len(candidate_params)
            with offered(batch.outcomes):
                # the splits trained on, listed: a splitter is not asked twice (one with a
                # random state of None would split differently the second time)
                results = evaluate_candidates(candidate_params, check_cv(splits), *args, **kwargs)
            self.n_fused_fits_ += sum(o.adoptions for o in batch.outcomes.values())
            return results

        return self._parent_run_search(fused, callback_ctx)

    def _trains_ahead(self, params):
        """Whether the search's fits can be trained ahead and adopted.

        Not with scikit-learn's callbacks (they follow each fit epoch by epoch) nor with
        metadata routed where a network's plan cannot hold it.
        """
        if getattr(self, "_skl_callbacks", None):
            return False
        return network_fit_params(self.estimator, params, ("groups",)) is not None

    def _parent_run_search(self, evaluate_candidates, callback_ctx):
        # scikit-learn >= 1.9 passes its callback context on; earlier versions have none
        if "callback_ctx" in signature(super()._run_search).parameters:
            return super()._run_search(evaluate_candidates, callback_ctx=callback_ctx)
        return super()._run_search(evaluate_candidates)

    def _splits(self, cv):
        X, y, params = self._fused_data
        return list(cv.split(X, y, groups=params.get("groups")))

    def _train_fused(self, candidates, splits):
        X, y, params = self._fused_data
        if self._trains_ahead(params):
            fit_params = network_fit_params(self.estimator, params, ("groups",))
            batch = train_fused(
                self.estimator, X, y, candidates, splits, fit_params, self.n_jobs, self._chosen
            )
        else:  # every fit trains in the search itself
            batch = FusedBatch({}, np.zeros((len(candidates), len(splits))))
        self._fused_seconds.append(batch.seconds)
        return batch

    def _add_fused_times(self):
        seconds = np.concatenate(self._fused_seconds) if self._fused_seconds else None
        if seconds is not None and len(seconds) == len(self.cv_results_["mean_fit_time"]):
            self.cv_results_["mean_fit_time"] = self.cv_results_["mean_fit_time"] + seconds.mean(
                axis=1
            )


def _numbered(run, offset):
    """A run of ``fused_groups_`` with candidates numbered over the whole search."""
    return {**run, "members": [(c + offset, s) for c, s in run["members"]]}


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
