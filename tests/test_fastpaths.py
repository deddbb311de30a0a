"""The fast paths give the plain path's results: NumPy inference, chunked epochs, reuse."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from keraskit import AutoencoderTransformer, CNNClassifier, MLPClassifier, MLPRegressor
from keraskit._engine import cache, fastpath
from keraskit._engine import data as engine_data

ACTIVATIONS = ["identity", "logistic", "tanh", "relu", "elu", "leaky_relu", "gelu", "selu", "swish"]
RTOL = {np.float32: 2e-5, np.float64: 1e-12}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _digits(dtype=np.float64, n=300):
    X, y = load_digits(return_X_y=True)
    return (X[:n] / 16).astype(dtype), y[:n]


def _both_paths(monkeypatch, fn):
    """``fn()`` through NumPy (default for small inputs) and through TensorFlow."""
    fast = fn()
    with monkeypatch.context() as m:
        m.setattr(fastpath, "NUMPY_BUDGET", 0)
        plain = fn()
    return fast, plain


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_numpy_inference_matches_tensorflow(monkeypatch, activation, dtype):
    X, y = _digits(dtype)
    est = MLPClassifier(
        (9, 7),
        activation=activation,
        batch_normalization=True,
        dropout=0.1,
        max_iter=3,
        random_state=0,
    ).fit(X, y)
    fast, plain = _both_paths(monkeypatch, lambda: est.predict_proba(X[:40]))
    assert fast.dtype == plain.dtype == dtype
    np.testing.assert_allclose(fast, plain, rtol=RTOL[dtype], atol=1e-7)


@pytest.mark.parametrize(
    "est, target",
    [
        (MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0), "sum"),
        (
            MLPRegressor(hidden_layer_sizes=(8,), loss="poisson", max_iter=3, random_state=0),
            "count",
        ),
        (MLPClassifier((8,), max_iter=3, random_state=0), "binary"),
        (MLPClassifier((8,), max_iter=3, random_state=0), "multilabel"),
    ],
    ids=["squared", "poisson", "binary", "multilabel"],
)
def test_numpy_inference_matches_tensorflow_for_every_output(monkeypatch, est, target):
    X, y = _digits()
    targets = {
        "sum": X.sum(axis=1),
        "count": (y % 4).astype(float),
        "binary": y % 2,
        "multilabel": np.column_stack([y % 2, y > 4]),
    }
    est.fit(X, targets[target])
    method = est.predict_proba if hasattr(est, "predict_proba") else est.predict
    fast, plain = _both_paths(monkeypatch, lambda: method(X[:30]))
    np.testing.assert_allclose(fast, plain, rtol=1e-12, atol=1e-14)


def test_autoencoder_numpy_paths_match_tensorflow(monkeypatch):
    X, _ = _digits(np.float32)
    ae = AutoencoderTransformer(
        hidden_layer_sizes=(16,), encoding_dim=4, batch_normalization=True, max_iter=3
    )
    ae.set_params(random_state=0).fit(X)
    for method in (ae.transform, ae.score_samples):
        fast, plain = _both_paths(monkeypatch, lambda method=method: method(X[:25]))
        np.testing.assert_allclose(fast, plain, rtol=2e-5, atol=1e-6)
    codes = ae.transform(X[:25])
    fast, plain = _both_paths(monkeypatch, lambda: ae.inverse_transform(codes))
    np.testing.assert_allclose(fast, plain, rtol=2e-5, atol=1e-6)


def test_only_dense_networks_take_the_numpy_path():
    X, y = _digits(np.float32, n=120)
    mlp = MLPClassifier((8,), max_iter=2, random_state=0).fit(X, y)
    cnn = CNNClassifier(conv_filters=(4,), dense_layer_sizes=(8,), max_iter=2, random_state=0)
    cnn.set_params(input_shape=(8, 8, 1)).fit(X, y)
    assert cache.get_template(mlp._arch)._numpy["model"] is not None
    assert cache.get_template(cnn._arch)._numpy["model"] is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_row_and_small_batches_agree_with_large_batches(dtype):
    X, y = _digits(dtype)
    est = MLPClassifier((32,), max_iter=3, random_state=0).fit(X, y)
    big = np.tile(X, (30, 1))  # 9,000 rows: past the NumPy budget, TensorFlow runs it
    template = cache.get_template(est._arch)
    assert not template._numpy["model"].worth_it(len(big))
    batch = est.predict_proba(big)[: len(X)]
    rows = np.vstack([est.predict_proba(X[i : i + 1]) for i in range(len(X))])
    sevens = np.vstack([est.predict_proba(X[i : i + 7]) for i in range(0, len(X), 7)])
    for other in (rows, sevens):
        np.testing.assert_allclose(other, batch, rtol=RTOL[dtype], atol=1e-7)
    np.testing.assert_array_equal(est.predict(X), est.predict(big)[: len(X)])


@pytest.mark.parametrize("kind", ["dense", "early_stopping", "sparse"])
def test_chunked_epochs_match_in_graph_epochs(monkeypatch, kind):
    """Large (or sparse) data is fed a chunk of whole batches at a time: same training."""
    X, y = _digits(n=500)
    params = dict(hidden_layer_sizes=(10,), max_iter=4, random_state=0, batch_size=64)
    if kind == "early_stopping":
        params.update(early_stopping=True, validation_fraction=0.2)
    ref = MLPClassifier(**params).fit(X, y)
    with monkeypatch.context() as m:
        m.setattr(engine_data, "IN_GRAPH_BYTES", 0)
        m.setattr(engine_data, "CHUNK_BYTES", 3 * 64 * 64 * 8)  # three batches per chunk
        data = sp.csr_matrix(X) if kind == "sparse" else X
        chunked = MLPClassifier(**params).fit(data, y)
    np.testing.assert_allclose(chunked.loss_curve_, ref.loss_curve_, rtol=1e-12)
    for a, b in zip(chunked.coefs_, ref.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    if kind == "early_stopping":
        np.testing.assert_allclose(chunked.validation_scores_, ref.validation_scores_)


def test_interleaved_estimators_of_one_shape_keep_their_own_state():
    """Fits of one shape share a template and a trainer, never weights or optimizer state."""
    X, y = _digits()
    alone = MLPClassifier((12,), random_state=0, max_iter=2).fit(X, y)
    alone.partial_fit(X, y)
    a = MLPClassifier((12,), random_state=0, max_iter=2).fit(X, y)
    b = MLPClassifier((12,), random_state=5, max_iter=2).fit(X[::-1], y[::-1])
    a.partial_fit(X, y)  # continues a's optimizer state, not b's
    b.partial_fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), alone.predict_proba(X))
    assert a.loss_curve_ == alone.loss_curve_
    assert not np.allclose(b.predict_proba(X), a.predict_proba(X))


def test_a_deleted_estimator_leaves_nothing_behind():
    """The shared caches hold compiled functions, never estimators or their data."""
    import gc
    import weakref

    X, y = _digits(np.float32)
    X = X.copy()
    est = MLPClassifier((12,), max_iter=2, random_state=0).fit(X, y)
    est.predict_proba(X[:3])
    est.predict_proba(np.tile(X, (40, 1)))  # the TensorFlow path too
    refs = [weakref.ref(est), weakref.ref(X)]
    n_templates = cache.cached_counts()[0]
    del est, X
    gc.collect()
    assert all(r() is None for r in refs)
    assert cache.cached_counts()[0] == n_templates <= cache.CACHE_SIZE
