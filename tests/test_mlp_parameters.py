"""Each MLP parameter changes what it should."""

import warnings

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from keraskit import MLPClassifier, MLPRegressor


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=200, n_features=8, noise=1.0, random_state=0)
    return X, y / 100.0


def _fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


def _sq_norm(est):
    return sum(float((w**2).sum()) for w in est.coefs_)


def test_larger_alpha_gives_smaller_weights(digits):
    X, y = digits
    kw = dict(hidden_layer_sizes=(32,), learning_rate_init=0.02, max_iter=40, random_state=0)
    small = _fit(MLPClassifier(alpha=1e-5, **kw), X, y)
    large = _fit(MLPClassifier(alpha=10.0, **kw), X, y)
    assert _sq_norm(large) < 0.5 * _sq_norm(small)


def test_l1_drives_weights_towards_zero(digits):
    X, y = digits
    kw = dict(hidden_layer_sizes=(32,), learning_rate_init=0.02, max_iter=40, random_state=0)
    plain = _fit(MLPClassifier(**kw), X, y)
    sparse = _fit(MLPClassifier(l1=5.0, **kw), X, y)
    abs_plain = sum(np.abs(w).sum() for w in plain.coefs_)
    abs_sparse = sum(np.abs(w).sum() for w in sparse.coefs_)
    assert abs_sparse < 0.5 * abs_plain


def test_dropout_is_active_only_in_training(digits):
    X, y = digits
    kw = dict(hidden_layer_sizes=(32,), max_iter=5, random_state=0)
    with_dropout = _fit(MLPClassifier(dropout=0.5, **kw), X, y)
    without = _fit(MLPClassifier(**kw), X, y)
    # training saw dropout: the training losses differ from the same run without it
    assert with_dropout.loss_curve_ != without.loss_curve_
    assert with_dropout.loss_curve_[0] > without.loss_curve_[0]
    # inference is deterministic: no dropout at predict time
    p1, p2 = with_dropout.predict_proba(X), with_dropout.predict_proba(X)
    np.testing.assert_array_equal(p1, p2)
    assert any(isinstance(layer, keras.layers.Dropout) for layer in with_dropout.model_.layers)


