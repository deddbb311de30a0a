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


def test_cache_is_bounded():
    n_templates, n_trainers = cache.cached_counts()
    assert n_templates <= cache.CACHE_SIZE
    assert n_trainers <= cache.CACHE_SIZE


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
