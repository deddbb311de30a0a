"""A GridSearchCV over keraskit's MLPClassifier on a Dask cluster.

A ``distributed.LocalCluster`` of two worker processes (one thread each) stands in for a
real cluster: inside ``joblib.parallel_backend("dask")`` scikit-learn sends every fit to
the cluster's workers, unchanged code otherwise. Each fit is seeded by ``random_state``
alone, so the scores equal those of a sequential search. Data: sklearn's bundled digits.
Needs ``pip install keraskit[dask]``. Run: ``python examples/dask_cluster_search.py [--small]``.
"""

import argparse
import logging
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import joblib  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from keraskit import MLPClassifier  # noqa: E402

try:
    from distributed import Client, LocalCluster, get_task_stream
except ImportError as error:  # pragma: no cover - the message is the point
    raise SystemExit(f"{error}: this example needs Dask, `pip install keraskit[dask]`") from None


def main():
    """Search on the cluster, then in this process, and compare."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="fewer epochs, for the tests")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    X = X / 16
    grid = {"hidden_layer_sizes": [(32,), (64,)], "alpha": [1e-4, 1e-2]}
    est = MLPClassifier(max_iter=10 if args.small else 40, random_state=0)

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,  # a real cluster would keep its dashboard
        silence_logs=logging.ERROR,
    )
    with cluster, Client(cluster) as client:
        print(f"cluster: {len(client.scheduler_info()['workers'])} worker processes")
        start = time.perf_counter()
        with get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
            on_dask = GridSearchCV(est, grid, cv=3).fit(X, y)
        wall = time.perf_counter() - start
        per_worker = {}
        for task in tasks.data:
            per_worker[task["worker"]] = per_worker.get(task["worker"], 0) + 1
    print(
        f"dask: {len(on_dask.cv_results_['params'])} candidates x 3 folds in {wall:.1f} s "
        f"(workers start TensorFlow on their first fit); tasks per worker: "
        + ", ".join(f"{w} {n}" for w, n in sorted(per_worker.items()))
    )
    print(f"best: {on_dask.best_params_} (cv accuracy {on_dask.best_score_:.3f})")

    local = GridSearchCV(est, grid, cv=3, n_jobs=1).fit(X, y)
    a, b = local.cv_results_, on_dask.cv_results_
    keys = [k for k in a if k.startswith("split") and k.endswith("_test_score")]
    diff = max(float(np.max(np.abs(a[k] - b[k]))) for k in keys)
    same = "identical" if diff == 0 else f"max abs difference {diff:.1e}"
    print(f"dask vs n_jobs=1 split scores: {same}")


if __name__ == "__main__":
    main()
