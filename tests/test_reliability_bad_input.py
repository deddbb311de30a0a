"""Bad input, for every estimator and method: a clear ValueError/TypeError, state kept."""

import warnings

import numpy as np
import pytest
from _estimators import cases, fit, methods
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from keraskit import CNNClassifier, ConvAutoencoderTransformer

CASES = cases()
IDS = [c[0] for c in CASES]


def _bad_inputs(X):
    nan = X.copy()
    nan.flat[0] = np.nan
    inf = X.copy()
    inf.flat[1] = np.inf
    strings = X.astype(object)
    strings.flat[0] = "a string"
    return {
        "NaN": (nan, "NaN"),
        "infinity": (inf, "infinity|too large"),
        "strings": (strings, "could not convert|string"),
        "empty": (X[:0], "0 sample"),
        "one dimension": (X.reshape(-1)[:10], "Expected 2D array|dimensions"),
    }


@pytest.fixture(scope="module")
def fitted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return {name: fit(clone(est), X, y) for name, est, X, y in CASES}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bad_X_in_fit_and_every_method(case, fitted):
    name, est, X, y = case
    fitted_est = fitted[name]
    before = {m: getattr(fitted_est, m)(X) for m in methods(fitted_est)}
    tried = 0
    for label, (bad, match) in _bad_inputs(X).items():
        with pytest.raises((ValueError, TypeError), match=match):
            fit(fitted_est, bad, None if y is None else y[: len(bad)])
        for method in methods(fitted_est):
            with pytest.raises((ValueError, TypeError), match=match):
                getattr(fitted_est, method)(bad)
            tried += 1
        assert label
    for method, expected in before.items():  # failed calls left the model as it was
        np.testing.assert_array_equal(getattr(fitted_est, method)(X), expected)
    assert tried >= 5


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_wrong_shapes_and_lengths(case, fitted):
    name, est, X, y = case
    fitted_est = fitted[name]
    wrong_width = X[:, :-1] if X.ndim == 2 else X[:, :, :-1]
    for method in methods(fitted_est):
        with pytest.raises(ValueError, match="features|shape"):
            getattr(fitted_est, method)(wrong_width)
    if y is not None:
        with pytest.raises(ValueError, match="inconsistent numbers of samples"):
            clone(est).fit(X, y[:-3])


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if "Classifier" in c[0]],
    ids=[c[0] for c in CASES if "Classifier" in c[0]],
)
def test_single_class_and_regression_targets(case):
    _, est, X, y = case
    one_class = clone(est).fit(X, np.full(len(X), "only"))  # sklearn accepts one class
    assert list(one_class.classes_) == ["only"]
    assert (one_class.predict(X) == "only").all()
    proba = one_class.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.allclose(proba.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="Unknown label type"):
        clone(est).fit(X, np.linspace(0, 1, len(X)))


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if "Regressor" in c[0]],
    ids=[c[0] for c in CASES if "Regressor" in c[0]],
)
def test_negative_targets_for_poisson(case):
    _, est, X, y = case
    with pytest.raises(ValueError, match="negative.*poisson"):
        clone(est).set_params(loss="poisson").fit(X, -y)


@pytest.mark.parametrize(
    "params",
    [
        dict(alpha=-1.0),
        dict(solver="newton"),
        dict(learning_rate_init=0.0),
        dict(max_iter=0),
        dict(batch_size=-5),
        dict(activation="sigmoidal"),
        dict(validation_fraction=1.5),
    ],
    ids=lambda p: next(iter(p)),
)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_invalid_hyperparameters_are_named(case, params):
    _, est, X, y = case
    name = next(iter(params))
    with pytest.raises(ValueError, match=f"'{name}' parameter"):
        fit(clone(est).set_params(**params), X, y)


def test_shapes_that_cannot_be_built():
    from keraskit import CNNClassifier, MLPClassifier

    X, y = np.random.RandomState(0).rand(20, 3), np.arange(20) % 2
    with pytest.raises(ValueError, match="hidden_layer_sizes must be > 0"):
        MLPClassifier(hidden_layer_sizes=(4, 0)).fit(X, y)
    with pytest.raises(ValueError, match="too small"):
        CNNClassifier(padding="valid", kernel_size=7).fit(X, y)
    with pytest.raises(ValueError, match="conv_filters must be"):
        CNNClassifier(conv_filters=(8, -1)).fit(X, y)


@pytest.mark.parametrize(
    "est",
    [
        CNNClassifier(conv_filters=(2,), dense_layer_sizes=(4,), max_iter=1, random_state=0),
        ConvAutoencoderTransformer(encoding_dim=2, conv_filters=(2,), max_iter=1, random_state=0),
    ],
    ids=["CNNClassifier", "ConvAutoencoderTransformer"],
)
def test_convolutional_estimators_name_the_shape_they_expect(est):
    images = np.random.RandomState(0).rand(12, 8, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = fit(est, images, None if "Auto" in type(est).__name__ else np.arange(12) % 2)
    method = "transform" if hasattr(fitted, "transform") else "predict"
    with pytest.raises(ValueError, match=r"shape \(12, 64\).*Pass X of shape \(n_samples, 8, 8\)"):
        getattr(fitted, method)(images.reshape(12, 64))
    assert getattr(fitted, method)(images[:, :, :, None]).shape[0] == 12  # (n, 8, 8, 1) is fine
