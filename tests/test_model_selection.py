"""keraskit.model_selection: scikit-learn's search results, the networks trained together."""

import warnings

import numpy as np
import pytest
from sklearn import model_selection as sk
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from keraskit import AutoencoderTransformer, MLPClassifier, MLPRegressor
from keraskit import model_selection as kms
from keraskit.pipelines import make_tabular_pipeline


def n_iter(est, X, y):
    """A scorer that reports the fitted network's epochs (the last step of a pipeline's)."""
    return getattr(est, "steps", [[None, est]])[-1][1].n_iter_


SCORING = {"score": "accuracy", "n_iter": n_iter}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:450] / 16, y[:450]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def both(cls_name, est, grid, X, y, **kwargs):
    """The same search run by keraskit (fused) and by scikit-learn."""
    fused = getattr(kms, cls_name)(est, grid, **kwargs).fit(X, y)
    plain = getattr(sk, cls_name)(est, grid, **kwargs).fit(X, y)
    return fused, plain


def assert_same_results(fused, plain, atol=1e-6, metric="score"):
    a, b = fused.cv_results_, plain.cv_results_
    assert set(a) == set(b)
    np.testing.assert_allclose(a[f"mean_test_{metric}"], b[f"mean_test_{metric}"], atol=atol)
    np.testing.assert_array_equal(a[f"rank_test_{metric}"], b[f"rank_test_{metric}"])
    assert [p for p in a["params"]] == [p for p in b["params"]]
    if getattr(plain, "best_params_", None) is not None:
        assert fused.best_params_ == plain.best_params_
    for key in a:  # every member's epochs, split by split
        if key.startswith("split") and key.endswith("test_n_iter"):
            np.testing.assert_array_equal(a[key], b[key])


def test_grid_search_on_digits_equals_sklearns(digits):
    X, y = digits
    grid = {
        "hidden_layer_sizes": [(8,), (16,)],
        "alpha": [1e-4, 1e-1],
        "learning_rate_init": [1e-3, 1e-2],
    }
    est = MLPClassifier(max_iter=10, random_state=0)
    fused, plain = both("GridSearchCV", est, grid, X, y, cv=3, scoring=SCORING, refit="score")
    assert_same_results(fused, plain)
    assert fused.n_fused_fits_ == 24
    assert np.all(fused.cv_results_["mean_fit_time"] > 0)
    np.testing.assert_array_equal(fused.predict(X), plain.predict(X))  # the refit is lone


def test_float32_data_within_float32_tolerance(digits):
    X, y = digits
    grid = {"alpha": [1e-4, 1e-2], "solver": ["adam", "sgd"]}
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=8, random_state=0)
    fused, plain = both("GridSearchCV", est, grid, X.astype(np.float32), y, cv=3)
    assert_same_results(fused, plain, atol=1e-3)


def test_regression_with_early_stopping_and_sgd_equals_sklearns():
    X, y = make_regression(n_samples=150, n_features=6, noise=1.0, random_state=0)
    y = y / y.std()
    grid = {
        "solver": ["adam", "sgd"],
        "early_stopping": [False, True],
        "learning_rate": ["constant", "invscaling"],
    }
    est = MLPRegressor(hidden_layer_sizes=(8,), max_iter=12, random_state=0, n_iter_no_change=3)
    scoring = {"score": "r2", "n_iter": n_iter}
    fused, plain = both(
        "GridSearchCV",
        est,
        grid,
        X,
        y,
        cv=3,
        scoring=scoring,
        refit="score",
        return_train_score=True,
    )
    assert_same_results(fused, plain)
    np.testing.assert_allclose(
        fused.cv_results_["mean_train_score"], plain.cv_results_["mean_train_score"], atol=1e-6
    )
    assert fused.n_fused_fits_ == 24


