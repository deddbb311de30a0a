"""Training that cannot give finite weights raises scikit-learn's error and keeps the fit."""

import numpy as np
import pytest
from _estimators import cases, fit, methods
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from keraskit import MLPRegressor

CASES = cases()
MESSAGE = "Solver produced non-finite parameter weights. The input data may contain large"


@pytest.mark.parametrize("precision", ["float64", "float32", "bfloat16"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_overflowing_input_raises_sklearns_error_and_keeps_the_fitted_model(case, precision):
    _, est, X, y = case
    dtype = np.float64 if precision == "float64" else np.float32
    est = clone(est).set_params(mixed_precision=precision if precision == "bfloat16" else False)
    fitted = fit(est, X.astype(dtype), y)
    before = {m: getattr(fitted, m)(X.astype(dtype)) for m in methods(fitted)}
    huge = (X * np.finfo(dtype).max).astype(dtype)  # finite values whose products overflow
    y_huge = y if y is None or "Classifier" in type(est).__name__ else y * 1e3
    with pytest.raises(ValueError, match=MESSAGE):
        fit(fitted, huge, y_huge)
    for method, value in before.items():
        np.testing.assert_array_equal(getattr(fitted, method)(X.astype(dtype)), value)


@pytest.mark.parametrize("warm_start", [False, True])
def test_weights_gone_non_finite_are_never_kept(warm_start):
    # the case: adamw without a second moment in bfloat16 gives NaN weights
    X, y = load_digits(return_X_y=True)
    est = MLPRegressor(
        solver="adamw",
        beta_2=0.0,
        mixed_precision="bfloat16",
        warm_start=warm_start,
        max_iter=3,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning, match="diverged at iteration 2"):
        est.fit(X, y)
    assert np.isfinite(est.predict(X)).all() and np.isfinite(est.loss_curve_).all()
    assert all(np.isfinite(c).all() for c in est.coefs_ + est.intercepts_)
    if warm_start:  # continuing from there diverges in its first epoch: refused, kept
        before = est.predict(X)
        with pytest.raises(ValueError, match=MESSAGE):
            est.fit(X, y)
        np.testing.assert_array_equal(est.predict(X), before)
