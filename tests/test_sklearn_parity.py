"""Side by side with scikit-learn's MLPs: same calls, same results, warnings and errors.

keraskit initialises and shuffles exactly as scikit-learn does for the same random_state,
so with ``solver='sgd'`` or ``'lbfgs'`` (float64) the two agree to ~1e-10; Keras' Adam
rounds its beta constants through float32, hence the looser tolerance there.
"""

import pickle
import resource
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import neural_network as sk
from sklearn.datasets import load_digits, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

import keraskit as kk


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=200, n_features=6, n_targets=2, noise=0.5, random_state=0)
    return X, y / 100.0


def both(name, X, y, fit="fit", calls=1, **params):
    """Fit sklearn's and keraskit's estimator of ``name`` the same way; return both."""
    out = []
    for module in (sk, kk):
        est = getattr(module, name)(**params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for _ in range(calls):
                getattr(est, fit)(X, y)
        out.append(est)
    return out


def assert_same_weights(a, b, atol):
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_allclose(p, q, atol=atol)


def test_lbfgs_matches_sklearn(digits):
    X, y = digits
    theirs, ours = both(
        "MLPClassifier", X, y, hidden_layer_sizes=(16,), solver="lbfgs", max_iter=40, random_state=0
    )
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=1e-8)
    assert_same_weights(theirs, ours, atol=1e-8)
    for attr in ("loss_curve_", "best_loss_", "validation_scores_"):
        assert hasattr(ours, attr) == hasattr(theirs, attr)


@pytest.mark.parametrize("limit", [dict(max_iter=3), dict(max_fun=4)])
def test_lbfgs_warns_like_sklearn_when_a_limit_stops_it(digits, limit):
    X, y = digits
    messages = []
    for module in (sk, kk):
        with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge") as record:
            module.MLPClassifier((8,), solver="lbfgs", random_state=0, **limit).fit(X, y)
        messages.append(str(record[0].message))
    assert messages[0] == messages[1]


def test_lbfgs_regressor_matches_sklearn(regression):
    X, Y = regression
    theirs, ours = both(
        "MLPRegressor",
        X,
        Y[:, 0],
        hidden_layer_sizes=(8,),
        solver="lbfgs",
        max_iter=30,
        random_state=0,
    )
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-6, atol=1e-8)


def test_multi_output_lbfgs_loss_is_reported_as_sklearn_defines_it(regression):
    """loss_ averages the squared error over outputs, as sklearn's squared_loss does.

    (sklearn's lbfgs hands scipy that averaged value with the gradient of the sum over
    outputs; keraskit gives scipy a consistent pair, so multi-output lbfgs paths differ.)
    """
    X, Y = regression
    est = kk.MLPRegressor(
        hidden_layer_sizes=(8,), solver="lbfgs", alpha=0.1, max_iter=20, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, Y)
    data_term = 0.5 * ((Y - est.predict(X)) ** 2).mean(axis=0).mean()
    penalty = 0.5 * 0.1 * sum((c**2).sum() for c in est.coefs_) / len(X)
    assert est.loss_ == pytest.approx(data_term + penalty, rel=1e-10)


@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive"])
def test_sgd_schedules_give_sklearns_loss_curve_and_stopping_epoch(digits, schedule):
    X, y = digits
    theirs, ours = both(
        "MLPClassifier",
        X,
        y,
        hidden_layer_sizes=(16,),
        solver="sgd",
        learning_rate=schedule,
        learning_rate_init=0.05,
        tol=1e-3,
        n_iter_no_change=2,
        max_iter=60,
        random_state=0,
    )
    assert ours.n_iter_ == theirs.n_iter_
    # Keras keeps the learning rate in float32: a 5e-8 relative step difference, compounding
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-6)
    assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=1e-6)
    assert ours.t_ == theirs.t_


def test_cosine_schedule_anneals_to_zero_for_any_solver(digits):
    X, y = digits
    est = kk.MLPClassifier(
        (8,), learning_rate="cosine", learning_rate_init=0.01, max_iter=10, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    lr = est.history_["learning_rate"].to_numpy()
    expected = 0.01 * 0.5 * (1 + np.cos(np.pi * np.arange(10) / 10))
    np.testing.assert_allclose(lr, expected)


def test_partial_fit_matches_sklearn(digits):
    X, y = digits
    classes = np.unique(y)
    ests = []
    for module in (sk, kk):
        est = module.MLPClassifier((16,), random_state=0)
        for _ in range(3):
            est.partial_fit(X, y, classes=classes)
        ests.append(est)
    theirs, ours = ests
    assert ours.n_iter_ == theirs.n_iter_ == 1 and ours.t_ == theirs.t_ == 3 * len(X)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-6)