def test_randomized_search_and_what_cannot_be_fused(digits):
    X, y = digits
    dists = {"solver": ["adam", "lbfgs", "sgd"], "alpha": [1e-4, 1e-3, 1e-2, 1e-1]}
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=6, random_state=0)
    kwargs = dict(n_iter=6, random_state=1, cv=2, scoring=SCORING, refit="score")
    fused, plain = both("RandomizedSearchCV", est, dists, X, y, **kwargs)
    assert_same_results(fused, plain)
    lbfgs = sum(p["solver"] == "lbfgs" for p in fused.cv_results_["params"])
    assert fused.n_fused_fits_ == 2 * (6 - lbfgs)  # lbfgs trains alone, in the search


def test_pipeline_steps_fitted_once_per_split_and_setting(digits, monkeypatch):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=6, random_state=0))
    grid = {"standardscaler__with_std": [True, False], "mlpclassifier__alpha": [1e-4, 1e-2]}
    calls = []
    original = StandardScaler.fit

    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StandardScaler, "fit", counted)
    fused = kms.GridSearchCV(pipe, grid, cv=2, scoring=SCORING, refit="score").fit(X, y)
    fused_calls = len(calls)
    plain = sk.GridSearchCV(pipe, grid, cv=2, scoring=SCORING, refit="score").fit(X, y)
    assert_same_results(fused, plain)
    assert fused.n_fused_fits_ == 8
    # planning fits the scaler once per split and setting (2 x 2); scikit-learn's own loop
    # then fits it for each of its 8 fits, and once more for the refit
    assert fused_calls == len(calls) - fused_calls + 4


def test_tabular_pipeline_search_is_fused():
    import pandas as pd

    rng = np.random.RandomState(0)
    df = pd.DataFrame({"a": rng.rand(120), "b": rng.choice(["x", "y", "z"], 120)})
    y = (df["a"] > 0.5).astype(int).to_numpy()
    pipe = make_tabular_pipeline(MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0))
    last = pipe.steps[-1][0]
    grid = {f"{last}__alpha": [1e-4, 1e-2]}
    fused, plain = both("GridSearchCV", pipe, grid, df, y, cv=2)
    assert_same_results(fused, plain)
    assert fused.n_fused_fits_ == 4


def test_a_failing_member_gets_error_score_alone(digits):
    X, y = digits
    grid = {"learning_rate_init": [1e-3, 1e100]}  # the second's first epoch is not finite
    est = MLPClassifier((4,), solver="sgd", batch_size=50, max_iter=3, random_state=0)
    with pytest.warns(FitFailedWarning, match="non-finite"):
        fused, plain = both("GridSearchCV", est, grid, X, y, cv=2, refit=False)
    scores = fused.cv_results_["mean_test_score"]
    assert np.isfinite(scores[0]) and np.isnan(scores[1])
    assert_same_results(fused, plain)
    with pytest.raises(ValueError, match="non-finite"):
        kms.GridSearchCV(est, grid, cv=2, error_score="raise").fit(X, y)


def test_searches_over_other_estimators_are_sklearns(digits):
    from sklearn.linear_model import LogisticRegression

    X, y = digits
    grid = {"C": [0.1, 1.0]}
    fused, plain = both("GridSearchCV", LogisticRegression(max_iter=200), grid, X, y, cv=2)
    assert_same_results(fused, plain)
    assert not hasattr(fused, "n_fused_fits_")
    scores = kms.cross_val_score(LogisticRegression(max_iter=200), X, y, cv=2)
    np.testing.assert_allclose(
        scores, sk.cross_val_score(LogisticRegression(max_iter=200), X, y, cv=2)
    )


def test_fuse_false_is_sklearns_search(digits):
    X, y = digits
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    off = kms.GridSearchCV(est, {"alpha": [1e-4, 1e-2]}, cv=2, fuse=False).fit(X, y)
    on = kms.GridSearchCV(est, {"alpha": [1e-4, 1e-2]}, cv=2).fit(X, y)
    assert not hasattr(off, "n_fused_fits_") and on.n_fused_fits_ == 4
    assert_same_results(on, off)
    assert "fuse" in off.get_params()


