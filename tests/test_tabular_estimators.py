"""TabularClassifier and TabularRegressor: frames as they come, the pack, the contract."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

import keraskit
from keraskit import TabularClassifier, TabularRegressor
from keraskit.estimators import tabular

#: Small packs keep the checks' ~100 fits fast; the rest is default.
SMALL = dict(pack_size=2, width=16, max_epochs=30)


def _sample_weight_equivalence_reason(estimator):
    return {
        "check_sample_weight_equivalence_on_dense_data": (
            "the validation split draws rows: a row repeated twice can land on both sides "
            "of it, a row of weight 2 on one; the encoding's quantiles count rows too"
        )
    }


@parametrize_with_checks(
    [TabularClassifier(**SMALL), TabularRegressor(**SMALL)],
    expected_failed_checks=_sample_weight_equivalence_reason,
    xfail_strict=True,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def _frame(n=120, seed=0):
    """Every dtype the estimators read, with missing values in each."""
    rng = np.random.RandomState(seed)
    x = rng.normal(size=n)
    hour = rng.randint(0, 24, size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    frame = pd.DataFrame({
        "x": x,
        "hour": pd.array(hour, dtype="Int64"),
        "ratio": pd.array(rng.uniform(size=n), dtype="Float64"),
        "flag": pd.array(rng.rand(n) > 0.5, dtype="boolean"),
        "color": pd.array(color, dtype="string"),
        "shape": pd.Series(rng.choice(["o", "x"], size=n), dtype=object),
        "size": pd.Categorical(rng.choice(["S", "M", "L"], size=n)),
    })  # fmt: skip
    for column in frame.columns:
        frame.loc[rng.rand(n) < 0.1, column] = pd.NA
    signal = x + np.sin(hour / 24 * 2 * np.pi) + (color == "red")
    return frame, signal


def test_frames_with_every_dtype_and_missing_values_train_and_predict():
    X, signal = _frame()
    y = np.where(signal > np.median(signal), "high", "low")
    clf = TabularClassifier(**SMALL, random_state=0).fit(X, y)
    assert list(clf.feature_names_in_) == list(X.columns)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.allclose(proba.sum(axis=1), 1)
    assert clf.score(X, y) > 0.7
    reg = TabularRegressor(**SMALL, random_state=0).fit(X, signal * 100 + 5000)
    assert reg.score(X, signal * 100 + 5000) > 0.3  # standardized targets: raw units work


def test_unseen_categories_and_all_missing_columns_at_predict_time():
    X, signal = _frame()
    reg = TabularRegressor(**SMALL, random_state=0).fit(X, signal)
    odd = X.head(5).copy()
    odd["color"] = pd.array(["purple"] * 5, dtype="string")
    odd["size"] = pd.Categorical(["XXL"] * 5)
    odd["x"] = np.nan
    odd["hour"] = pd.array([pd.NA] * 5, dtype="Int64")
    assert np.isfinite(reg.predict(odd)).all()


def test_column_names_and_order_are_checked_as_scikit_learn_checks_them():
    X, signal = _frame()
    reg = TabularRegressor(**SMALL, random_state=0).fit(X, signal)
    with pytest.raises(ValueError, match="same order"):
        reg.predict(X[X.columns[::-1]])
    with pytest.raises(ValueError, match="missing"):
        reg.predict(X.drop(columns="x"))


def test_a_date_column_is_refused_with_a_clear_type_error():
    X, signal = _frame()
    X["when"] = pd.Timestamp("2024-01-01")
    with pytest.raises(TypeError, match="'when' \\(datetime64"):
        TabularRegressor(**SMALL).fit(X, signal)


def test_a_failed_fit_leaves_the_fitted_estimator_as_it_was():
    X, signal = _frame()
    reg = TabularRegressor(**SMALL, random_state=0).fit(X, signal)
    before = reg.predict(X)
    with pytest.raises(ValueError):
        reg.fit(X, signal[:10])
    np.testing.assert_array_equal(reg.predict(X), before)


def test_random_state_reproduces_the_pack_bit_for_bit():
    X, signal = _frame()
    y = signal > 0
    a = TabularClassifier(**SMALL, random_state=3).fit(X, y).predict_proba(X)
    b = TabularClassifier(**SMALL, random_state=3).fit(X, y).predict_proba(X)
    c = TabularClassifier(**SMALL, random_state=4).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_save_load_and_pickle_predict_the_same(tmp_path):
    X, signal = _frame()
    clf = TabularClassifier(**SMALL, random_state=0).fit(X, signal > 0)
    clf.save(tmp_path / "clf.keraskit")
    loaded = keraskit.load(tmp_path / "clf.keraskit")
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.feature_names_in_, clf.feature_names_in_)
    unpickled = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(unpickled.predict_proba(X), clf.predict_proba(X))


def test_the_pack_is_two_views_blended_on_validation_rows():
    X, signal = _frame()
    reg = TabularRegressor(pack_size=4, width=16, max_epochs=30, random_state=0)
    reg.fit(X, signal)
    assert len(reg.pack_) == 4
    weights = [m["blend_weight"] for m in reg.pack_]
    assert np.isclose(sum(weights), 1) and min(weights) >= 0
    assert all(1 <= m["best_epoch"] <= m["n_iter"] for m in reg.pack_)
    assert len({m["learning_rate_init"] for m in reg.pack_}) == 4  # drawn per member
    assert reg.n_iter_ == max(m["n_iter"] for m in reg.pack_) == len(reg.history_)
    mean = TabularRegressor(pack_size=3, width=16, max_epochs=30, blend="mean", random_state=0)
    np.testing.assert_allclose([m["blend_weight"] for m in mean.fit(X, signal).pack_], [1 / 3] * 3)
    assert [m["bins"] for m in mean.pack_] == [True, False, True]  # in member order


def test_user_validation_set_replaces_the_split_and_the_time_budget_stops_the_pack(
    monkeypatch,
):
    X, signal = _frame(200)
    seen = []
    plan_fit = keraskit.MLPRegressor.plan_fit

    def spy(member, X_, y_, sw_=None, **kw):
        plan = plan_fit(member, X_, y_, sw_, **kw)
        seen.append((len(X_), plan.data.n_train, len(plan.data.Y_val)))
        return plan

    monkeypatch.setattr(keraskit.MLPRegressor, "plan_fit", spy)
    reg = TabularRegressor(**SMALL, random_state=0)
    reg.fit(X[:150], signal[:150], X_val=X[150:], y_val=signal[150:])
    assert seen == [(150, 150, 50)] * 2  # every row trains; judged on X_val
    assert all(np.isfinite(m["validation_loss"]) for m in reg.pack_)
    seen.clear()
    reg.fit(X[:150], signal[:150])
    assert seen == [(150, 120, 30)] * 2  # each member holds out its own 20%
    quick = TabularRegressor(**{**SMALL, "max_epochs": 500}, time_budget=1e-6).fit(X, signal)
    assert quick.n_iter_ == 1
    with pytest.raises(ValueError, match="together"):
        reg.fit(X, signal, X_val=X)


def test_sample_and_class_weights_change_the_fit():
    X, signal = _frame()
    y = signal > 0.5
    base = TabularClassifier(**SMALL, random_state=0).fit(X, y).predict_proba(X)
    sw = np.where(y, 5.0, 1.0)
    weighted = TabularClassifier(**SMALL, random_state=0).fit(X, y, sample_weight=sw)
    balanced = TabularClassifier(**SMALL, class_weight="balanced", random_state=0).fit(X, y)
    assert weighted.predict_proba(X)[:, 1].mean() > base[:, 1].mean()
    assert not np.array_equal(balanced.predict_proba(X), base)


def test_pipelines_searches_and_cross_validation():
    X, signal = _frame()
    pipe = make_pipeline(FunctionTransformer(lambda f: f.drop(columns="ratio")),
                         TabularRegressor(**SMALL, random_state=0))  # fmt: skip
    scores = cross_validate(pipe, X, signal, cv=2)["test_score"]
    assert np.isfinite(scores).all()
    search = GridSearchCV(TabularRegressor(**SMALL, random_state=0), {"width": [8, 16]}, cv=2)
    assert search.fit(X, signal).best_params_["width"] in (8, 16)


def test_multilabel_targets_are_refused_in_scikit_learns_words():
    X, signal = _frame()
    y = np.column_stack([signal > 0, signal > 1]).astype(int)
    with pytest.raises(ValueError, match="1d array"):
        TabularClassifier(**SMALL).fit(X, y)


def test_the_default_pack_follows_the_device(monkeypatch):
    from keraskit._tensorflow import tf

    assert tabular._default_pack_size() == tabular.PACK_SIZES["CPU"]
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: ["GPU:0"])
    assert tabular._default_pack_size() == tabular.PACK_SIZES["GPU"]


def test_one_row_goes_through_numpy(monkeypatch):
    from keraskit._engine import packs

    X, signal = _frame()
    reg = TabularRegressor(**SMALL, random_state=0).fit(X, signal)
    monkeypatch.setattr(packs, "_tf_forward", None)  # NumPy only: no TensorFlow call
    assert reg.predict(X.head(1)).shape == (1,)


def test_large_inputs_through_tensorflow_agree_with_numpy(monkeypatch):
    from keraskit._engine import packs

    X, signal = _frame()
    reg = TabularRegressor(**SMALL, random_state=0).fit(X, signal)
    small = reg.predict(X)
    monkeypatch.setattr(packs, "NUMPY_BUDGET", 0)
    np.testing.assert_allclose(reg.predict(X), small, rtol=1e-4, atol=1e-5)


def test_scikit_learns_callbacks_hear_each_pack_epoch_once_and_may_stop_it():
    callback = pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9")

    class StopAfterThree:
        def __init__(self):
            self.epochs = 0

        def setup(self, estimator, context):
            pass

        def teardown(self, estimator, context):
            pass

        def on_fit_task_begin(self, estimator, context):
            pass

        def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
            if context.task_name == "epoch":
                self.epochs += 1
                return self.epochs == 3
            return False

    assert callback is not None
    X, signal = _frame()
    stopper = StopAfterThree()
    reg = TabularRegressor(**{**SMALL, "pack_size": 4, "max_epochs": 50}, random_state=0)
    reg.set_callbacks(stopper).fit(X, signal)
    assert stopper.epochs == 3
    assert [m["n_iter"] for m in reg.pack_] == [3] * 4  # both groups end where it asked


def test_the_progress_bar_counts_pack_epochs(capsys):
    X, signal = _frame()
    TabularRegressor(**SMALL, progress_bar=True, random_state=0).fit(X, signal)
    assert "pack epoch" in capsys.readouterr().out


def test_infinity_in_a_frame_is_refused_as_scikit_learn_refuses_it():
    X, signal = _frame()
    X.loc[3, "x"] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        TabularRegressor(**SMALL).fit(X, signal)


@pytest.mark.parametrize("activation", ["logistic", "identity", "tanh"])
def test_a_stacked_pack_predicts_as_its_members_do(activation):
    from keraskit._engine import packs

    rng = np.random.RandomState(0)
    X = rng.rand(30, 3).astype("float32")
    members = [
        keraskit.MLPRegressor(
            hidden_layer_sizes=(4,), activation=activation, max_iter=5, random_state=s
        ).fit(X, X.sum(axis=1))
        for s in (0, 1)
    ]
    kernels, biases = packs.stack_dense(members[0]._arch, [m._weights for m in members])
    out = packs.pack_forward(members[0]._arch, kernels, biases, X)
    for j, member in enumerate(members):
        np.testing.assert_allclose(out[j, :, 0], member.predict(X), rtol=1e-5, atol=1e-6)
