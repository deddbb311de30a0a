"""pandas workflows: mixed DataFrames end to end, feature names, history_, plots, verbose."""

import pickle
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from _estimators import cases, fit
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score

from keraskit import MLPClassifier, MLPRegressor, plot_history
from keraskit.pipelines import make_tabular_pipeline

matplotlib.use("Agg")


def mixed_frame(n=240, seed=0):
    """Numbers, nullable dtypes, strings, categories and missing values; a string target."""
    rng = np.random.RandomState(seed)
    df = pd.DataFrame(
        {
            "age": pd.array(rng.randint(18, 80, n), dtype="Int64"),
            "income": pd.array(rng.normal(50, 10, n), dtype="Float64"),
            "member": pd.array(rng.rand(n) > 0.5, dtype="boolean"),
            "city": pd.array(rng.choice(["paris", "rome", "oslo"], n), dtype="string"),
            "plan": pd.Categorical(rng.choice(["basic", "pro"], n)),
            "note": rng.choice(["x", "y", None], n).astype(object),
            "score": rng.rand(n),
        }
    )
    signal = (df["score"] > 0.5).to_numpy() ^ (df["city"] == "rome").to_numpy(dtype=bool)
    for column in ["age", "income", "member", "city"]:
        df.loc[rng.rand(n) < 0.1, column] = pd.NA
    df.loc[rng.rand(n) < 0.1, "plan"] = np.nan
    return df, pd.Series(np.where(signal, "churn", "stay"), name="target")


def test_mixed_dataframe_end_to_end():
    df, y = mixed_frame()
    pipe = make_tabular_pipeline(
        MLPClassifier((32,), learning_rate_init=0.01, max_iter=80, random_state=0)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(df, y)
        assert set(pipe.predict(df)) <= {"churn", "stay"}
        assert pipe.predict_proba(df).shape == (len(df), 2)
        assert pipe.score(df, y) > 0.8
        unseen = df.head(3).copy()
        unseen["city"] = pd.array(["berlin", None, "oslo"], dtype="string")  # unknown category
        assert pipe.predict(unseen).shape == (3,)
        assert cross_val_score(pipe, df, y, cv=3).mean() > 0.6
        search = GridSearchCV(
            pipe,
            {"estimator__alpha": [1e-4, 1e-1], "estimator__hidden_layer_sizes": [(8,), (32,)]},
            cv=2,
        )
        search.fit(df, y)
    assert set(search.best_params_) == {"estimator__alpha", "estimator__hidden_layer_sizes"}
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict_proba(df), pipe.predict_proba(df))
    frame = clone(pipe)[:-1].set_output(transform="pandas").fit_transform(df, y)
    assert {"age", "score", "city_rome", "plan_pro"} <= set(frame.columns)


def test_explicit_columns_and_regression():
    df, _ = mixed_frame()
    target = df["score"] * 3
    pipe = make_tabular_pipeline(
        MLPRegressor(
            hidden_layer_sizes=(16,), max_iter=50, learning_rate_init=0.01, random_state=0
        ),
        numeric=["score", "income"],
        categorical=["city"],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(df, target)
    assert pipe[0].get_feature_names_out().tolist() == [
        "score",
        "income",
        "city_oslo",
        "city_paris",
        "city_rome",
    ]
    assert pipe.score(df, target) > 0.9


def test_numeric_dataframes_keep_feature_names_and_refuse_reordered_columns():
    rng = np.random.RandomState(0)
    df = pd.DataFrame(rng.rand(60, 3), columns=["a", "b", "c"])
    y = (df["a"] > 0.5).astype(int)
    est = MLPClassifier((4,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(df, y)
    assert est.feature_names_in_.tolist() == ["a", "b", "c"]
    with pytest.raises(ValueError, match="feature names should match"):
        est.predict(df[["c", "b", "a"]])


@pytest.mark.parametrize("case", cases(), ids=[c[0] for c in cases()])
def test_every_estimator_has_a_history_frame_and_plots_it(case):
    _, est, X, y = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit(est, X, y)
    history = est.history_
    assert isinstance(history, pd.DataFrame) and len(history) == est.n_iter_
    assert {"loss", "learning_rate"} <= set(history.columns)
    ax = plot_history(est)
    assert len(ax.get_lines()) >= 1
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), history["loss"])


def test_plot_history_shows_validation_curves_and_refuses_unfitted():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    est = MLPClassifier((8,), early_stopping=True, max_iter=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X[:300] / 16, y[:300])
    ax = plot_history(est)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["training loss", "validation loss"]
    assert ax.get_legend() is not None and len(ax.get_legend().get_texts()) == 3
    with pytest.raises(ValueError, match="no history_"):
        plot_history(MLPClassifier())


def test_verbose_levels(capsys):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    cases = [
        (dict(verbose=0), ""),
        (dict(verbose=1), "Iteration 2, loss"),
        (dict(verbose=True), "Iteration 2, loss"),
        (dict(verbose=2), "Iteration 2, loss"),  # sklearn's lines for every verbose value
        (dict(verbose=10), "Iteration 2, loss"),
        (dict(progress_bar=True), "epoch 2/2"),  # the bar has a switch of its own
    ]
    for params, expected in cases:
        est = MLPClassifier((4,), max_iter=2, random_state=0, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X[:200] / 16, y[:200])
        out = capsys.readouterr().out
        assert (expected in out) if expected else out == ""
        if "progress_bar" in params:
            assert "loss" in out and "Iteration" not in out
