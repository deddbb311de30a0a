"""scikit-learn's callbacks (sklearn.callback, scikit-learn >= 1.9) in keraskit's fits."""

import copy
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import keraskit
from keraskit import AutoencoderTransformer, KerasClassifier, MLPClassifier, MLPRegressor

callback = pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9")


class Recorder:
    """Records every hook call: (hook, estimator class, task name, fitted copy's n_iter_).

    Registered on an estimator itself; ``stop_after`` epochs, it asks to stop.
    """

    def __init__(self, stop_after=None):
        self.calls, self.stop_after = [], stop_after

    def setup(self, estimator, context):
        self.calls.append(("setup", type(estimator).__name__, context.task_name, None))

    def teardown(self, estimator, context):
        self.calls.append(("teardown", type(estimator).__name__, context.task_name, None))

    def on_fit_task_begin(self, estimator, context):
        self.calls.append(("begin", type(estimator).__name__, context.task_name, None))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        n_iter = getattr(fitted_estimator, "n_iter_", None)
        self.calls.append(("end", type(estimator).__name__, context.task_name, n_iter))
        epochs = sum(1 for c in self.calls if c[0] == "end" and c[2] == "epoch")
        return context.task_name == "epoch" and epochs == self.stop_after

    def epochs(self, hook="end"):
        return [c for c in self.calls if c[0] == hook and c[2] == "epoch"]


class Propagated(Recorder):
    """Registered on a meta-estimator, which passes it to its sub-estimators at any depth."""

    max_propagation_depth = None


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:200] / 16.0, y[:200]


def _fit(est, X, y=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_one_task_per_epoch_and_a_stop_request_ends_training(digits, solver):
    X, y = digits
    rec = Recorder(stop_after=3)
    est = _fit(MLPClassifier((8,), solver=solver, max_iter=10, random_state=0), X, y)
    assert est.n_iter_ == 10
    est = _fit(est.set_callbacks(rec), X, y)
    assert est.n_iter_ == 3  # stopped after the epoch that asked
    assert [c[3] for c in rec.epochs()] == [1, 2, 3]  # fitted copies, epoch by epoch
    assert len(rec.epochs("begin")) == 3
    assert rec.calls[0][0] == "setup" and rec.calls[-1][0] == "teardown"
    assert rec.calls[-2][:3] == ("end", "MLPClassifier", "fit")


def test_keras_wrapper_epochs_and_stop(digits):
    X, y = digits
    from keras import layers, models

    def build():
        model = models.Sequential([layers.Input((64,)), layers.Dense(10, activation="softmax")])
        return model

    rec = Recorder(stop_after=2)
    est = KerasClassifier(model=build, loss="sparse_categorical_crossentropy", epochs=5)
    est.set_callbacks(rec).fit(X, y)
    assert len(rec.epochs()) == 2
    assert est.current_epoch == 2
    assert rec.calls[-1][0] == "teardown"


def test_grid_search_propagates_to_every_fit_through_a_pipeline(digits):
    X, y = digits
    rec = Propagated()
    pipe = make_pipeline(StandardScaler(), MLPClassifier((8,), max_iter=3, random_state=0))
    search = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-2]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # "does not support callbacks"
        _fit(search.set_callbacks(rec), X, y)
    mlp_fits = [c for c in rec.calls if c[:3] == ("begin", "MLPClassifier", "fit")]
    assert len(mlp_fits) == 5  # 2 candidates x 2 folds, and the refit
    assert len(rec.epochs()) == 5 * 3
    assert [c[0] for c in rec.calls].count("setup") == 1  # set up once, by the search


def test_keraskit_searches_train_fits_with_callbacks_themselves(digits):
    from keraskit.model_selection import GridSearchCV as FusingSearch

    X, y = digits
    rec = Propagated()
    search = FusingSearch(
        MLPClassifier((8,), max_iter=2, random_state=0), {"alpha": [0.1, 1]}, cv=2
    )
    _fit(search.set_callbacks(rec), X, y)
    assert search.n_fused_fits_ == 0
    assert len(rec.epochs()) == 5 * 2


