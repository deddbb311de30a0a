"""A NaN or infinite loss stops training with a warning naming the learning rate."""

import warnings

import numpy as np
import pytest
from _estimators import cases, fit
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_huge_learning_rate_diverges_safely(case):
    _, est, X, y = case
    est = clone(est).set_params(solver="sgd", learning_rate_init=1e6, max_iter=30)
    X = (X * 1e3).astype(np.float32)
    y = None if y is None else (y * 1e3 if "Regressor" in type(est).__name__ else y)
    with pytest.warns(ConvergenceWarning, match="diverged.*learning_rate_init"):
        fit(est, X, y)
    assert est.n_iter_ < 30
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no silent NaN: outputs are finite
        method = "transform" if y is None else "predict"
        assert np.isfinite(np.asarray(getattr(est, method)(X), dtype=float)).all()


def test_divergence_with_keras_callbacks_keeps_a_finite_optimizer_state():
    from keras.callbacks import Callback
    from sklearn.datasets import load_digits

    from keraskit import MLPClassifier

    class Explode(Callback):
        """Sets an absurd learning rate after the second epoch: the third diverges."""

        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.optimizer.learning_rate.assign(1e30)

    X, y = load_digits(return_X_y=True)
    est = MLPClassifier((8,), solver="sgd", max_iter=10, random_state=0, callbacks=[Explode()])
    with pytest.warns(ConvergenceWarning, match="diverged at iteration 3"):
        est.fit(X / 16.0, y)
    state = est._resume.optimizer_state  # what a later partial_fit continues from
    assert all(np.isfinite(a).all() for a in state)
    assert np.isfinite(est.predict_proba(X / 16.0)).all()


def _diabetes_rows():
    from sklearn.datasets import load_diabetes
    from sklearn.preprocessing import StandardScaler

    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_a_fused_member_that_diverges_later_ends_as_its_lone_fit():
    """The card's user: SGD with momentum diverges after a few epochs on standardized
    diabetes rows (raw targets).

    Returned by a fused cross_validate, the estimator must hold what the lone fit holds
    (the weights *and* optimizer state of its last finite epoch), so that a later
    partial_fit continues with finite weights in both.
    """
    from sklearn.model_selection import KFold

    from keraskit import MLPRegressor
    from keraskit._engine import population
    from keraskit.model_selection import cross_validate

    X, y = _diabetes_rows()
    est = MLPRegressor(
        hidden_layer_sizes=(16,),
        solver="sgd",
        momentum=0.9,
        learning_rate_init=0.01,
        random_state=0,
    )
    cv = KFold(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fused = cross_validate(est, X, y, cv=cv, return_estimator=True)
        train = next(iter(cv.split(X)))[0]
        # the lone fit on the Keras template: the other backend
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(population, "STACKED_STEPS", 0)
            lone = clone(est).fit(X[train], y[train])
    member = fused["estimator"][0]
    assert 1 < lone.n_iter_ < est.max_iter  # it diverged after its first epoch
    assert member.n_iter_ == lone.n_iter_
    np.testing.assert_allclose(member.loss_curve_, lone.loss_curve_, rtol=1e-12)
    for a, b in zip(member._resume.optimizer_state, lone._resume.optimizer_state, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    for a, b in zip(member._weights[0], lone._weights[0], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        member.partial_fit(X[train], y[train])
        lone.partial_fit(X[train], y[train])
    # both go on diverging from the same finite state: rounding differences grow, slowly
    np.testing.assert_allclose(member.predict(X), lone.predict(X), rtol=1e-9)