def test_partial_fit_errors_are_sklearns(digits):
    X, y = digits
    cases = [
        (dict(), dict(), "classes must be passed on the first call to partial_fit."),
        (dict(), dict(classes=[0, 1]), "`y` has classes not in `self.classes_`"),
        (
            dict(early_stopping=True),
            dict(classes=np.arange(10)),
            "partial_fit does not support early_stopping=True",
        ),
    ]
    for params, kwargs, message in cases:
        for module in (sk, kk):
            with pytest.raises(ValueError, match=message):
                module.MLPClassifier((4,), **params).partial_fit(X, y, **kwargs)
    for module in (sk, kk):
        est = module.MLPClassifier((4,))
        est.partial_fit(X, y, classes=np.arange(10))
        with pytest.raises(ValueError, match="is not the same as on last call to partial_fit"):
            est.partial_fit(X, y, classes=np.arange(11))
        assert not hasattr(module.MLPClassifier(solver="lbfgs"), "partial_fit")
    # sklearn 1.9's regressor exposes partial_fit with lbfgs (its availability check is
    # never called); keraskit's regressor hides it as the classifier does
    assert not hasattr(kk.MLPRegressor(solver="lbfgs"), "partial_fit")


def test_partial_fit_after_fit_continues_with_the_same_optimizer(digits):
    X, y = digits
    theirs, ours = both("MLPClassifier", X, y, hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    for est in (theirs, ours):
        est.partial_fit(X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-6)


def test_partial_fit_continues_after_pickling(digits):
    X, y = digits
    est = kk.MLPRegressor(hidden_layer_sizes=(8,), random_state=0)
    est.partial_fit(X, y.astype(float))
    restored = pickle.loads(pickle.dumps(est))
    est.partial_fit(X, y.astype(float))
    restored.partial_fit(X, y.astype(float))
    assert restored.loss_curve_ == est.loss_curve_
    np.testing.assert_array_equal(restored.predict(X), est.predict(X))


def test_warm_start_with_early_stopping_matches_sklearn(regression):
    X, Y = regression
    y = Y[:, 0]
    theirs, ours = both(
        "MLPRegressor",
        X,
        y,
        hidden_layer_sizes=(8,),
        solver="sgd",
        early_stopping=True,
        warm_start=True,
        learning_rate_init=0.01,
        n_iter_no_change=3,
        max_iter=30,
        random_state=0,
    )
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), atol=1e-6)
    best_after_first_fit = ours.predict(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.fit(X, y)
        ours.fit(X, y)
    # the bookkeeping carries over: same stopping epoch, same scores
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, atol=1e-6)
    assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_, abs=1e-6)
    # no better epoch in the second fit: keraskit restores the best weights, those of the
    # first fit (sklearn 1.9 aliases its saved best weights with the live ones, so it keeps
    # the last epoch's weights instead)
    np.testing.assert_array_equal(ours.predict(X), best_after_first_fit)


def test_early_stopping_validation_score_is_weighted(regression):
    X, Y = regression
    y = Y[:, 0]
    sw = np.random.RandomState(0).randint(1, 4, size=len(y)).astype(float)
    ests = []
    for module in (sk, kk):
        est = module.MLPRegressor(
            hidden_layer_sizes=(8,),
            solver="sgd",
            early_stopping=True,
            momentum=0.0,
            max_iter=5,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ests.append(est.fit(X, y, sample_weight=sw))
    np.testing.assert_allclose(ests[1].validation_scores_, ests[0].validation_scores_, rtol=1e-8)


def test_multilabel_matches_sklearn():
    X, Y = make_multilabel_classification(n_samples=200, n_features=10, n_classes=4, random_state=0)
    theirs, ours = both(
        "MLPClassifier", X, Y, hidden_layer_sizes=(16,), solver="sgd", max_iter=30, random_state=0
    )
    assert ours.out_activation_ == theirs.out_activation_ == "logistic"
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-6)
    assert ours.predict_proba(X).shape == (200, 4)
    assert ours.score(X, Y) == theirs.score(X, Y)
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)


def test_multi_output_regression_matches_sklearn(regression):
    X, Y = regression
    theirs, ours = both(
        "MLPRegressor",
        X,
        Y,
        hidden_layer_sizes=(8,),
        solver="sgd",
        momentum=0.5,
        learning_rate_init=0.01,
        max_iter=20,
        random_state=0,
    )
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-6, atol=1e-7)


