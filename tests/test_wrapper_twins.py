"""The wrappers' twins: fits of one architecture train one compiled clone, with the same bits.

A wrapper builds a new Keras model for every fit; Keras would trace its train function for
each. Twins (``estimators/wrappers/_twins.py``) train instead, their variables loaded from
and given back to the estimator's own model.
"""

from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import pytest

from keraskit import KerasClassifier, KerasRegressor
from keraskit.estimators.wrappers import _twins


def dropout_model(meta):
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dropout(0.3),  # seed-generator states travel with the weights
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.rand(60, 4).astype(np.float32)
    return X, (X[:, 0] > 0.5).astype(int) + (X[:, 1] > 0.5)


def _fits(X, y, seeds=(0, 1)):
    out = []
    for seed in seeds:
        est = KerasClassifier(dropout_model, epochs=2, verbose=0, random_state=seed)
        est.fit(X, y).partial_fit(X, y)  # the optimizer state goes back and forth
        out.append((est.predict_proba(X), est.current_epoch, dict(est.history_)))
    return out


def test_twins_train_exactly_as_the_models_themselves(data, monkeypatch):
    X, y = data
    made = []
    real = _twins._make_twin
    monkeypatch.setattr(_twins, "_make_twin", lambda model: made.append(1) or real(model))
    with_twins = _fits(X, y, seeds=(0, 1, 2))
    assert len(made) <= 1  # one twin served every fit (none if another test made it)
    monkeypatch.setattr(_twins, "twin_key", lambda model, X: None)
    alone = _fits(X, y, seeds=(0, 1, 2))
    for (a, epochs_a, hist_a), (b, epochs_b, hist_b) in zip(with_twins, alone, strict=True):
        np.testing.assert_array_equal(a, b)
        assert epochs_a == epochs_b == 3 and hist_a == hist_b
    assert not np.array_equal(with_twins[0][0], with_twins[1][0])  # the seeds differ


def test_learning_rates_share_one_twin_and_each_fit_keeps_its_own(data, monkeypatch):
    X, y = data
    made = []
    real = _twins._make_twin
    monkeypatch.setattr(_twins, "_make_twin", lambda model: made.append(1) or real(model))

    def seven_units(meta):  # an architecture no other test trains
        return keras.Sequential(
            [
                keras.Input((meta["n_features_in_"],)),
                keras.layers.Dense(7, activation="relu"),
                keras.layers.Dense(meta["n_classes_"], activation="softmax"),
            ]
        )

    def fits():
        out = []
        for rate in (0.001, 0.3, 0.001):
            est = KerasClassifier(seven_units, optimizer="adam", optimizer__learning_rate=rate)
            est.set_params(epochs=2, verbose=0, random_state=0).fit(X, y)
            out.append((est.predict_proba(X), est.model_.optimizer.learning_rate.numpy()))
        return out

    twinned = fits()
    assert len(made) == 1  # one trace for the three rates
    monkeypatch.setattr(_twins, "twin_key", lambda model, X: None)
    for (a, rate_a), (b, rate_b) in zip(twinned, fits(), strict=True):
        np.testing.assert_array_equal(a, b)
        assert rate_a == rate_b
    assert np.isclose(twinned[1][1], 0.3) and not np.allclose(twinned[0][0], twinned[1][0])
    np.testing.assert_array_equal(twinned[0][0], twinned[2][0])


def test_metric_names_a_list_of_losses_and_custom_optimizers_keep_their_own(data):
    X, y = data

    def named(name):
        est = KerasClassifier(dropout_model, epochs=1, verbose=0, random_state=0)
        metric = keras.metrics.SparseCategoricalAccuracy(name=name)
        return est.set_params(metrics=[metric]).fit(X, y)

    first, second = named("acc_a"), named("acc_b")
    assert "acc_a" in first.history_ and "acc_b" in second.history_  # no shared twin
    assert _twins.twin_key(first.model_, X) != _twins.twin_key(second.model_, X)
    listed = KerasRegressor(float64_model, loss=["mse"], epochs=1, verbose=0)
    listed.fit(X.astype(np.float64), y.astype(np.float64))
    assert _twins.twin_key(listed.model_, X) is None  # its items' dtype would not survive

    @keras.saving.register_keras_serializable(package="keraskit_tests")
    class CustomSGD(keras.optimizers.SGD):
        pass

    custom = KerasClassifier(dropout_model, optimizer=CustomSGD, epochs=1, verbose=0)
    custom.set_params(optimizer__learning_rate=0.05).fit(X, y)
    optimizer = _twins._settings_traced(custom.model_.get_compile_config())["optimizer"]
    assert optimizer["config"]["learning_rate"] == pytest.approx(0.05)  # stays in the key
    plain = KerasClassifier(dropout_model, epochs=1, verbose=0).fit(X, y)
    assert _twins._settings_traced(plain.model_.get_compile_config())["optimizer"]["config"][
        "learning_rate"
    ] == ("a variable")