def test_scoring_monitor_scores_every_epoch(digits):
    X, y = digits
    monitor = callback.ScoringMonitor(scoring="accuracy")
    est = _fit(MLPClassifier((8,), max_iter=4, random_state=0).set_callbacks(monitor), X, y)
    logs = monitor.get_logs().data_as_pandas
    epochs = logs[logs["task_name"] == "epoch"]
    assert len(epochs) == 4
    assert epochs["accuracy"].iloc[-1] == pytest.approx(est.score(X, y))


def test_a_failed_fit_still_tears_down_and_keeps_the_estimator(digits):
    X, y = digits
    rec = Recorder()
    est = _fit(MLPClassifier((8,), max_iter=2, random_state=0), X, y)
    before = est.predict_proba(X)
    X_bad = X.copy()
    X_bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        est.set_callbacks(rec).fit(X_bad, y)
    assert rec.calls[-1][0] == "teardown"
    assert not hasattr(est, "_callback_fit_ctx")
    np.testing.assert_array_equal(est.predict_proba(X), before)


def test_failed_fit_with_a_progress_bar_lets_the_interpreter_exit():
    # ProgressBar runs a non-daemon thread that only teardown stops
    code = textwrap.dedent(
        """
        import numpy as np
        from sklearn.callback import ProgressBar
        from keraskit import MLPClassifier
        est = MLPClassifier(max_iter=2).set_callbacks(ProgressBar())
        try:
            est.fit(np.ones((10, 3)), np.r_[np.zeros(5), np.full(5, np.nan)])
        except ValueError:
            print("refused")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "refused" in out.stdout, out.stderr[-2000:]


def test_copies_are_cheap_and_save_works_with_callbacks_set(digits, tmp_path, monkeypatch):
    from keraskit.estimators import _base

    X, y = digits
    est = _fit(MLPRegressor(hidden_layer_sizes=(8,), max_iter=2, random_state=0), X, y * 1.0)
    est.set_callbacks(callback.ProgressBar())
    monkeypatch.setattr(_base, "model_to_bytes", lambda model: pytest.fail("serialised"))
    twin = copy.copy(est)
    np.testing.assert_array_equal(twin.predict(X), est.predict(X))
    monkeypatch.undo()
    est.save(tmp_path / "est.keraskit")
    loaded = keraskit.load(tmp_path / "est.keraskit")
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    assert not hasattr(loaded, "_skl_callbacks")  # callbacks are objects: set them again


def test_autoencoder_epochs_are_tasks(digits):
    X, _ = digits
    rec = Recorder()
    _fit(AutoencoderTransformer(encoding_dim=2, max_iter=3, random_state=0).set_callbacks(rec), X)
    assert [c[3] for c in rec.epochs()] == [1, 2, 3]


def test_progress_bar_under_a_parallel_search(digits):
    X, y = digits
    search = GridSearchCV(
        MLPClassifier((8,), max_iter=2, random_state=0), {"alpha": [0.1, 1]}, cv=2, n_jobs=2
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        _fit(search.set_callbacks(callback.ProgressBar()), X, y)
    assert search.best_estimator_.n_iter_ == 2


def test_keras_wrapper_with_callbacks_runs_the_epochs_fit_asks_for(digits):
    X, y = digits
    from keras import layers, models

    def build():
        return models.Sequential([layers.Input((64,)), layers.Dense(10, activation="softmax")])

    rec = Recorder()
    est = KerasClassifier(model=build, loss="sparse_categorical_crossentropy", epochs=1)
    est.set_callbacks(rec).fit(X, y, epochs=3, verbose=0)  # more epochs than the parameter
    assert len(rec.epochs()) == 3 and est.current_epoch == 3


def test_an_lbfgs_stop_request_is_not_a_convergence_failure(digits):
    X, y = digits
    est = MLPClassifier((8,), solver="lbfgs", max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.set_callbacks(Recorder(stop_after=2)).fit(X, y)
    assert est.n_iter_ == 2
