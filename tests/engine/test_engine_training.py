"""The engine trained on arrays, with no estimator class in sight."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning

from keraskit._engine import cache, data, distribute, lbfgs, lone, template
from keraskit._engine.records import FitData, Progress, Resume, TrainSpec
from keraskit._networks.specs import MLPSpec


def _regression(n=64, d=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.rand(n, d)
    return X, (X @ np.array([1.0, -2.0, 0.5])[:d])[:, None]


def test_a_template_trains_on_arrays_and_the_loss_falls(make_cfg):
    X, Y = _regression()
    spec = MLPSpec(3, (8,), "tanh", 1, "identity", dtype="float64")
    trainer = cache.get_trainer(spec, TrainSpec("squared_error", "adam"))
    rng = np.random.RandomState(0)
    weights = template.initial_weights(trainer.template, rng, 6.0)
    progress, resume = Progress(early_stopping=False, learning_rate=0.05), Resume()
    data = FitData(X, Y, np.ones(len(X)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted, n_iter = lone.train(
            trainer, weights, data, make_cfg(), progress, resume, None, None, rng
        )
    assert n_iter == 30 and len(progress.loss_curve) == 30
    assert progress.loss_curve[-1] < progress.loss_curve[0] / 5
    tensors = tuple([tf.constant(a) for a in part] for part in fitted)
    out = trainer.template.predict(fitted, lambda: tensors, X)
    assert np.mean((out - Y) ** 2) < np.mean((Y - Y.mean()) ** 2) / 5
    assert resume.optimizer_state is not None and resume.optimizer_spec == trainer.spec
    assert resume.best_weights is None  # no early stopping


def test_lbfgs_reaches_the_optimum_scipy_finds_on_a_convex_problem(make_cfg):
    X, Y = _regression(n=40)
    alpha = 0.3
    spec = MLPSpec(3, (), "relu", 1, "identity", dtype="float64")  # linear: ridge regression
    trainer = cache.get_trainer(spec, TrainSpec("squared_error", "lbfgs"))
    weights = template.initial_weights(trainer.template, np.random.RandomState(0), 6.0)
    cfg = make_cfg(max_iter=200, tol=1e-10, alpha=alpha, max_fun=15000)
    progress = Progress(early_stopping=False, learning_rate=0.0)
    (trained, _), n_iter, loss = lbfgs.train_lbfgs(
        trainer, weights, FitData(X, Y, np.ones(len(X))), cfg, progress, None
    )
    n = len(X)

    def objective(w):  # sklearn's: (0.5 * sum of squared errors + 0.5 * alpha * |W|^2) / n
        r = X @ w[:3] + w[3] - Y[:, 0]
        grad = np.r_[X.T @ r + alpha * w[:3], r.sum()] / n
        return (0.5 * r @ r + 0.5 * alpha * w[:3] @ w[:3]) / n, grad

    x0 = np.r_[weights[0][0].ravel(), weights[0][1]]
    options = {"maxfun": 15000, "maxiter": 200, "gtol": 1e-10}
    scipy_run = minimize(objective, x0, method="L-BFGS-B", jac=True, options=options)
    found = np.r_[trained[0].ravel(), trained[1]]
    np.testing.assert_allclose(found, scipy_run.x, atol=1e-7)  # the same algorithm, same path
    assert loss == pytest.approx(scipy_run.fun, rel=1e-10)
    A = np.c_[X, np.ones(n)]  # and both reach ridge regression's closed form
    exact = np.linalg.solve(A.T @ A + np.diag([alpha] * 3 + [0.0]), A.T @ Y[:, 0])
    np.testing.assert_allclose(found, exact, atol=1e-4)
    assert n_iter == scipy_run.nit
    assert 0 < n_iter <= 200 and len(progress.history) == n_iter


def test_dense_and_sparse_rows_give_the_same_tensors():
    X, Y = _regression(n=50)
    X[X < 0.5] = 0.0
    sw = np.linspace(0.5, 1.5, len(X))
    dense = data.tensor_chunks(X, Y, sw, tf.float64)
    sparse = data.tensor_chunks(sp.csr_matrix(X), Y, sw, tf.float64)
    for a, b in zip(dense(), sparse(), strict=True):
        for ta, tb in zip(a, b, strict=True):
            np.testing.assert_array_equal(ta.numpy(), tb.numpy())
    assert list(dense())[0][0] is list(dense())[0][0]  # dense chunks are made once


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_chunked_rows_follow_the_epoch_order_of_in_graph_rows(kind, monkeypatch):
    X, Y = _regression(n=50)
    fit = FitData(X if kind == "dense" else sp.csr_matrix(X), Y, np.arange(50.0), rows=None)
    order = np.random.RandomState(0).permutation(50).astype(np.int32)
    monkeypatch.setattr(data, "CHUNK_BYTES", 8 * 3 * 8)  # two batches of 4 rows per chunk
    chunked = data.TrainingRows(fit, tf.float64, batch_size=4)
    assert not chunked.in_graph if kind == "sparse" else chunked.in_graph
    monkeypatch.setattr(data, "IN_GRAPH_BYTES", 0)
    chunked = data.TrainingRows(fit, tf.float64, batch_size=4)
    assert not chunked.in_graph
    parts = list(chunked.chunks(chunked.epoch_index(order)))
    assert [int(p[3].shape[0]) for p in parts] == [8] * 6 + [2]
    rows = np.concatenate([p[0].numpy() for p in parts])
    np.testing.assert_array_equal(rows, X[order])
    np.testing.assert_array_equal(np.concatenate([p[2].numpy() for p in parts]), order)


def test_a_validation_split_by_index_selects_rows_without_copying_x():
    X, Y = _regression(n=20)
    fit = FitData(X, Y, np.ones(20), rows=np.array([3, 5, 7]))
    rows = data.TrainingRows(fit, tf.float64, batch_size=2)
    (chunk,) = rows.chunks(rows.epoch_index(np.array([2, 0, 1], dtype=np.int32)))
    np.testing.assert_array_equal(chunk[3].numpy(), [7, 3, 5])
    assert fit.n_train == 3


def test_the_caches_stay_bounded(monkeypatch):
    monkeypatch.setattr(cache, "CACHE_SIZE", 2)
    specs = [MLPSpec(2, (k,), "relu", 1, "identity") for k in (31, 32, 33, 34)]
    for spec in specs:
        cache.get_trainer(spec, TrainSpec("squared_error", "sgd"))
    n_templates, n_trainers = cache.cached_counts()
    assert n_templates <= 2 and n_trainers <= 2
    assert cache.get_template(specs[-1]) is cache.get_template(specs[-1])  # most recent kept


def test_the_precision_policy():
    assert distribute.resolve_precision(False) is None
    assert distribute.resolve_precision("float16") == "float16"
    expected = "float16" if tf.config.list_logical_devices("GPU") else "bfloat16"
    assert distribute.resolve_precision(True) == expected
    spec = MLPSpec(3, (4,), "relu", 2, "softmax", mixed_precision="bfloat16")
    model = cache.get_template(spec).model
    policies = {layer.name: layer.dtype_policy.name for layer in model.layers[1:]}
    assert policies["hidden_0"] == "mixed_bfloat16"
    assert policies["logits"] == policies["output_activation"] == "float32"  # outputs stay float32
