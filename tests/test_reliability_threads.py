"""predict is safe from several threads at once on one fitted estimator."""

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from _estimators import cases, fit
from sklearn.exceptions import ConvergenceWarning

CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_concurrent_predict_matches_serial(case):
    _, est, X, y = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit(est, X, y)
    method = getattr(est, "predict_proba", None) or getattr(est, "predict", None) or est.transform
    chunks = [X[i : i + 5] for i in range(0, len(X), 5)] * 8
    serial = [method(c) for c in chunks]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(method, chunks))
    for a, b in zip(serial, parallel, strict=True):
        np.testing.assert_array_equal(a, b)
