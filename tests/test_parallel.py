"""Parallel searches (joblib's loky processes, a Dask cluster) and out-of-core training.

The same ``random_state`` must give the same scores whichever process runs a fit, so a
search spread over workers agrees with the sequential one; ``dask_ml``'s ``Incremental``
must train with one ``partial_fit`` per block of a chunked array. Scores are log losses
(continuous), so any change in a single fit shows, not only a changed accuracy.
"""

import logging
import os
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy.stats import loguniform
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_validate

from keraskit import MLPClassifier, MLPRegressor, get_config

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

GRID = {"alpha": [1e-4, 1e-2], "learning_rate_init": [1e-3, 1e-2]}
# "pid" is no score: it records which process fitted and scored each split
SCORING = {
    "log_loss": "neg_log_loss",
    "accuracy": "accuracy",
    "pid": lambda estimator, X, y: os.getpid(),
}
SCORE_KEYS = [
    f"{kind}_test_{metric}"
    for metric in ("log_loss", "accuracy")
    for kind in ("mean", "split0", "split1", "split2")
]


def _data():
    return make_classification(
        150, 10, n_informative=5, n_classes=3, n_clusters_per_class=1, random_state=0
    )


def _mlp():
    return MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)


def _grid_search(n_jobs):
    search = GridSearchCV(_mlp(), GRID, scoring=SCORING, refit="log_loss", cv=3, n_jobs=n_jobs)
    return search.fit(*_data())


@pytest.fixture(scope="module")
def sequential_search():
    """The reference: the grid searched in this process, one fit after another."""
    return _grid_search(n_jobs=1)


def _worker_pids(results):
    """The processes that ran the splits' fits, asserting that this one ran none."""
    pids = {int(p) for i in range(3) for p in results[f"split{i}_test_pid"]}
    assert os.getpid() not in pids, "a fit ran in the test process, not in a worker"
    return pids


def _assert_same_scores(results, reference):
    for key in SCORE_KEYS:
        # bit-identical: every fit is seeded by random_state alone, whatever the process
        assert_array_equal(results[key], reference[key], err_msg=key)
    assert_array_equal(results["rank_test_log_loss"], reference["rank_test_log_loss"])


def test_grid_search_loky_processes_match_sequential(sequential_search):
    search = _grid_search(n_jobs=2)
    _assert_same_scores(search.cv_results_, sequential_search.cv_results_)
    assert set(sequential_search.cv_results_["split0_test_pid"]) == {os.getpid()}
    assert len(_worker_pids(search.cv_results_)) <= 2
    # the candidates differ from each other, so equal results are not a degenerate case
    assert len(set(sequential_search.cv_results_["mean_test_log_loss"])) == 4
    assert search.best_params_ == sequential_search.best_params_
    X, y = _data()
    assert_array_equal(
        search.best_estimator_.predict_proba(X), sequential_search.best_estimator_.predict_proba(X)
    )


def test_cross_validate_loky_processes_match_sequential():
    X, y = _data()
    runs = [
        cross_validate(_mlp(), X, y, cv=3, scoring=SCORING, n_jobs=n, return_estimator=True)
        for n in (1, 2)
    ]
    for key in ("test_log_loss", "test_accuracy"):
        assert_array_equal(runs[1][key], runs[0][key], err_msg=key)
    assert os.getpid() not in set(runs[1]["test_pid"])
    # the fitted estimators travel back from the workers and predict as the local ones
    for local, remote in zip(runs[0]["estimator"], runs[1]["estimator"], strict=True):
        assert_array_equal(remote.predict_proba(X), local.predict_proba(X))
        assert remote.loss_curve_ == local.loss_curve_


def test_randomized_search_loky_processes_match_sequential():
    X, y = _data()
    space = {"alpha": loguniform(1e-5, 1e-1), "learning_rate_init": loguniform(1e-3, 3e-2)}
    runs = [
        RandomizedSearchCV(
            _mlp(),
            space,
            n_iter=3,
            scoring=SCORING,
            refit="log_loss",
            cv=3,
            n_jobs=n,
            random_state=0,
        ).fit(X, y)
        for n in (1, 2)
    ]
    seq, par = (r.cv_results_ for r in runs)
    assert seq["params"] == par["params"]
    _assert_same_scores(par, seq)
    _worker_pids(par)


