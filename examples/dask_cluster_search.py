"""A fused grid search over keraskit's MLPClassifier on a Dask cluster.

A ``distributed.LocalCluster`` of two worker processes (one thread each) stands in for a
real cluster. Inside ``joblib.parallel_backend("dask")``, keraskit's ``GridSearchCV`` cuts
the grid's networks into stacked runs and sends them to the cluster's workers as tasks (the
data travels once, scattered); the results come back and scikit-learn scores them here.
``fused_groups_`` says where each run trained. The runs do not depend on where they train,
so the scores equal those of the same search in this process's threads. Data: sklearn's
bundled digits. Needs ``pip install keraskit[dask]``.
Run: ``python examples/dask_cluster_search.py [--small]``.
"""

import argparse
import logging
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import joblib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from keraskit import MLPClassifier  # noqa: E402
from keraskit.model_selection import GridSearchCV  # noqa: E402

try:
    from distributed import Client, LocalCluster
except ImportError as error:  # pragma: no cover - the message is the point
    raise SystemExit(f"{error}: this example needs Dask, `pip install keraskit[dask]`") from None


def where_trained(search):
    """One line per training run: which fits, on which worker, how long."""
    runs = pd.DataFrame(search.fused_groups_)
    runs["fits"] = runs["members"].map(len)
    runs["worker"] = runs["host"] + ":" + runs["pid"].astype(str)
    return runs[["fits", "fused", "worker", "seconds"]].round(2)


def main():
    """Search on the cluster, then in this process's threads, and compare."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="fewer epochs, for the tests")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    X = X / 16
    grid = {"hidden_layer_sizes": [(32,), (64,)], "alpha": [1e-4, 1e-2, 1e-1]}
    est = MLPClassifier(max_iter=10 if args.small else 50, random_state=0)

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,  # a real cluster would keep its dashboard
        silence_logs=logging.ERROR,
    )
    with cluster, Client(cluster) as client:
        workers = client.run(os.getpid)
        print(f"cluster: {len(workers)} worker processes, pids {sorted(workers.values())}")
        start = time.perf_counter()
        with joblib.parallel_backend("dask"):
            on_dask = GridSearchCV(est, grid, cv=3).fit(X, y)
        wall = time.perf_counter() - start
    print(
        f"dask: {len(on_dask.cv_results_['params'])} candidates x 3 folds in {wall:.1f} s "
        "(each worker imports TensorFlow on its first task)"
    )
    print(where_trained(on_dask).to_string())
    print(f"best: {on_dask.best_params_} (cv accuracy {on_dask.best_score_:.3f})")

    local = GridSearchCV(est, grid, cv=3).fit(X, y)
    print(f"in this process ({os.getpid()}):")
    print(where_trained(local).to_string())
    a, b = local.cv_results_, on_dask.cv_results_
    keys = [k for k in a if k.startswith("split") and k.endswith("_test_score")]
    diff = max(float(np.max(np.abs(a[k] - b[k]))) for k in keys)
    same = "identical" if diff == 0 else f"max abs difference {diff:.1e}"
    print(f"dask vs this process's threads, split scores: {same}")


if __name__ == "__main__":
    main()