def test_dropout_is_seeded_by_random_state(digits):
    X, y = digits
    kw = dict(hidden_layer_sizes=(16,), dropout=0.3, max_iter=3)
    a = _fit(MLPClassifier(random_state=1, **kw), X, y)
    b = _fit(MLPClassifier(random_state=1, **kw), X, y)
    c = _fit(MLPClassifier(random_state=2, **kw), X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_batch_normalization_adds_layers_and_trains(digits):
    X, y = digits
    est = _fit(
        MLPClassifier(
            (32, 16), batch_normalization=True, learning_rate_init=0.01, max_iter=30, random_state=0
        ),
        X,
        y,
    )
    bn = [
        layer for layer in est.model_.layers if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert len(bn) == 2
    # moving statistics were learned from the data
    assert not np.allclose(bn[0].moving_mean.numpy(), 0.0)
    assert est.score(X, y) > 0.9


def test_early_stopping_stops_and_restores_best_weights(digits):
    X, y = digits
    snapshots = []

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(self.model.get_layer("logits").kernel.numpy().copy())

    est = MLPClassifier(
        (32,),
        early_stopping=True,
        n_iter_no_change=3,
        max_iter=500,
        tol=0.0,
        learning_rate_init=0.05,
        random_state=0,
        callbacks=[Snapshot()],
    )
    _fit(est, X, y)
    assert est.n_iter_ < 500
    assert est.best_loss_ is None
    assert est.best_validation_score_ == max(est.validation_scores_)
    best = int(np.argmax(est.validation_scores_))
    assert best < est.n_iter_ - 1  # the last epoch was not the best: something to restore
    np.testing.assert_array_equal(est.coefs_[-1], snapshots[best])
    assert list(est.history_["val_score"]) == est.validation_scores_


def test_stopping_rule_on_training_loss_and_convergence_warning(digits):
    X, y = digits
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(3\\) reached"):
        MLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)
    est = MLPClassifier((8,), max_iter=1000, tol=10.0, n_iter_no_change=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    # huge tol: no epoch "improves"; sklearn's rule stops after n_iter_no_change + 2 epochs
    assert est.n_iter_ == 4
    assert est.best_loss_ == min(est.loss_curve_)


def test_class_weight_balanced_favours_the_minority_class():
    X, y = make_classification(
        n_samples=300, n_features=5, weights=[0.9, 0.1], class_sep=0.5, random_state=0
    )
    plain = _fit(MLPClassifier((8,), max_iter=30, random_state=0), X, y)
    balanced = _fit(MLPClassifier((8,), max_iter=30, class_weight="balanced", random_state=0), X, y)
    heavy = _fit(MLPClassifier((8,), max_iter=30, class_weight={0: 1, 1: 20}, random_state=0), X, y)
    assert (balanced.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()
    assert (heavy.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()


def test_label_smoothing_softens_probabilities(digits):
    X, y = digits
    kw = dict(hidden_layer_sizes=(32,), max_iter=40, random_state=0)
    sharp = _fit(MLPClassifier(**kw), X, y)
    smooth = _fit(MLPClassifier(label_smoothing=0.3, **kw), X, y)
    assert smooth.predict_proba(X).max(axis=1).mean() < sharp.predict_proba(X).max(axis=1).mean()


@pytest.mark.parametrize(
    "activation",
    ["identity", "logistic", "tanh", "relu", "elu", "leaky_relu", "gelu", "selu", "swish"],
)
def test_every_activation_learns(digits, activation):
    X, y = digits
    est = _fit(
        MLPClassifier(
            (16,), activation=activation, learning_rate_init=0.01, max_iter=30, random_state=0
        ),
        X,
        y,
    )
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    assert est.score(X, y) > 0.6


@pytest.mark.parametrize("solver", ["sgd", "adam", "adamw", "nadam", "rmsprop", "adagrad"])
def test_every_solver_learns(digits, solver):
    X, y = digits
    est = _fit(
        MLPClassifier((16,), solver=solver, learning_rate_init=0.05, max_iter=20, random_state=0),
        X,
        y,
    )
    assert est.loss_curve_[-1] < 0.8 * est.loss_curve_[0]


def test_sgd_momentum_and_nesterov_change_the_path(digits):
    X, y = digits
    kw = dict(hidden_layer_sizes=(16,), solver="sgd", max_iter=5, random_state=0)
    runs = [
        _fit(MLPClassifier(momentum=m, nesterovs_momentum=n, **kw), X, y).loss_curve_
        for m, n in [(0.0, False), (0.9, False), (0.9, True)]
    ]
    assert runs[0] != runs[1] != runs[2]
    assert runs[1][-1] < runs[0][-1]  # momentum speeds up plain sgd here


def test_learning_rate_schedules_follow_sklearn(digits):
    X, y = digits
    kw = dict(hidden_layer_sizes=(8,), solver="sgd", max_iter=3, random_state=0)
    inv = _fit(MLPClassifier(learning_rate="invscaling", power_t=0.5, **kw), X, y)
    n = len(X)
    expected = [0.001, 0.001 / (n + 1) ** 0.5, 0.001 / (2 * n + 1) ** 0.5]
    np.testing.assert_allclose(inv.history_["learning_rate"], expected)
    kw["max_iter"] = 5
    adaptive = _fit(
        MLPClassifier(learning_rate="adaptive", tol=10.0, n_iter_no_change=1, **kw), X, y
    )
    # stalled after epochs 3 and 5: the rate is divided by 5 each time, as sklearn does
    np.testing.assert_allclose(adaptive.history_["learning_rate"], [1e-3] * 3 + [2e-4] * 2)


def test_batch_size_changes_number_of_updates(digits):
    X, y = digits
    est = _fit(MLPClassifier((8,), batch_size=50, max_iter=2, random_state=0), X, y)
    small = _fit(MLPClassifier((8,), batch_size=400, max_iter=2, random_state=0), X, y)
    assert est.t_ == small.t_ == 2 * len(X)
    assert est.loss_curve_[-1] < small.loss_curve_[-1]  # 8 updates per epoch beat 1
    with pytest.warns(UserWarning, match="clipped"):
        _fit(MLPClassifier((8,), batch_size=1000, max_iter=1), X, y)


def test_shuffle_false_is_deterministic_without_random_state(digits):
    X, y = digits
    a = _fit(MLPClassifier((8,), shuffle=False, max_iter=3, random_state=3), X, y)
    b = _fit(MLPClassifier((8,), shuffle=True, max_iter=3, random_state=3), X, y)
    assert a.loss_curve_[0] != b.loss_curve_[0]


def test_warm_start_continues_from_fitted_weights(digits):
    X, y = digits
    est = _fit(MLPClassifier((16,), max_iter=5, warm_start=True, random_state=0), X, y)
    curve = list(est.loss_curve_)
    _fit(est, X, y)
    assert len(est.loss_curve_) == 10 and est.loss_curve_[:5] == curve
    assert est.loss_curve_[5] < curve[0]
    assert est.n_iter_ == 5 and est.t_ == 10 * len(X)
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same"):
        est.fit(X[y < 5], y[y < 5])
    cold = _fit(MLPClassifier((16,), max_iter=5, random_state=0), X, y)
    _fit(cold, X, y)
    assert len(cold.loss_curve_) == 5


def test_regressor_losses(regression):
    X, y = regression
    for loss in ["squared_error", "huber", "absolute_error"]:
        est = _fit(
            MLPRegressor(
                loss=loss,
                hidden_layer_sizes=(32,),
                max_iter=100,
                learning_rate_init=0.01,
                random_state=0,
            ),
            X,
            y,
        )
        assert est.score(X, y) > 0.8, loss
    y_out = y.copy()
    y_out[:10] += 50  # outliers pull squared error more than absolute error
    sq = _fit(
        MLPRegressor(
            hidden_layer_sizes=(32,), max_iter=100, learning_rate_init=0.01, random_state=0
        ),
        X,
        y_out,
    )
    ab = _fit(
        MLPRegressor(
            loss="absolute_error",
            hidden_layer_sizes=(32,),
            max_iter=100,
            learning_rate_init=0.01,
            random_state=0,
        ),
        X,
        y_out,
    )
    clean = slice(10, None)
    assert (
        np.abs(ab.predict(X[clean]) - y[clean]).mean()
        < np.abs(sq.predict(X[clean]) - y[clean]).mean()
    )


def test_poisson_loss_predicts_positive_rates():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4))
    y = rng.poisson(np.exp(0.5 * X[:, 0]))
    est = _fit(
        MLPRegressor(
            loss="poisson",
            hidden_layer_sizes=(16,),
            max_iter=50,
            learning_rate_init=0.01,
            random_state=0,
        ),
        X,
        y,
    )
    assert est.out_activation_ == "exp"
    pred = est.predict(X)
    assert (pred > 0).all()
    assert np.corrcoef(pred, np.exp(0.5 * X[:, 0]))[0, 1] > 0.8
    with pytest.raises(ValueError, match="negative"):
        MLPRegressor(loss="poisson").fit(X, -y - 1.0)


def test_multi_output_regression(regression):
    X, y = regression
    Y = np.column_stack([y, -y])
    est = _fit(
        MLPRegressor(
            hidden_layer_sizes=(16,), max_iter=100, learning_rate_init=0.01, random_state=0
        ),
        X,
        Y,
    )
    assert est.predict(X).shape == (len(X), 2)
    assert est.n_outputs_ == 2 and est.coefs_[-1].shape == (16, 2)


def test_callbacks_are_driven_and_cloned(digits):
    X, y = digits

    class StopAt(keras.callbacks.Callback):
        def __init__(self, epoch):
            super().__init__()
            self.epoch = epoch
            self.seen = []

        def on_epoch_end(self, epoch, logs=None):
            self.seen.append(dict(logs))
            if epoch + 1 == self.epoch:
                self.model.stop_training = True

    user_cb = StopAt(3)
    est = _fit(MLPClassifier((8,), max_iter=50, random_state=0, callbacks=[user_cb]), X, y)
    assert est.n_iter_ == 3
    assert user_cb.seen == []  # the user's instance is not used: each fit gets a copy

    schedule = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 / (epoch + 1))
    est = _fit(MLPClassifier((8,), max_iter=3, random_state=0, callbacks=[schedule]), X, y)
    np.testing.assert_allclose(est.history_["learning_rate"], [0.01, 0.005, 0.01 / 3], rtol=1e-6)


def test_verbose_prints_sklearn_lines(digits, capsys):
    X, y = digits
    _fit(MLPClassifier((8,), max_iter=2, verbose=True, early_stopping=True, random_state=0), X, y)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Iteration 1, loss = ") and len(out[0].split("= ")[1]) == 10
    assert out[1].startswith("Validation score: ")


def test_dtype_follows_input(digits):
    X, y = digits
    est32 = _fit(MLPClassifier((8,), max_iter=2, random_state=0), X.astype(np.float32), y)
    est64 = _fit(MLPClassifier((8,), max_iter=2, random_state=0), X, y)
    assert est32.coefs_[0].dtype == np.float32 and est64.coefs_[0].dtype == np.float64
    assert est32.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert est64.predict_proba(X).dtype == np.float64


def test_coefs_are_settable_copies(digits):
    X, y = digits
    est = _fit(MLPClassifier((8,), max_iter=2, random_state=0), X, y)
    coefs = est.coefs_
    coefs[0][:] = 0.0  # a copy: the model is unchanged
    assert not np.allclose(est.coefs_[0], 0.0)
    est.coefs_ = [np.zeros_like(c) for c in est.coefs_]
    est.intercepts_ = [np.zeros_like(b) for b in est.intercepts_]
    np.testing.assert_allclose(est.predict_proba(X[:3]), 0.1)
    with pytest.raises(ValueError, match="shape"):
        est.coefs_ = [np.zeros((2, 2)), np.zeros((8, 10))]


def test_sklearn_shapes_of_fitted_attributes(digits):
    X, y = digits
    est = _fit(MLPClassifier((20, 10), max_iter=2, random_state=0), X, y)
    assert [c.shape for c in est.coefs_] == [(64, 20), (20, 10), (10, 10)]
    assert [b.shape for b in est.intercepts_] == [(20,), (10,), (10,)]
    assert est.n_layers_ == 4 and est.n_outputs_ == 10 and est.out_activation_ == "softmax"
    binary = _fit(MLPClassifier((4,), max_iter=2, random_state=0), X, y % 2)
    assert binary.out_activation_ == "logistic" and binary.n_outputs_ == 1
    assert binary.predict_proba(X).shape == (len(X), 2)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(hidden_layer_sizes=(0,)), "hidden_layer_sizes"),
        (dict(activation="sigmoid"), "activation"),
        (dict(solver="lbfgsx"), "solver"),
        (dict(learning_rate_init=0.0), "learning_rate_init"),
        (dict(dropout=1.0), "dropout"),
        (dict(momentum=1.5), "momentum"),
        (dict(batch_size=0), "batch_size"),
        (dict(label_smoothing=-0.1), "label_smoothing"),
        (dict(class_weight="auto"), "class_weight"),
    ],
)
def test_invalid_parameters_are_named(digits, params, match):
    X, y = digits
    with pytest.raises((InvalidParameterError, ValueError), match=match):
        MLPClassifier(**params).fit(X, y)