# ----------------------------------------------------------------------------- Dask
@pytest.fixture(scope="module")
def dask_client():
    """Two worker processes, one thread each; closed when the module's tests are done."""
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "Port 8787 is already in use"
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_grid_search_on_dask_cluster_matches_sequential(dask_client, sequential_search):
    with joblib.parallel_backend("dask"):
        search = GridSearchCV(_mlp(), GRID, scoring=SCORING, refit="log_loss", cv=3)
        search.fit(*_data())
    _assert_same_scores(search.cv_results_, sequential_search.cv_results_)
    # the fits ran in the cluster's worker processes
    cluster_pids = set(dask_client.run(os.getpid).values())
    assert len(cluster_pids) == 2
    assert _worker_pids(search.cv_results_) <= cluster_pids
    # Dask gives each worker one thread (OMP_NUM_THREADS=1): TensorFlow keeps to it there
    threads = dask_client.run(lambda: (os.environ.get("OMP_NUM_THREADS"), get_config()["threads"]))
    assert set(threads.values()) == {("1", 1)}


# ------------------------------------------------------- fused searches on the user's backend
FUSED_GRID = {"hidden_layer_sizes": [(8,), (16,)], **GRID}


def _fused_search(grid=None, **kwargs):
    from keraskit.model_selection import GridSearchCV as FusedGridSearchCV

    search = FusedGridSearchCV(
        _mlp(), grid or FUSED_GRID, scoring=SCORING, refit="log_loss", cv=3, **kwargs
    )
    return search.fit(*_data())


@pytest.fixture(scope="module")
def fused_local():
    """The reference: the fused search in this process's threads, one run at a time."""
    return _fused_search(n_jobs=1)


def _assert_trained_once_in(search, pids, backend):
    """Every fit of the search trained once, ahead, in one of ``pids``, and was adopted."""
    runs = search.fused_groups_
    members = sorted(m for run in runs for m in run["members"])
    assert members == [(c, s) for c in range(len(search.cv_results_["params"])) for s in range(3)]
    assert {run["pid"] for run in runs} <= pids
    assert {run["backend"] for run in runs} == {backend}
    assert search.n_fused_fits_ == len(members)


def test_fused_search_on_dask_trains_in_the_workers(dask_client, fused_local):
    with joblib.parallel_backend("dask"):
        search = _fused_search()
    _assert_same_scores(search.cv_results_, fused_local.cv_results_)
    cluster_pids = set(dask_client.run(os.getpid).values())
    _assert_trained_once_in(search, cluster_pids, "DaskDistributedBackend")
    assert {run["pid"] for run in search.fused_groups_} == cluster_pids  # both worked
    assert {run["pid"] for run in fused_local.fused_groups_} == {os.getpid()}
    # the fits adopted their results here, in threads: scoring ran in this process
    assert set(search.cv_results_["split0_test_pid"]) == {os.getpid()}


def test_what_cannot_be_fused_trains_alone_on_the_users_backend(dask_client):
    # lbfgs cannot be fused: its fits train alone on the cluster, and are adopted here
    grid = [{"alpha": [1e-4]}, {"solver": ["lbfgs"]}, {"alpha": [1e-2]}]
    reference = _fused_search(grid, n_jobs=1)
    with joblib.parallel_backend("dask"):
        search = _fused_search(grid)
    _assert_same_scores(search.cv_results_, reference.cv_results_)
    cluster_pids = set(dask_client.run(os.getpid).values())
    _assert_trained_once_in(search, cluster_pids, "DaskDistributedBackend")
    alone = [run for run in search.fused_groups_ if not run["fused"]]
    assert sorted(m for run in alone for m in run["members"]) == [(1, 0), (1, 1), (1, 2)]
    # without a chosen backend the lbfgs fits train in the search itself, as scikit-learn's
    assert sorted({c for run in reference.fused_groups_ for c, _ in run["members"]}) == [0, 2]
    assert set(search.cv_results_["split0_test_pid"]) == {os.getpid()}  # adopted here


def test_fused_cross_validate_on_dask_matches_threads(dask_client):
    from keraskit.model_selection import cross_validate as fused_cross_validate

    X, y = _data()
    local = fused_cross_validate(_mlp(), X, y, cv=3, scoring=SCORING, n_jobs=1)
    with joblib.parallel_backend("dask"):
        remote = fused_cross_validate(_mlp(), X, y, cv=3, scoring=SCORING)
    for key in ("test_log_loss", "test_accuracy"):
        assert_array_equal(remote[key], local[key], err_msg=key)


