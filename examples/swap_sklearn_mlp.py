"""Swap scikit-learn's MLPClassifier for keraskit's in an existing pipeline.

The only change to the script is the import; the pipeline, the grid search and the fitted
attributes stay the same. Run: ``python examples/swap_sklearn_mlp.py [--small]``.
"""

import argparse
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier as SklearnMLP  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from keraskit import MLPClassifier as KeraskitMLP  # noqa: E402


def run(MLPClassifier, X_train, X_test, y_train, y_test, max_iter):
    """The user's unchanged code: a scaled MLP tuned by grid search."""
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=max_iter, random_state=0))
    grid = {"mlpclassifier__alpha": [1e-4, 1e-2], "mlpclassifier__hidden_layer_sizes": [(64,)]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X_train, y_train)
    mlp = search.best_estimator_[-1]
    return search.best_params_, search.score(X_test, y_test), mlp.n_iter_, mlp.coefs_[0].shape


def main():
    """Run the same code with both estimators and print what each found."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="fewer epochs, for the tests")
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    split = train_test_split(X, y, random_state=0, stratify=y)
    max_iter = 20 if args.small else 200
    warnings.simplefilter("ignore", ConvergenceWarning)
    for name, cls in [("sklearn", SklearnMLP), ("keraskit", KeraskitMLP)]:
        params, score, n_iter, shape = run(cls, *split, max_iter=max_iter)
        print(
            f"{name:>8}: best {params}, test accuracy {score:.3f}, "
            f"{n_iter} epochs, coefs_[0].shape {shape}"
        )


if __name__ == "__main__":
    main()
