"""Grid searches on Ray's joblib backend agree with the sequential ones.

scikit-learn's search sends every fit to Ray's workers; keraskit's fused search sends its
stacked runs there (their arrays put in Ray's object store once).

Kept apart from ``test_parallel.py`` because starting Ray and its workers (each importing
TensorFlow) costs ~20 s; skipped when ``ray`` is not installed.
"""

import os

import joblib
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from keraskit import MLPClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _search():
    X, y = make_classification(
        150, 10, n_informative=5, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    grid = {"alpha": [1e-4, 1e-2], "learning_rate_init": [1e-3, 1e-2]}
    # "pid" records which process fitted and scored each split
    scoring = {"log_loss": "neg_log_loss", "pid": lambda estimator, X, y: os.getpid()}
    return GridSearchCV(est, grid, scoring=scoring, refit="log_loss", cv=3).fit(X, y)


def _fused_search(**kwargs):
    from keraskit.model_selection import GridSearchCV as FusedGridSearchCV

    X, y = make_classification(
        150, 10, n_informative=5, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    grid = {"alpha": [1e-4, 1e-2], "learning_rate_init": [1e-3, 1e-2]}
    return FusedGridSearchCV(est, grid, scoring="neg_log_loss", cv=3, **kwargs).fit(X, y)


def test_grid_search_on_ray_matches_sequential():
    ray = pytest.importorskip("ray")
    from ray.util.joblib import register_ray

    with joblib.parallel_backend("sequential"):
        reference = _search().cv_results_
    fused_reference = _fused_search(n_jobs=1)
    register_ray()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        with joblib.parallel_backend("ray"):
            results = _search().cv_results_
            fused = _fused_search()
    finally:
        ray.shutdown()
    # a fused search's runs are Ray tasks too: same scores, trained in Ray's workers
    for key in ("split0_test_score", "split1_test_score", "split2_test_score"):
        assert_array_equal(fused.cv_results_[key], fused_reference.cv_results_[key], err_msg=key)
    assert fused.n_fused_fits_ == 12
    assert {run["backend"] for run in fused.fused_groups_} == {"RayBackend"}
    assert os.getpid() not in {run["pid"] for run in fused.fused_groups_}
    for key in ("mean", "split0", "split1", "split2"):
        key = f"{key}_test_log_loss"
        assert_array_equal(results[key], reference[key], err_msg=key)
    assert len(set(reference["mean_test_log_loss"])) == 4
    # the fits ran in Ray's worker processes, not in this one
    assert set(reference["split0_test_pid"]) == {os.getpid()}
    pids = {p for i in range(3) for p in results[f"split{i}_test_pid"]}
    assert os.getpid() not in pids