def test_an_estimator_keeps_its_own_model(data):
    X, y = data
    a = KerasClassifier(dropout_model, epochs=1, verbose=0, random_state=0).fit(X, y)
    before = a.predict_proba(X)
    KerasClassifier(dropout_model, epochs=3, verbose=0, random_state=1).fit(X, y)  # same twin
    np.testing.assert_array_equal(a.predict_proba(X), before)
    assert a.model_.optimizer.iterations.numpy() > 0  # its optimizer state came back


def test_fits_in_threads_never_share_a_twin(data, monkeypatch):
    # (their bits are not the serial fits': a seeded wrapper fit seeds Keras's global
    # generators, which threads share, twins or not; and concurrent seeded fits put back
    # one another's seed, so this test clears TensorFlow's global seed afterwards)
    X, y = data
    in_use, shared = set(), []
    take, give_back = _twins._take, _twins._give_back

    def taking(key, model):
        twin = take(key, model)
        shared.append(id(twin) in in_use)
        in_use.add(id(twin))
        return twin

    def giving_back(key, twin):
        in_use.discard(id(twin))
        give_back(key, twin)

    monkeypatch.setattr(_twins, "_take", taking)
    monkeypatch.setattr(_twins, "_give_back", giving_back)

    def fitted(seed):
        est = KerasClassifier(dropout_model, epochs=3, verbose=0, random_state=seed)
        return est.fit(X, y).predict_proba(X)

    try:
        with ThreadPoolExecutor(3) as pool:
            outputs = list(pool.map(fitted, range(6)))
    finally:  # seeded fits in threads save and restore each other's global seed
        import tensorflow as tf

        tf.random.set_seed(None)
    assert len(shared) == 6 and not any(shared)
    assert all(np.isfinite(p).all() and np.allclose(p.sum(axis=1), 1) for p in outputs)


class Subclassed(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(1)

    def call(self, x):
        return self.dense(x)


def float64_model(meta):
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],), dtype="float64"),
            keras.layers.Dense(1, dtype="float64"),
        ]
    )


def test_models_without_a_config_train_themselves(data):
    X, y = data
    est = KerasRegressor(lambda: Subclassed(), loss="mse", epochs=1, verbose=0)
    est.fit(X, y.astype(float))
    assert _twins.twin_key(est.model_, X) is None
    assert est.current_epoch == 1
    plain = KerasClassifier(dropout_model, epochs=1, verbose=0).fit(X, y)
    assert _twins.twin_key(plain.model_, X) is not None


@pytest.mark.parametrize("loss", [None, "mse", "mae"])
def test_float64_models_train_through_twins_in_float64(data, monkeypatch, loss):
    # a loss's config leaves out its dtype: the twin must get the model's float64 loss back
    X, y = data
    X64, y64 = X.astype(np.float64), y.astype(np.float64)
    kw = dict(loss=loss, epochs=3, verbose=0, random_state=0, optimizer="adam")
    sw = np.arange(len(X)) % 3

    def fit():
        est = KerasRegressor(float64_model, metrics=["mse"], **kw)
        return est.fit(X64, y64, sample_weight=sw).partial_fit(X64, y64)

    twinned = fit()
    assert _twins.twin_key(twinned.model_, X64) is not None
    assert twinned.model_.loss.dtype == "float64"
    monkeypatch.setattr(_twins, "twin_key", lambda model, X: None)
    alone = fit()
    for a, b in zip(twinned.model_.get_weights(), alone.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert twinned.history_ == alone.history_


def test_a_sequential_model_without_an_input_still_trains(data):
    X, y = data

    def unbuilt(meta):  # no keras.Input: Keras builds it on the first batch
        return keras.Sequential([keras.layers.Dense(meta["n_classes_"], activation="softmax")])

    est = KerasClassifier(unbuilt, epochs=2, verbose=0, random_state=0).fit(X, y)
    assert est.current_epoch == 2 and est.predict(X).shape == y.shape
