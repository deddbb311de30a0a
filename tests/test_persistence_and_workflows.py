"""Pickle/joblib round trips in a fresh process, clone, deepcopy, and sklearn workflows."""

import copy
import pickle
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from keraskit import MLPClassifier, MLPRegressor


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(
            (16,), dropout=0.2, batch_normalization=True, max_iter=5, random_state=0
        )
        reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
        return clf.fit(X, y), reg.fit(X, y.astype(float))


def test_pickle_and_joblib_predict_bit_identically_in_a_fresh_process(fitted, data, tmp_path):
    clf, reg = fitted
    X, _ = data
    np.save(tmp_path / "X.npy", X)
    with open(tmp_path / "clf.pkl", "wb") as f:
        pickle.dump(clf, f)
    joblib.dump(reg, tmp_path / "reg.joblib")
    script = f"""
import pickle, joblib, numpy as np
X = np.load({str(tmp_path / "X.npy")!r})
with open({str(tmp_path / "clf.pkl")!r}, "rb") as f:
    clf = pickle.load(f)
reg = joblib.load({str(tmp_path / "reg.joblib")!r})
np.save({str(tmp_path / "proba.npy")!r}, clf.predict_proba(X))
np.save({str(tmp_path / "reg.npy")!r}, reg.predict(X))
"""
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    np.testing.assert_array_equal(np.load(tmp_path / "proba.npy"), clf.predict_proba(X))
    np.testing.assert_array_equal(np.load(tmp_path / "reg.npy"), reg.predict(X))


def test_pickled_state_holds_a_keras_archive_not_live_objects(fitted):
    clf, _ = fitted
    state = clf.__getstate__()
    assert state["_keras_bytes"][:2] == b"PK"  # a .keras zip archive
    assert "_runtime" not in state  # no live TensorFlow objects
    # plain arrays ride along: the archive does not keep seed-generator states
    assert all(isinstance(a, np.ndarray) for part in state["_weights"] for a in part)
    restored = pickle.loads(pickle.dumps(clf))
    assert restored.get_params() == clf.get_params()
    assert restored.loss_curve_ == clf.loss_curve_


def test_refuses_state_from_a_newer_format(fitted):
    clf, _ = fitted
    state = clf.__getstate__()
    state["_keraskit_format"] = 999
    blank = MLPClassifier.__new__(MLPClassifier)
    with pytest.raises(ValueError, match="newer keraskit"):
        blank.__setstate__(state)


def test_clone_and_deepcopy(fitted, data):
    clf, _ = fitted
    X, _ = data
    cloned = clone(clf)
    assert not hasattr(cloned, "n_iter_")
    assert cloned.get_params() == clf.get_params()
    copied = copy.deepcopy(clf)
    np.testing.assert_array_equal(copied.predict_proba(X), clf.predict_proba(X))


def test_grid_search_and_cross_val_score(data):
    X, y = data
    pipe = make_pipeline(
        StandardScaler(), MLPClassifier((16,), learning_rate_init=0.01, max_iter=30, random_state=0)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(pipe, X, y, cv=3)
        search = GridSearchCV(
            pipe,
            {
                "mlpclassifier__alpha": [1e-4, 1e-1],
                "mlpclassifier__hidden_layer_sizes": [(8,), (16,)],
            },
            cv=2,
        ).fit(X, y)
    assert scores.mean() > 0.8
    assert len(search.cv_results_["mean_test_score"]) == 4
    assert search.best_estimator_.predict(X).shape == (len(X),)


def test_default_classifier_matches_sklearn_accuracy_on_digits():
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier as SkMLP

    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0, stratify=y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifier(random_state=0).fit(X_tr, y_tr).score(X_te, y_te)
        theirs = SkMLP(random_state=0).fit(X_tr, y_tr).score(X_te, y_te)
    assert ours >= theirs - 0.01, (ours, theirs)


def test_same_random_state_starts_from_sklearns_weights(data):
    """Same initialisation, shuffling and loss as sklearn: the first epoch's loss agrees."""
    from sklearn.neural_network import MLPClassifier as SkMLP

    X, y = data
    kw = dict(hidden_layer_sizes=(16,), solver="sgd", momentum=0.0, max_iter=3, random_state=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifier(**kw).fit(X, y)
        theirs = SkMLP(**kw).fit(X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    for a, b in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
    ):
        np.testing.assert_allclose(a, b, atol=1e-9)
