"""A GridSearchCV over keraskit's MLPClassifier in two processes (``n_jobs=2``).

joblib's default backend (loky) runs the fits in worker processes; each fit is seeded by
``random_state`` alone, so the parallel search finds the same scores, to the last bit, as
the sequential one. The first search in each process pays for importing TensorFlow and
compiling the networks (twice over with ``n_jobs=2``: each worker does it); loky keeps its
workers for the next search, whose wall time is the one to compare. Data: sklearn's bundled digits.
Run: ``python examples/parallel_grid_search.py [--small]``.
"""

import argparse
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from keraskit import MLPClassifier  # noqa: E402


def search(X, y, max_iter, n_jobs):
    """Fit the grid search; return it and its wall time in seconds."""
    grid = {"hidden_layer_sizes": [(32,), (64,)], "alpha": [1e-4, 1e-2]}
    est = MLPClassifier(max_iter=max_iter, random_state=0)
    start = time.perf_counter()
    found = GridSearchCV(est, grid, cv=3, n_jobs=n_jobs).fit(X, y)
    return found, time.perf_counter() - start


def main():
    """Search twice sequentially, then twice in two processes, and compare."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="fewer epochs, for the tests")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    X = X / 16
    max_iter = 10 if args.small else 40

    # each process's first search imports TensorFlow and compiles the networks: time a
    # second search too, which is what a longer search costs per fit
    sequential, t1_first = search(X, y, max_iter, n_jobs=1)
    sequential, t1 = search(X, y, max_iter, n_jobs=1)
    parallel, t2_first = search(X, y, max_iter, n_jobs=2)
    parallel, t2 = search(X, y, max_iter, n_jobs=2)  # loky keeps its workers between searches

    a, b = sequential.cv_results_, parallel.cv_results_
    keys = [k for k in a if k.startswith("split") and k.endswith("_test_score")]
    diff = max(float(np.max(np.abs(a[k] - b[k]))) for k in keys)
    print(f"{len(a['params'])} candidates x 3 folds, digits {X.shape}, max_iter={max_iter}")
    print(f"best: {sequential.best_params_} (cv accuracy {sequential.best_score_:.3f})")
    same = "identical" if diff == 0 else f"max abs difference {diff:.1e}"
    print(
        f"n_jobs=2 vs n_jobs=1 split scores: {same}; same best parameters: "
        f"{parallel.best_params_ == sequential.best_params_}"
    )
    print(
        f"wall time, first search (starts TensorFlow): n_jobs=1 {t1_first:.1f} s, "
        f"n_jobs=2 {t2_first:.1f} s"
    )
    print(
        f"wall time, second search: n_jobs=1 {t1:.1f} s, n_jobs=2 {t2:.1f} s "
        f"(n_jobs=2 takes {t2 / t1:.2f}x the time of n_jobs=1)"
    )


if __name__ == "__main__":
    main()
