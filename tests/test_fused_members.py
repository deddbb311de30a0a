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
        np.abs(a - b).max() for a, b in zip(result.weights[0], lone._weights[0], strict=True)
    )


def _check_members(estimators, X, y, layout="exact", budget=None, tol=1e-12):
    """Plan ``estimators``, train them as one population, compare with their lone fits."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plans = [clone(e).plan_fit(X, y) for e in estimators]
        assert all(population.fusable(p) for p in plans)
        results = population.train_population(plans, budget=budget, layout=layout)
        lone = [clone(e).fit(X, y) for e in estimators]
    for plan, result, fitted in zip(plans, results, lone, strict=True):
        assert result.error is None
        assert result.n_iter == fitted.n_iter_
        assert _weights_gap(result, fitted) < tol
        np.testing.assert_allclose(plan.progress.loss_curve, fitted.loss_curve_, rtol=1e-12)
        if fitted.validation_scores_ is not None:
            assert plan.progress.validation_scores == pytest.approx(fitted.validation_scores_)
    return plans, results


def test_reshuffle_draws_as_sklearn_shuffle():
    from sklearn.utils import shuffle

    order = np.arange(50, dtype=np.int32)[::-1].copy()
    a, b = np.random.RandomState(3), np.random.RandomState(3)
    for _ in range(3):
        np.testing.assert_array_equal(reshuffle(order, a), shuffle(order, random_state=b))
        order = reshuffle(order, np.random.RandomState(0))


@pytest.mark.parametrize("layout", ["exact", "pad"])
def test_members_of_mixed_settings_match_their_lone_fits(digits, layout):
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
    _check_members([clone(base).set_params(**s) for s in settings], X, y, layout)


def test_padding_stays_zero_and_packing_changes_nothing(digits):
    X, y = digits
    ests = [MLPClassifier(hidden_layer_sizes=(h,), max_iter=5, random_state=h) for h in (4, 12)]
    plans, results = _check_members(ests, X, y, layout="pad", budget=1)  # one member per run
    group = population.Group([clone(e).plan_fit(X, y) for e in ests])
    group.train()
    kernel = group.params[0].numpy()  # (members, 64, 12): the narrow member's padding
    assert np.all(kernel[0, :, 4:] == 0) and np.all(group.params[2].numpy()[0, 4:] == 0)


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
        MLPClassifier(dropout=0.1),
        MLPClassifier(batch_normalization=True),
        MLPClassifier(verbose=True),
        MLPClassifier(solver="rmsprop"),
        MLPClassifier(distribution="mirrored"),
    ]
    for est in refused:
        assert not population.fusable(clone(est).set_params(max_iter=1).plan_fit(X, y))


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
        member._progress.optimizer_state, lone._progress.optimizer_state, strict=True
    ):
        assert part.dtype == lone_part.dtype and part.shape == lone_part.shape
        np.testing.assert_allclose(part, lone_part, rtol=1e-10, atol=1e-14)
    member.partial_fit(X, y)
    lone.partial_fit(X, y)
    for a, b in zip(member.coefs_, lone.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
