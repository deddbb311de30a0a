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