def test_cross_validate_and_cross_val_score_equal_sklearns(digits):
    X, y = digits
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=6, random_state=0)
    sw = np.random.RandomState(0).rand(len(y))
    ours = kms.cross_validate(est, X, y, cv=4, return_estimator=True, params={"sample_weight": sw})
    theirs = sk.cross_validate(est, X, y, cv=4, return_estimator=True, params={"sample_weight": sw})
    np.testing.assert_allclose(ours["test_score"], theirs["test_score"], atol=1e-6)
    assert np.all(ours["fit_time"] > 0)
    for a, b in zip(ours["estimator"], theirs["estimator"], strict=True):
        assert a.n_iter_ == b.n_iter_
        np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-10)
        np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-10)
    scores = kms.cross_val_score(est, X, y, cv=3, scoring="neg_log_loss")
    np.testing.assert_allclose(
        scores, sk.cross_val_score(est, X, y, cv=3, scoring="neg_log_loss"), atol=1e-8
    )


def test_autoencoder_search_equals_sklearns():
    X = np.random.RandomState(0).rand(90, 6)
    est = AutoencoderTransformer(2, (4,), max_iter=5, random_state=0)
    fused, plain = both("GridSearchCV", est, {"alpha": [1e-4, 1e-1]}, X, None, cv=3)
    assert_same_results(fused, plain)
    assert fused.n_fused_fits_ == 6


def test_splitters_and_random_states_that_change_between_calls(digits):
    X, y = digits
    est = MLPClassifier((4,), max_iter=3, random_state=np.random.RandomState(0))
    grid = {"alpha": [1e-4, 1e-2]}
    fused, plain = both("GridSearchCV", est, grid, X, y, cv=2)
    assert_same_results(fused, plain)
    assert fused.n_fused_fits_ == 4  # keyed before planning advanced the RandomState
    shuffled = sk.ShuffleSplit(n_splits=2, test_size=0.3)  # random_state=None
    search = kms.GridSearchCV(est.set_params(random_state=0), grid, cv=shuffled).fit(X, y)
    assert search.n_fused_fits_ == 4  # the splits trained on are the splits scored


def test_a_fit_whose_parameters_cannot_be_hashed_trains_alone(digits):
    from keras.callbacks import LambdaCallback

    X, y = digits
    seen = []
    callback = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    grid = {"callbacks": [None, [callback]]}
    est = MLPClassifier((4,), max_iter=2, random_state=0)
    search = kms.GridSearchCV(est, grid, cv=2, refit=False).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.n_fused_fits_ == 2 and seen  # the callback's fits ran alone, with it


@pytest.mark.parametrize(
    "grid",
    [
        {  # the card's first grid: 2 x 2 x 2 x 2 candidates, 48 fits
            "hidden_layer_sizes": [(8,), (12,)],
            "alpha": [1e-4, 1e-2],
            "dropout": [0.0, 0.2],
            "early_stopping": [False, True],
        },
        {  # the second: sizes x alpha x l1 x dropout x solver x early stopping, 64 candidates
            "hidden_layer_sizes": [(8,), (12,)],
            "alpha": [1e-4, 1e-2],
            "l1": [0.0, 1e-3],
            "dropout": [0.0, 0.2],
            "solver": ["adam", "adamw", "sgd"],
            "early_stopping": [False, True],
        },
    ],
    ids=["16-candidates", "64-candidates"],
)
def test_every_fit_of_the_cards_grids_is_fused_and_equals_sklearns(digits, grid):
    X, y = digits
    X, y = X[:240], y[:240]
    cv = 3 if len(grid) < 5 else 2  # the card's 48 fits; the second grid's 192 fits as 128
    est = MLPClassifier(max_iter=3, batch_size=60, random_state=0, n_iter_no_change=1)
    fused, plain = both("GridSearchCV", est, grid, X, y, cv=cv, scoring=SCORING, refit="score")
    assert_same_results(fused, plain)
    assert fused.n_fused_fits_ == cv * len(fused.cv_results_["params"])
