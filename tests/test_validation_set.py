"""A fixed validation set (X_val, y_val, sample_weight_val) and metadata routing to fit."""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from keraskit import AutoencoderTransformer, CNNClassifier, MLPClassifier, MLPRegressor


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    X, y = X[:400] / 16.0, y[:400]
    return X[:300], y[:300], X[300:], y[300:]


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*args, **kwargs)


def _mlp(**kw):
    params = dict(hidden_layer_sizes=(16,), max_iter=8, random_state=0, alpha=0.0)
    return MLPClassifier(**{**params, **kw})


def test_x_val_replaces_the_split_and_drives_early_stopping(data):
    Xt, yt, Xv, yv = data
    est = _quiet(_mlp(early_stopping=True, n_iter_no_change=50).fit, Xt, yt, X_val=Xv, y_val=yv)
    assert est.t_ == est.n_iter_ * len(Xt)  # every training row, no split taken
    assert len(est.validation_scores_) == len(est.validation_loss_curve_) == est.n_iter_
    # the best epoch's weights are kept, and the score is on the given rows
    assert est.best_validation_score_ == pytest.approx(est.score(Xv, yv))
    assert est.best_validation_score_ == max(est.validation_scores_)


def test_x_val_loss_is_recorded_every_epoch_without_early_stopping(data):
    Xt, yt, Xv, yv = data
    est = _quiet(_mlp().fit, Xt, yt, X_val=Xv, y_val=yv)
    assert est.validation_scores_ is None  # sklearn's attribute: early stopping only
    assert len(est.validation_loss_curve_) == est.n_iter_ == 8
    np.testing.assert_allclose(est.validation_loss_curve_, est.history_["val_loss"])
    # the last epoch's validation loss is the log-loss of the fitted network on X_val
    expected = log_loss(yv, est.predict_proba(Xv), labels=est.classes_)
    assert est.validation_loss_curve_[-1] == pytest.approx(expected, rel=1e-6)
    assert _quiet(_mlp().fit, Xt, yt).validation_loss_curve_ is None


def test_sample_weight_val_weights_the_validation_loss(data):
    Xt, yt, Xv, yv = data
    w = np.random.RandomState(0).uniform(0, 2, len(yv))
    est = _quiet(_mlp(max_iter=3).fit, Xt, yt, X_val=Xv, y_val=yv, sample_weight_val=w)
    expected = log_loss(yv, est.predict_proba(Xv), sample_weight=w, labels=est.classes_)
    assert est.validation_loss_curve_[-1] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(X_val="X"), "X_val was given without y_val"),
        (dict(y_val="y"), "y_val given without X_val"),
        (dict(sample_weight_val="w"), "sample_weight_val given without X_val"),
        (dict(X_val="X5", y_val="y"), "X_val does not match X: X has 5 features"),
        (dict(X_val="X", y_val="y+20"), r"y_val has classes \[20, "),
        (dict(X_val="X", y_val="y[:5]"), "X_val and y_val have different numbers of samples"),
    ],
)
def test_bad_validation_sets_get_clear_errors_and_leave_the_estimator_alone(data, kwargs, message):
    Xt, yt, Xv, yv = data
    values = {"X": Xv, "X5": Xv[:, :5], "y": yv, "y+20": yv + 20, "y[:5]": yv[:5], "w": yv}
    est = _quiet(_mlp(max_iter=2).fit, Xt, yt)
    before = est.predict_proba(Xv)
    with pytest.raises(ValueError, match=message):
        est.fit(Xt, yt, **{k: values[v] for k, v in kwargs.items()})
    np.testing.assert_array_equal(est.predict_proba(Xv), before)


def test_lbfgs_refuses_x_val(data):
    Xt, yt, Xv, yv = data
    with pytest.raises(ValueError, match="solver='lbfgs' trains in one full-batch run"):
        _mlp(solver="lbfgs").fit(Xt, yt, X_val=Xv, y_val=yv)


