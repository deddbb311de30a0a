"""A fused grid search on Ray's joblib backend agrees with the same search in threads.

keraskit's search sends its stacked runs to Ray's workers (their arrays put in Ray's object
store once), and the fits it cannot fuse (``lbfgs`` here) too, each trained alone as
scikit-learn's own search would train it there. Scikit-learn's search on Ray sends the same
pickled estimators and ``fit`` calls as the fits trained alone here.

Kept apart from ``test_parallel.py`` because starting Ray and its workers (each importing
TensorFlow) costs ~20 s; skipped when ``ray`` is not installed.
"""

import os

import joblib
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification

from keraskit import MLPClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

GRID = [{"alpha": [1e-4, 1e-2], "learning_rate_init": [1e-3, 1e-2]}, {"solver": ["lbfgs"]}]


def _fused_search(**kwargs):
    from keraskit.model_selection import GridSearchCV as FusedGridSearchCV

    X, y = make_classification(
        150, 10, n_informative=5, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    return FusedGridSearchCV(est, GRID, scoring="neg_log_loss", cv=3, **kwargs).fit(X, y)


def test_fused_search_on_ray_trains_in_rays_workers_with_the_same_scores():
    ray = pytest.importorskip("ray")
    from ray.util.joblib import register_ray

    reference = _fused_search(n_jobs=1)
    register_ray()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        with joblib.parallel_backend("ray"):
            search = _fused_search()
    finally:
        ray.shutdown()
    for key in ("mean", "split0", "split1", "split2"):
        key = f"{key}_test_score"
        assert_array_equal(search.cv_results_[key], reference.cv_results_[key], err_msg=key)
    assert len(set(reference.cv_results_["mean_test_score"])) == 5
    assert search.n_fused_fits_ == 15  # every fit trained ahead and adopted here
    runs = search.fused_groups_
    assert {run["backend"] for run in runs} == {"RayBackend"}
    assert os.getpid() not in {run["pid"] for run in runs}
    alone = sorted(m for run in runs if not run["fused"] for m in run["members"])
    assert alone == [(4, 0), (4, 1), (4, 2)]