def test_failed_refit_keeps_the_fitted_model(digits):
    X, y = digits
    est = _fit(MLPClassifier((8,), max_iter=3, random_state=0), X, y)
    before = est.predict_proba(X)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(bad, y)
    with pytest.raises(ValueError):
        est.fit(X[:, :10], y[:5])
    with pytest.raises(ValueError, match="has 3 features"):
        est.predict(X[:, :3])
    np.testing.assert_array_equal(est.predict_proba(X), before)


def test_validation_fraction_sets_the_held_out_share(digits):
    X, y = digits
    for fraction, n_train in [(0.1, 360), (0.25, 300)]:
        est = _fit(
            MLPClassifier(
                (8,), early_stopping=True, validation_fraction=fraction, max_iter=2, random_state=0
            ),
            X,
            y,
        )
        assert est.t_ == 2 * n_train


def test_adam_constants_change_the_path(digits):
    X, y = digits
    kw = dict(hidden_layer_sizes=(8,), max_iter=3, learning_rate_init=0.01, random_state=0)
    base = _fit(MLPClassifier(**kw), X, y).loss_curve_
    for change in [dict(beta_1=0.5), dict(beta_2=0.9), dict(epsilon=1.0)]:
        assert _fit(MLPClassifier(**change, **kw), X, y).loss_curve_ != base, change