def test_regressor_and_autoencoder_take_a_validation_set(data):
    Xt, yt, Xv, yv = data
    reg = _quiet(
        MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit,
        Xt,
        yt,
        X_val=Xv,
        y_val=yv,
    )
    assert len(reg.validation_loss_curve_) == 3
    with pytest.raises(ValueError, match="y_val has 2 outputs per sample; y has 1"):
        MLPRegressor(hidden_layer_sizes=(8,), max_iter=1).fit(Xt, yt, X_val=Xv, y_val=np.c_[yv, yv])
    ae = AutoencoderTransformer(encoding_dim=4, max_iter=3, random_state=0, early_stopping=True)
    ae = _quiet(ae.fit, Xt, X_val=Xv)
    assert ae.t_ == 3 * len(Xt)
    assert ae.best_validation_score_ == pytest.approx(ae.score(Xv))  # -MSE on X_val


def test_cnn_checks_the_validation_images_shape(data):
    Xt, yt, Xv, yv = data
    images = Xt.reshape(-1, 8, 8)
    cnn = CNNClassifier(max_iter=2, random_state=0)
    cnn = _quiet(cnn.fit, images, yt, X_val=Xv.reshape(-1, 8, 8), y_val=yv)
    assert len(cnn.validation_loss_curve_) == 2
    with pytest.raises(ValueError, match="X_val does not match X"):
        cnn.fit(images, yt, X_val=Xv.reshape(-1, 4, 16), y_val=yv)


# --------------------------------------------------------------------- metadata routing
def test_grid_search_routes_x_val_to_every_fit(data, routing):
    Xt, yt, Xv, yv = data
    est = _mlp(early_stopping=True, n_iter_no_change=50).set_fit_request(X_val=True, y_val=True)
    search = _quiet(GridSearchCV(est, {"alpha": [0.0, 1e-2]}, cv=2).fit, Xt, yt, X_val=Xv, y_val=yv)
    best = search.best_estimator_
    assert best.t_ == best.n_iter_ * len(Xt)
    assert best.best_validation_score_ == pytest.approx(best.score(Xv, yv))
    for fold in cross_validate(
        est, Xt, yt, cv=2, params={"X_val": Xv, "y_val": yv}, return_estimator=True
    )["estimator"]:
        assert fold.best_validation_score_ == pytest.approx(fold.score(Xv, yv))


def test_pipeline_transforms_x_val_like_x(data, routing):
    Xt, yt, Xv, yv = data
    net = _mlp(early_stopping=True, n_iter_no_change=50).set_fit_request(X_val=True, y_val=True)
    pipe = Pipeline([("scale", StandardScaler()), ("net", net)], transform_input=["X_val"])
    pipe = _quiet(pipe.fit, Xt * 16, yt, X_val=Xv * 16, y_val=yv)
    # the network was validated on scaled rows: its best score is the pipeline's on X_val
    assert pipe[-1].best_validation_score_ == pytest.approx(pipe.score(Xv * 16, yv))


def test_sample_weight_routing_recipe(data, routing):
    Xt, yt, _, _ = data
    w = np.random.RandomState(1).uniform(0.1, 2, len(yt))
    est = _mlp(max_iter=2).set_fit_request(sample_weight=True).set_score_request(sample_weight=True)
    cv = KFold(2)
    fitted = cross_validate(est, Xt, yt, cv=cv, params={"sample_weight": w}, return_estimator=True)[
        "estimator"
    ]
    train, _ = next(cv.split(Xt))
    alone = _quiet(_mlp(max_iter=2).fit, Xt[train], yt[train], sample_weight=w[train])
    unweighted = _quiet(_mlp(max_iter=2).fit, Xt[train], yt[train])
    np.testing.assert_allclose(fitted[0].coefs_[0], alone.coefs_[0])
    assert not np.allclose(unweighted.coefs_[0], alone.coefs_[0])
    search = GridSearchCV(est, {"alpha": [0.0, 1e-2]}, cv=cv)
    _quiet(search.fit, Xt, yt, sample_weight=w)  # fit and score both receive the weights
    assert np.isfinite(search.best_score_)


