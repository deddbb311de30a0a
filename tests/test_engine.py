"""The training engine compiles once per architecture and is shared across fits."""

import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from keraskit import MLPClassifier
from keraskit._engine import cache
from keraskit._engine.template import CompiledFunction


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def test_fits_of_one_shape_share_one_compiled_epoch_function(monkeypatch):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    first = _fit(MLPClassifier((12,), max_iter=2, random_state=0), X[:200], y[:200])
    first.predict_proba(X[:5])
    first.predict_proba(np.tile(X, (50, 1)))  # large enough for the TensorFlow path
    # every graph keraskit runs is a CompiledFunction, traced when first called: count those
    traced, concrete = [], CompiledFunction.concrete

    def counting(self):
        if self._concrete is None:
            traced.append(self.function.python_function.__qualname__)
        return concrete(self)

    monkeypatch.setattr(CompiledFunction, "concrete", counting)
    # other data sizes, seeds, penalties, learning rates, batch sizes and label smoothing:
    # all tensors, so no new graph
    for i, n in enumerate([150, 300, 250]):
        est = MLPClassifier(
            (12,),
            max_iter=2,
            random_state=i,
            alpha=10.0**-i,
            learning_rate_init=0.01 / (i + 1),
            batch_size=32 * (i + 1),
            label_smoothing=0.1 * i,
            l1=0.01 * i,
        )
        _fit(est, X[:n], y[:n])
        est.predict_proba(X[: n // 3])
        est.predict_proba(np.tile(X, (40 + i, 1)))
    assert traced == []
    # a new width trains on the stacked trainer, whose one trace serves every width
    wider = _fit(MLPClassifier((13,), max_iter=2, random_state=0), X[:200], y[:200])
    assert traced == []
    wider.predict_proba(np.tile(X, (50, 1)))  # its first TensorFlow predict traces its network
    assert traced, "a new width's predict traces a new graph; the counter must see it"


def test_concurrent_estimators_of_one_shape_do_not_share_weights():
    X, y = load_digits(return_X_y=True)
    X = X[:200] / 16.0
    a = _fit(MLPClassifier((12,), max_iter=2, random_state=0), X, y[:200])
    proba_a = a.predict_proba(X)
    _fit(MLPClassifier((12,), max_iter=2, random_state=1), X, y[:200])  # same template
    np.testing.assert_array_equal(a.predict_proba(X), proba_a)


def test_cache_keeps_the_most_recently_used_architectures_only(monkeypatch):
    monkeypatch.setattr(cache, "CACHE_SIZE", 3)
    X, y = load_digits(return_X_y=True)
    X, y = X[:60] / 16.0, y[:60]
    # planning a fit gets (and caches) its architecture's template
    archs = [MLPClassifier((units,)).plan_fit(X, y).arch for units in (3, 4, 5, 6, 7)]
    first = cache.get_template(archs[2])
    assert cache.cached_counts()[0] == 3
    assert cache.get_template(archs[2]) is first  # kept: among the 3 most recent
    assert set(cache._templates) == {(a, None) for a in archs[2:]}
    rebuilt = cache.get_template(archs[0])  # gone: built again, and the oldest now goes
    assert (archs[0], None) in cache._templates and (archs[3], None) not in cache._templates
    assert rebuilt.model is not None and cache.cached_counts()[0] == 3


def test_predict_of_one_row_agrees_with_the_batch_path():
    X, y = load_digits(return_X_y=True)
    est = _fit(MLPClassifier((12,), max_iter=2, random_state=0), X[:300] / 16, y[:300])
    batch = est.predict_proba(X[:50] / 16)
    rows = np.vstack([est.predict_proba(X[i : i + 1] / 16) for i in range(50)])
    # BLAS may block a 1-row product differently from a 50-row one: the last bit can differ
    np.testing.assert_allclose(rows, batch, rtol=1e-12, atol=0)


def test_a_search_over_many_architectures_prints_no_retracing_warning(caplog):
    # one compiled function per architecture is the design, not TensorFlow's "function
    # re-created in a loop" mistake that its retracing warning is about
    X, y = load_digits(return_X_y=True)
    X = X[:60] / 16.0
    for units in range(3, 11):
        est = _fit(MLPClassifier((units,), max_iter=1, random_state=0), X, y[:60])
        est.predict_proba(np.tile(X, (200, 1)))  # the compiled (TensorFlow) predict path
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


def test_fits_of_one_shape_in_four_threads_equal_their_serial_fits():
    from concurrent.futures import ThreadPoolExecutor

    from keraskit import CNNClassifier

    rng = np.random.RandomState(0)
    X, y = rng.rand(60, 6, 6).astype(np.float32), np.arange(60) % 3

    def fitted(seed):  # CNNs train on their Keras template, through trainer_for_fit
        est = CNNClassifier(
            conv_filters=(4,), dense_layer_sizes=(8,), max_iter=3, random_state=seed
        )
        return _fit(est, X, y).predict_proba(X)

    serial = [fitted(seed) for seed in range(4)]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(fitted, range(4)))
    for seed, (a, b) in enumerate(zip(serial, threaded, strict=True)):
        np.testing.assert_array_equal(a, b, err_msg=f"random_state={seed}")
    assert not np.array_equal(serial[0], serial[1])  # the fits differ: nothing was shared