def test_fused_search_on_loky_processes(fused_local):
    with joblib.parallel_config(backend="loky", n_jobs=2):
        search = _fused_search()
    _assert_same_scores(search.cv_results_, fused_local.cv_results_)
    pids = {run["pid"] for run in search.fused_groups_}
    assert os.getpid() not in pids
    _assert_trained_once_in(search, pids, "LokyBackend")


class _NoWorkers(joblib._parallel_backends.LokyBackend):
    """A process backend whose workers never start."""

    def configure(self, *args, **kwargs):
        raise RuntimeError("no workers here")


def test_a_backend_keraskit_cannot_use_is_named_in_a_warning(fused_local):
    joblib.register_parallel_backend("no-workers", _NoWorkers)
    with joblib.parallel_config(backend="no-workers", n_jobs=2):
        with pytest.warns(UserWarning, match="on joblib's _NoWorkers backend .*no workers here"):
            search = _fused_search()
    _assert_same_scores(search.cv_results_, fused_local.cv_results_)
    _assert_trained_once_in(search, {os.getpid()}, "threading")


# ----------------------------------------------------------------------------- out of core
def _chunked(X, y, rows_per_block=100):
    da = pytest.importorskip("dask.array")
    return da.from_array(X, chunks=(rows_per_block, X.shape[1])), da.from_array(
        y, chunks=rows_per_block
    )


def test_incremental_classifier_one_partial_fit_per_block():
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = make_classification(
        300, 10, n_informative=5, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    X_dask, y_dask = _chunked(X, y)
    assert X_dask.numblocks == (3, 1)
    est = MLPClassifier(
        hidden_layer_sizes=(8,), batch_size=20, learning_rate_init=0.01, random_state=0
    )
    inc = wrappers.Incremental(est, shuffle_blocks=False, random_state=0)
    inc.fit(X_dask, y_dask, classes=np.unique(y))

    fitted = inc.estimator_
    assert fitted is not est  # Incremental trains a clone
    assert fitted.t_ == 300 and fitted.n_iter_ == 1
    assert len(fitted.loss_curve_) == 3 and len(fitted.history_) == 3  # one epoch per block

    # the same as calling partial_fit by hand on the blocks in order
    by_hand = MLPClassifier(
        hidden_layer_sizes=(8,), batch_size=20, learning_rate_init=0.01, random_state=0
    )
    for start in (0, 100, 200):
        by_hand.partial_fit(X[start : start + 100], y[start : start + 100], classes=np.unique(y))
    assert fitted.loss_curve_ == by_hand.loss_curve_
    for a, b in zip(fitted.coefs_, by_hand.coefs_, strict=True):
        assert_array_equal(a, b)

    # a second pass over the blocks continues the same model
    inc.partial_fit(X_dask, y_dask, classes=np.unique(y))
    assert inc.estimator_.t_ == 600 and len(inc.estimator_.history_) == 6

    predicted = inc.predict(X_dask)
    assert hasattr(predicted, "compute")  # lazy, block by block
    labels = predicted.compute()
    assert_array_equal(labels, inc.estimator_.predict(X))
    proba = inc.predict_proba(X_dask).compute()
    assert proba.shape == (300, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert (labels == y).mean() > 0.6  # chance is 1/3
    assert inc.score(X_dask, y_dask) == pytest.approx((labels == y).mean())


def test_incremental_regressor_one_partial_fit_per_block():
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = make_regression(300, 5, noise=1.0, random_state=0)
    y = y / y.std()
    X_dask, y_dask = _chunked(X, y)
    est = MLPRegressor(
        hidden_layer_sizes=(16,), batch_size=20, learning_rate_init=0.01, random_state=0
    )
    # not scoring="r2": dask_ml.metrics.r2_score fails on dask >= 2025.2 ("cannot broadcast
    # shape (nan,) to shape (nan,)", dask/dask-ml#1012), whatever the estimator
    inc = wrappers.Incremental(est, scoring="neg_mean_squared_error", random_state=0)
    for _ in range(3):  # three passes over the three blocks
        inc.partial_fit(X_dask, y_dask)
    fitted = inc.estimator_
    assert fitted.t_ == 900 and len(fitted.loss_curve_) == 9
    assert fitted.loss_curve_[-1] < fitted.loss_curve_[0]
    predicted = inc.predict(X_dask).compute()
    assert predicted.shape == (300,)
    assert_array_equal(predicted, fitted.predict(X))
    assert r2_score(y, predicted) > 0.8
    assert inc.score(X_dask, y_dask) == pytest.approx(-mean_squared_error(y, predicted))