def test_plot_history_draws_the_validation_loss(data):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from keraskit import plot_history

    Xt, yt, Xv, yv = data
    est = _quiet(_mlp(max_iter=3).fit, Xt, yt, X_val=Xv, y_val=yv)
    ax = plot_history(est)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["training loss", "validation loss"]
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), est.validation_loss_curve_)
    matplotlib.pyplot.close("all")


def test_without_routing_searches_pass_x_val_to_every_fit(data):
    from keraskit.model_selection import GridSearchCV as FusingSearch

    Xt, yt, Xv, yv = data
    est = _mlp(early_stopping=True, n_iter_no_change=50)
    for cls in (GridSearchCV, FusingSearch):
        search = _quiet(cls(est, {"alpha": [0.0, 1e-2]}, cv=2).fit, Xt, yt, X_val=Xv, y_val=yv)
        best = search.best_estimator_
        assert best.best_validation_score_ == pytest.approx(best.score(Xv, yv))
        assert getattr(search, "n_fused_fits_", 0) == 0


def test_keras_wrappers_take_a_routable_validation_set(data, routing):
    from keras import layers, models

    from keraskit import KerasClassifier

    def build(meta):
        return models.Sequential(
            [layers.Input((meta["n_features_in_"],)), layers.Dense(10, activation="softmax")]
        )

    Xt, yt, Xv, yv = data
    clf = KerasClassifier(model=build, epochs=3, verbose=0, random_state=0)
    clf = clf.set_fit_request(X_val=True, y_val=True)
    search = GridSearchCV(clf, {"optimizer__learning_rate": [0.01, 0.1]}, cv=2)
    search.fit(Xt, yt, X_val=Xv, y_val=yv)
    best = search.best_estimator_
    assert len(best.history_["val_loss"]) == 3
    expected = log_loss(yv, best.predict_proba(Xv), labels=best.classes_)
    assert best.history_["val_loss"][-1] == pytest.approx(expected, rel=1e-4)
    before = best.predict_proba(Xv)
    with pytest.raises(ValueError, match="y_val does not match y"):
        best.fit(Xt, yt, X_val=Xv, y_val=yv + 20)
    np.testing.assert_array_equal(best.predict_proba(Xv), before)  # nothing changed


def test_all_zero_validation_weights_are_refused(data):
    Xt, yt, Xv, yv = data
    with pytest.raises(ValueError, match="Sample weights must contain at least one non-zero"):
        _mlp().fit(Xt, yt, X_val=Xv, y_val=yv, sample_weight_val=np.zeros(len(yv)))


def test_fits_given_x_val_are_fused_and_equal_sklearns_search(data, routing):
    from keraskit import model_selection as kms

    Xt, yt, Xv, yv = data
    est = _mlp(early_stopping=True, n_iter_no_change=3, max_iter=6)
    est = est.set_fit_request(X_val=True, y_val=True, sample_weight=True)
    est = est.set_score_request(sample_weight=False)
    grid = {"alpha": [0.0, 1e-2], "dropout": [0.0, 0.2]}
    weights = np.random.RandomState(2).uniform(0.5, 2, len(yt))
    params = dict(X_val=Xv, y_val=yv, sample_weight=weights)
    fused = _quiet(kms.GridSearchCV(est, grid, cv=2).fit, Xt, yt, **params)
    plain = _quiet(GridSearchCV(est, grid, cv=2).fit, Xt, yt, **params)
    assert fused.n_fused_fits_ == 8
    np.testing.assert_allclose(
        fused.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"], atol=1e-12
    )
    folds = kms.cross_validate(est, Xt, yt, cv=2, params=params, return_estimator=True)
    for fold in folds["estimator"]:  # adopted from the fused run: validated on X_val
        assert fold.best_validation_score_ == pytest.approx(fold.score(Xv, yv))
