"""scikit-learn's callbacks (scikit-learn >= 1.9) watching keraskit networks train, epoch by epoch.

``ProgressBar`` registered on a ``GridSearchCV`` reaches every fit of the search, through a
``Pipeline`` too (``max_propagation_depth=None``), and fills one bar per fit as its epochs
end. ``ScoringMonitor`` on the network scores it after every epoch. A callback of your own
whose ``on_fit_task_end`` returns ``True`` stops training after that epoch. Data: sklearn's
bundled digits. Run: ``python examples/sklearn_callbacks.py [--small]``.
"""

import argparse
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from keraskit import MLPClassifier  # noqa: E402


class StopAtAccuracy:
    """Stops a fit once the network reaches ``target`` accuracy on the training data."""

    def __init__(self, target):
        self.target = target

    def setup(self, estimator, context):
        """Nothing to prepare."""

    def teardown(self, estimator, context):
        """Nothing to release."""

    def on_fit_task_begin(self, estimator, context):
        """Nothing to do when an epoch begins."""

    def on_fit_task_end(self, estimator, context, *, X=None, y=None, fitted_estimator=None):
        """Ask to stop once the network of this epoch is accurate enough."""
        if context.task_name != "epoch" or fitted_estimator is None:
            return False
        return fitted_estimator.score(X, y) >= self.target


def main(small):
    """Run a search with progress bars, then a monitored and a self-stopping fit."""
    try:
        from sklearn.callback import ProgressBar, ScoringMonitor
    except ImportError:
        print("sklearn.callback needs scikit-learn >= 1.9; nothing to show.")
        return
    X, y = load_digits(return_X_y=True)
    if small:
        X, y = X[:300], y[:300]
    epochs = 5 if small else 30
    pipe = make_pipeline(StandardScaler(), MLPClassifier((32,), max_iter=epochs, random_state=0))
    grid = {"mlpclassifier__alpha": [1e-4, 1e-2]}
    search = GridSearchCV(pipe, grid, cv=2).set_callbacks(ProgressBar(max_propagation_depth=None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
        print(f"best alpha {search.best_params_}, CV accuracy {search.best_score_:.3f}")

        monitor = ScoringMonitor(scoring="accuracy")
        MLPClassifier((32,), max_iter=epochs, random_state=0).set_callbacks(monitor).fit(X, y)
        logs = monitor.get_logs().data_as_pandas
        per_epoch = logs[logs["task_name"] == "epoch"]["accuracy"].round(3).tolist()
        print(f"training accuracy after each epoch: {per_epoch}")

        stopper = StopAtAccuracy(0.9)
        est = MLPClassifier((32,), max_iter=200, random_state=0).set_callbacks(stopper).fit(X, y)
        print(f"stopped at 0.9 training accuracy after {est.n_iter_} epochs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="a quick run")
    main(parser.parse_args().small)
