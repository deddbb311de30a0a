"""The population trainer: every member reproduces its lone fit, whatever it shares a group with."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from keraskit import AutoencoderTransformer, MLPClassifier, MLPRegressor
from keraskit._engine import population
from keraskit._engine.data import reshuffle


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16, y[:400]


def _weights_gap(result, lone):
    return max(
        np.abs(a - b).max()
        for part, lone_part in zip(result.weights, lone._weights, strict=True)
        for a, b in zip(part, lone_part, strict=True)
    )


def _template_fits(estimators, X, y, **fit_params):
    """Lone fits on the Keras-template backend (short ones would take the stacked one)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(population, "STACKED_STEPS", 0)
        return [clone(e).fit(X, y, **fit_params) for e in estimators]


def _check_members(estimators, X, y, budget=None, tol=1e-12, **fit_params):
    """Plan ``estimators``, train them as one population, compare with their lone fits on
    the Keras template: ``n_iter_``, curves, validation scores and losses, weights,
    optimizer state and predictions."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        members = [clone(e) for e in estimators]
        plans = [m.plan_fit(X, y, **fit_params) for m in members]
        assert all(population.fusable(p) for p in plans)
        results = population.train_population(plans, budget=budget)
        lone = _template_fits(estimators, X, y, **fit_params)
    for member, plan, result, fitted in zip(members, plans, results, lone, strict=True):
        assert result.error is None
        assert result.n_iter == fitted.n_iter_
        assert _weights_gap(result, fitted) < tol
        member.fit_from_plan(plan, result.weights, result.n_iter)
        np.testing.assert_allclose(member.loss_curve_, fitted.loss_curve_, rtol=1e-12)
        for name in ("validation_scores_", "validation_loss_curve_"):
            got, expected = getattr(member, name), getattr(fitted, name)
            assert (got is None) == (expected is None), name
            if expected is not None:
                np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg=name)
        state, lone_state = member._resume.optimizer_state, fitted._resume.optimizer_state
        assert len(state) == len(lone_state)
        for a, b in zip(state, lone_state, strict=True):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=0, atol=tol)
        method = "predict" if y is not None else "transform"
        np.testing.assert_allclose(
            getattr(member, method)(X), getattr(fitted, method)(X), rtol=0, atol=1e-10
        )
    return plans, results


def test_reshuffle_draws_as_sklearn_shuffle():
    from sklearn.utils import shuffle

    order = np.arange(50, dtype=np.int32)[::-1].copy()
    a, b = np.random.RandomState(3), np.random.RandomState(3)
    for _ in range(3):
        np.testing.assert_array_equal(reshuffle(order, a), shuffle(order, random_state=b))
        order = reshuffle(order, np.random.RandomState(0))


def test_members_of_mixed_settings_match_their_lone_fits(digits):
    X, y = digits
    base = MLPClassifier(max_iter=12, random_state=0, batch_size=64)
    settings = [
        dict(hidden_layer_sizes=(8,), solver="adam", alpha=1e-4),
        dict(hidden_layer_sizes=(16,), solver="adam", learning_rate_init=0.01, l1=1e-4),
        dict(hidden_layer_sizes=(16,), solver="sgd", momentum=0.5, nesterovs_momentum=False),
        dict(hidden_layer_sizes=(8,), solver="sgd", learning_rate="invscaling"),
        dict(hidden_layer_sizes=(16,), early_stopping=True, n_iter_no_change=2, tol=0.05),
        dict(hidden_layer_sizes=(8,), activation="tanh", beta_1=0.8, random_state=4),
        dict(hidden_layer_sizes=(16,), tol=0.5, n_iter_no_change=1),  # stops early
    ]
    _check_members([clone(base).set_params(**s) for s in settings], X, y)


def test_packing_changes_nothing(digits):
    X, y = digits
    ests = [MLPClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=h) for h in (4, 12)]
    _check_members(ests, X, y, budget=1)  # one member per run


@pytest.mark.parametrize("solver", ["sgd", "adam", "adamw", "nadam", "rmsprop", "adagrad"])
def test_every_solver_with_dropout_and_l1_matches_its_lone_fits(digits, solver):
    X, y = digits
    base = MLPClassifier((8,), solver=solver, max_iter=4, batch_size=64, random_state=0)
    settings = [
        dict(dropout=0.2, alpha=1e-3),
        dict(dropout=0.5, l1=1e-3, learning_rate_init=0.01, random_state=3),
        dict(l1=1e-4, early_stopping=True, n_iter_no_change=2),
        dict(momentum=0.0, beta_1=0.8, epsilon=1e-6, learning_rate="adaptive"),
    ]
    _check_members([clone(base).set_params(**s) for s in settings], X, y)


def test_batch_normalization_members_match_their_lone_fits(digits):
    X, y = digits
    base = MLPClassifier((8, 6), batch_normalization=True, max_iter=4, batch_size=48)
    settings = [
        dict(random_state=0),
        dict(random_state=1, dropout=0.3, solver="sgd"),
        dict(random_state=2, early_stopping=True, alpha=1e-2),
        dict(random_state=3, dropout=0.1, solver="adamw"),
    ]
    # batch moments are sums over (members, rows) here and over rows alone in Keras: the
    # order of the additions differs, by about 1e-15 a step
    _check_members([clone(base).set_params(**s) for s in settings], X, y, tol=2e-11)


def test_members_given_a_validation_set_match_their_lone_fits(digits):
    X, y = digits
    base = MLPClassifier((8,), max_iter=5, batch_size=64)
    settings = [dict(random_state=0), dict(random_state=1, early_stopping=True, dropout=0.2)]
    ests = [clone(base).set_params(**s) for s in settings]
    _check_members(ests, X[:300], y[:300], X_val=X[300:], y_val=y[300:])


def test_regressors_and_autoencoders_match_their_lone_fits():
    rng = np.random.RandomState(0)
    X = rng.rand(120, 5)
    y = X @ rng.rand(5, 2)
    regs = [MLPRegressor(hidden_layer_sizes=(6,), max_iter=10, random_state=s) for s in (0, 1)]
    regs.append(
        MLPRegressor(hidden_layer_sizes=(6,), max_iter=10, early_stopping=True, random_state=2)
    )
    _check_members(regs, X, y)
    aes = [
        AutoencoderTransformer(2, (4,), max_iter=6, alpha=a, random_state=0) for a in (1e-4, 1e-2)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plans = [clone(e).plan_fit(X) for e in aes]
        results = population.train_population(plans)
        lone = [clone(e).fit(X) for e in aes]
    for r, fitted in zip(results, lone, strict=True):
        assert _weights_gap(r, fitted) < 1e-12


def test_a_diverging_member_fails_alone(digits):
    X, y = digits
    huge = X * np.finfo(np.float64).max  # finite values whose products overflow
    ok = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    plans = [clone(ok).plan_fit(X, y), clone(ok).plan_fit(huge, y)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        good, bad = population.train_population(plans)
    assert good.error is None and good.n_iter == 3
    assert isinstance(bad.error, ValueError) and "non-finite" in str(bad.error)
    with pytest.raises(ValueError, match="non-finite"):
        clone(ok).fit(huge, y)


def test_what_cannot_be_fused_is_refused(digits):
    X, y = digits
    refused = [
        MLPClassifier(solver="lbfgs"),
        MLPClassifier(verbose=True),
        MLPClassifier(distribution="mirrored"),
        AutoencoderTransformer(2, noise_std=0.1),
    ]
    for est in refused:
        assert not est.can_fuse()
        assert not population.fusable(clone(est).set_params(max_iter=1).plan_fit(X, y))
    assert not MLPClassifier(callbacks=[object()]).can_fuse()


@pytest.mark.parametrize(
    "solver", [dict(solver="adam"), dict(solver="sgd"), dict(solver="sgd", momentum=0.0)]
)
def test_partial_fit_continues_a_member_as_it_continues_a_lone_fit(digits, solver):
    X, y = digits
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0, **solver)
    member = clone(est)
    plan = member.plan_fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        (result,) = population.train_population([plan])
        lone = clone(est).fit(X, y)
    member.fit_from_plan(plan, result.weights, result.n_iter)
    for part, lone_part in zip(
        member._resume.optimizer_state, lone._resume.optimizer_state, strict=True
    ):
        assert part.dtype == lone_part.dtype and part.shape == lone_part.shape
        np.testing.assert_allclose(part, lone_part, rtol=1e-10, atol=1e-14)
    member.partial_fit(X, y)
    lone.partial_fit(X, y)
    for a, b in zip(member.coefs_, lone.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_every_activation_is_covered_by_the_lone_fused_and_numpy_paths(digits):
    """The vocabulary test: each hidden activation trains fused as it trains alone, and the
    NumPy fast path predicts what TensorFlow predicts (a new activation must serve all
    three: its Keras name, the stacked chain and ``fastpath.ACTIVATIONS``)."""
    from keraskit._engine import cache, fastpath
    from keraskit._networks.activations import HIDDEN_ACTIVATIONS, KERAS_ACTIVATIONS

    X, y = digits
    ests = [
        MLPClassifier((6,), activation=a, max_iter=2, batch_size=100, random_state=0)
        for a in HIDDEN_ACTIVATIONS
    ]
    plans, results = _check_members(ests, X, y)
    for plan, result in zip(plans, results, strict=True):
        template = cache.get_template(plan.arch)
        numpy_path = template._numpy["model"]
        assert numpy_path is not None and numpy_path.worth_it(5)
        t_index, nt_index, through_tf = template._part_fns["model"]
        trainable = [result.weights[0][i] for i in t_index]
        non_trainable = [result.weights[1][i] for i in nt_index]
        expected = through_tf(trainable, non_trainable, X[:5]).numpy()
        np.testing.assert_allclose(numpy_path(result.weights, X[:5]), expected, atol=1e-12)
    hidden = {KERAS_ACTIVATIONS[a] for a in HIDDEN_ACTIVATIONS}
    assert hidden <= set(fastpath.ACTIVATIONS)
