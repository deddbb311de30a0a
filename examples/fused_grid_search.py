"""A grid search whose networks train together: ``keraskit.model_selection.GridSearchCV``.

The same search as scikit-learn's ``GridSearchCV`` (same parameters, ``cv_results_``,
``best_params_``, refit), imported from ``keraskit.model_selection``: the 24 candidates x 3
folds of MLPs on digits are trained as stacked networks, one per width, each member
reproducing its lone fit. Prints the wall times of both searches and how far apart their
scores are (float rounding only).
Run: ``python examples/fused_grid_search.py [--small]``.
"""

import argparse
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from sklearn import model_selection as sk  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from keraskit import MLPClassifier  # noqa: E402
from keraskit.model_selection import GridSearchCV, cross_validate  # noqa: E402


def timed(search, X, y):
    """Fit ``search`` and return it with its wall time."""
    start = time.perf_counter()
    search.fit(X, y)
    return search, time.perf_counter() - start


def main():
    """Run the search fused and as scikit-learn runs it; print times and the best setting."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="a smaller grid, for the tests")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=50, random_state=0))
    grid = {
        "mlpclassifier__hidden_layer_sizes": [(16,), (32,), (64,)],
        "mlpclassifier__alpha": [1e-4, 1e-3, 1e-2, 1e-1],
        "mlpclassifier__learning_rate_init": [1e-3, 1e-2],
    }
    if args.small:
        X, y = X[:500], y[:500]
        grid = {"mlpclassifier__hidden_layer_sizes": [(8,), (16,)], "mlpclassifier__alpha": [1e-4]}
        pipe.set_params(mlpclassifier__max_iter=5)
    _, t_start = timed(MLPClassifier(max_iter=1), X[:20], y[:20])  # TensorFlow starts
    fused, t_fused = timed(GridSearchCV(pipe, grid, cv=3), X, y)
    plain, t_plain = timed(sk.GridSearchCV(pipe, grid, cv=3), X, y)
    gap = np.abs(fused.cv_results_["mean_test_score"] - plain.cv_results_["mean_test_score"])
    print(f"fits trained together: {fused.n_fused_fits_} of {len(gap) * 3}")
    print(f"TensorFlow's start and a first tiny fit: {t_start:6.2f} s")
    print(f"keraskit.model_selection.GridSearchCV: {t_fused:6.2f} s (first run: traces)")
    print(f"sklearn.model_selection.GridSearchCV:  {t_plain:6.2f} s (every network alone)")
    print(f"largest difference in mean_test_score: {gap.max():.1e}")
    print(f"best parameters (the same in both): {fused.best_params_}")
    print(f"best cross-validated accuracy: {fused.best_score_:.4f}")
    scores = cross_validate(pipe.set_params(**fused.best_params_), X, y, cv=5)
    print(f"5-fold accuracy of the best setting: {scores['test_score'].mean():.4f}")


if __name__ == "__main__":
    main()