def test_max_iter_bounds_the_epochs(digits):
    X, y = digits
    for max_iter in (1, 4):
        assert (
            _fit(MLPClassifier((8,), max_iter=max_iter, random_state=0), X, y).n_iter_ == max_iter
        )


def test_nadam_and_adagrad_start_from_their_own_initial_state(digits):
    from keraskit._engine import cache

    X, y = digits
    for solver in ("nadam", "adagrad"):
        est = _fit(MLPClassifier((8,), solver=solver, max_iter=1, random_state=0), X, y)
        trainer = cache.get_trainer(est._arch, est._train_spec())
        fresh = trainer._fresh_state
        assert any(np.any(a != 0) for a in fresh), solver  # u_product=1, accumulators=0.1
        trainer.start(trainer.template.get_weights())  # no state given: the fresh one
        for v, a in zip(trainer.optimizer.variables, fresh, strict=True):
            np.testing.assert_array_equal(v.numpy(), a)


def test_callbacks_can_change_the_learning_rate_at_epoch_end(digits):
    X, y = digits
    plateau = keras.callbacks.ReduceLROnPlateau(
        monitor="loss", patience=0, min_delta=10.0, factor=0.5
    )
    est = _fit(MLPClassifier((8,), max_iter=3, random_state=0, callbacks=[plateau]), X, y)
    # epoch 1 sets the reference loss; no 10.0 improvement after epoch 2 halves the rate
    np.testing.assert_allclose(est.history_["learning_rate"], [1e-3, 1e-3, 5e-4], rtol=1e-6)