def test_sparse_input_gives_the_dense_result(digits):
    X, y = digits
    dense = kk.MLPClassifier((8,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense.fit(X, y)
        for fmt in (sp.csr_matrix, sp.csc_matrix, sp.csr_array):
            est = kk.MLPClassifier((8,), max_iter=3, random_state=0).fit(fmt(X), y)
            np.testing.assert_allclose(est.loss_curve_, dense.loss_curve_, rtol=1e-12)
            np.testing.assert_allclose(
                est.predict_proba(fmt(X)), dense.predict_proba(X), rtol=1e-12
            )
    est = kk.MLPClassifier((8,), random_state=0)
    est.partial_fit(sp.csr_matrix(X), y, classes=np.arange(10))
    assert est.predict(sp.csr_matrix(X[:5])).shape == (5,)


def test_sparse_training_never_densifies_the_whole_matrix():
    # 250,000 x 4,000 float32 is 4 GB dense; trained and predicted batch by batch.
    rng = np.random.RandomState(0)
    n, d = 250_000, 4_000
    nnz = 20_000
    values = rng.rand(nnz).astype(np.float32)
    X = sp.csr_matrix((values, (rng.randint(n, size=nnz), rng.randint(d, size=nnz))), (n, d))
    y = rng.randint(0, 2, size=n)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    est = kk.MLPClassifier((4,), batch_size=5000, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert est.predict_proba(X[:20_000]).shape == (20_000, 2)
    grown_gib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 2**20
    assert grown_gib < 2.0, f"peak memory grew by {grown_gib:.1f} GiB"


def test_a_small_sparse_matrix_trains_as_its_dense_rows_and_fuses(digits):
    # at most SMALL_SPARSE values: densified once, in the graph, fusable in a search
    from keraskit._engine.data import SMALL_SPARSE
    from keraskit.model_selection import GridSearchCV

    X, y = digits
    assert X.size <= SMALL_SPARSE
    kw = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        stops = dict(early_stopping=True, **kw)
        dense = kk.MLPClassifier(**stops).fit(X, y, X_val=X, y_val=y)
        sparse = kk.MLPClassifier(**stops).fit(sp.csr_matrix(X), y, X_val=sp.csc_matrix(X), y_val=y)
        search = GridSearchCV(kk.MLPClassifier(**kw), {"alpha": [1e-4, 1e-3]}, cv=2)
        search.fit(sp.csr_matrix(X), y)
    for a, b in zip(dense.coefs_, sparse.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(dense.validation_scores_) == 3
    assert sparse.validation_scores_ == dense.validation_scores_
    assert all(group["fused"] for group in search.fused_groups_)


def test_verbose_output_is_sklearns(digits, capsys):
    X, y = digits
    outputs = []
    for module in (sk, kk):
        est = module.MLPClassifier(
            (8,), solver="sgd", early_stopping=True, max_iter=3, verbose=True, random_state=0
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y % 2)  # binary: sklearn stratifies the split too
        outputs.append(capsys.readouterr().out)
    assert outputs[1] == outputs[0]
    assert outputs[1].startswith("Iteration 1, loss = ")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_follow_sklearn(digits, dtype):
    X, y = digits
    theirs, ours = both(
        "MLPClassifier", X.astype(dtype), y, hidden_layer_sizes=(8,), max_iter=2, random_state=0
    )
    assert ours.coefs_[0].dtype == theirs.coefs_[0].dtype == dtype
    assert ours.intercepts_[0].dtype == theirs.intercepts_[0].dtype
    Xd = X.astype(dtype)
    assert ours.predict_proba(Xd).dtype == theirs.predict_proba(Xd).dtype
    assert type(ours.loss_) is type(float(theirs.loss_))


def test_settable_coefs_give_sklearns_predictions(digits):
    X, y = digits
    theirs, ours = both("MLPClassifier", X, y, hidden_layer_sizes=(8,), max_iter=2, random_state=0)
    rng = np.random.RandomState(1)
    coefs = [rng.normal(size=c.shape) for c in theirs.coefs_]
    intercepts = [rng.normal(size=b.shape) for b in theirs.intercepts_]
    for est in (theirs, ours):
        est.coefs_, est.intercepts_ = coefs, intercepts
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-10)


def test_divergence_stops_warns_and_keeps_finite_weights(digits):
    X, y = digits
    est = kk.MLPRegressor(
        hidden_layer_sizes=(32,), solver="sgd", learning_rate_init=10.0, max_iter=50, random_state=0
    )
    with pytest.warns(ConvergenceWarning, match="diverged.*learning_rate_init"):
        est.fit((X * 100).astype(np.float32), y * 1e3)  # float32 overflows to inf
    assert est.n_iter_ < 50
    assert np.isfinite(est.loss_curve_).all()
    assert all(np.isfinite(c).all() for c in est.coefs_)
    assert np.isfinite(est.predict(X.astype(np.float32))).all()


def test_sample_weight_matches_repeating_rows(digits):
    X, y = digits
    sw = np.random.RandomState(0).randint(0, 3, size=len(y))
    kw = dict(hidden_layer_sizes=(8,), batch_size=len(X) * 3, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = kk.MLPClassifier(**kw).fit(X, y, sample_weight=sw)
        repeated = kk.MLPClassifier(**kw).fit(X.repeat(sw, axis=0), y.repeat(sw))
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-9)


def test_lbfgs_honours_sample_weight_like_sklearn(digits):
    X, y = digits
    sw = np.random.RandomState(0).randint(0, 4, size=len(y)).astype(float)
    ests = []
    for module in (sk, kk):
        est = module.MLPClassifier((8,), solver="lbfgs", max_iter=20, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ests.append(est.fit(X, y, sample_weight=sw))
    assert_same_weights(ests[0], ests[1], atol=1e-7)