def test_partial_fit_continues_across_dtypes_and_solvers(digits):
    X, y = digits
    est = MLPClassifier((8,), solver="sgd", random_state=0)
    est.partial_fit(X, y, classes=np.arange(10))
    est.partial_fit(X.astype(np.float32), y)  # the float64 network carries on
    assert est.coefs_[0].dtype == np.float64 and len(est.loss_curve_) == 2
    est.set_params(solver="adagrad")
    est.partial_fit(X, y)  # a new solver starts from its own fresh state, not sgd's buffers
    assert np.isfinite(est.loss_curve_).all() and len(est.loss_curve_) == 3


def test_lbfgs_refuses_random_objectives(digits):
    from keraskit import AutoencoderTransformer, CNNClassifier

    X, y = digits
    with pytest.raises(ValueError, match="batch_normalization=True makes the objective"):
        MLPClassifier(solver="lbfgs", batch_normalization=True).fit(X, y)
    with pytest.raises(ValueError, match="noise_std=0.1 makes the objective"):
        AutoencoderTransformer(solver="lbfgs", noise_std=0.1).fit(X)
    with pytest.raises(ValueError, match="rotation=10.0 makes the objective"):
        CNNClassifier(solver="lbfgs", rotation=10.0).fit(X.reshape(-1, 8, 8), y)
