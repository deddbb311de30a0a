"""KerasClassifier / KerasRegressor: scikeras's usage guide with only the import changed,
and what keraskit adds (clones keep their settings, seeds without global side effects)."""

import pickle
import random
import warnings

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from keraskit import KerasClassifier, KerasRegressor

X, y = make_classification(400, 12, n_informative=6, random_state=0)
X = X.astype(np.float32)
Xr, yr = make_regression(400, 12, noise=0.1, random_state=0)
yr = yr / yr.std()


def get_clf(meta, hidden_layer_sizes, dropout):
    """scikeras's usage-guide classifier: one sigmoid unit, built from ``meta``."""
    model = keras.models.Sequential()
    model.add(keras.layers.Input(shape=(meta["n_features_in_"],)))
    for size in hidden_layer_sizes:
        model.add(keras.layers.Dense(size, activation="relu"))
        model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    return model


def get_reg(meta, hidden_layer_sizes, dropout):
    model = keras.models.Sequential([keras.layers.Input(shape=(meta["n_features_in_"],))])
    for size in hidden_layer_sizes:
        model.add(keras.layers.Dense(size, activation="relu"))
        model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(meta["n_outputs_"]))
    return model


def test_scikeras_usage_guide_flows(tmp_path):
    """The usage guide, in order, in one process: only the import differs from scikeras."""
    # 1. binary classifier from a meta-using model function with bare keyword arguments
    clf = KerasClassifier(
        model=get_clf,
        loss="binary_crossentropy",
        hidden_layer_sizes=(32,),
        dropout=0.5,
        epochs=10,
        verbose=0,
        random_state=0,
    )
    clf.fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert clf.score(X, y) > 0.75
    assert set(clf.predict(X)) <= {0, 1}

    # 2. regressor with the r_squared metric
    reg = KerasRegressor(
        model=get_reg,
        loss="mse",
        metrics=[KerasRegressor.r_squared],
        hidden_layer_sizes=(32,),
        dropout=0.0,
        epochs=15,
        verbose=0,
        optimizer__learning_rate=0.01,
        random_state=0,
    )
    reg.fit(Xr, yr)
    assert reg.score(Xr, yr) > 0.8
    assert set(reg.history_) == {"loss", "r_squared"} and len(reg.history_["loss"]) == 15

    # 3. pickling
    restored = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(restored.predict(Xr), reg.predict(Xr))

    # 4. wrapping a saved Keras model with initialize (no training)
    path = str(tmp_path / "model.keras")
    reg.model_.save(path)
    reg_new = KerasRegressor(model=keras.saving.load_model(path), verbose=0)
    reg_new.initialize(Xr, yr)
    np.testing.assert_allclose(reg_new.predict(Xr), reg.predict(Xr), rtol=1e-6)

    # 5. a Pipeline
    pipe = Pipeline([("scale", StandardScaler()), ("reg", clone(reg))]).fit(Xr, yr)
    assert pipe.score(Xr, yr) > 0.8

    # 6. a stopping callback with fit__validation_split
    stopper = KerasClassifier(
        model=get_clf,
        loss="binary_crossentropy",
        hidden_layer_sizes=(32,),
        dropout=0.0,
        epochs=200,
        verbose=0,
        optimizer__learning_rate=0.05,
        callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=2)],
        fit__validation_split=0.2,
        random_state=0,
    ).fit(X, y)
    assert 3 <= len(stopper.history_["val_loss"]) < 200

    # 7. a grid search over optimizer__learning_rate, model__hidden_layer_sizes, model__dropout
    params = {
        "optimizer__learning_rate": [0.001, 0.02],
        "model__hidden_layer_sizes": [(8,), (16, 16)],
        "model__dropout": [0.0, 0.3],
    }
    search = GridSearchCV(clf, params, cv=2, refit=False, scoring="accuracy").fit(X, y)
    assert len(search.cv_results_["params"]) == 8
    assert search.best_score_ > 0.7


class _CountEpochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


def test_clones_in_a_grid_search_keep_epochs_and_callbacks():
    """keras.wrappers loses fit settings when sklearn clones the estimator; we must not."""
    clf = KerasClassifier(
        get_clf,
        hidden_layer_sizes=(8,),
        dropout=0.0,
        epochs=3,
        verbose=0,
        callbacks=[_CountEpochs()],
    )
    twin = clone(clf)
    assert twin.epochs == 3 and isinstance(twin.callbacks[0], _CountEpochs)
    assert twin.get_params()["hidden_layer_sizes"] == (8,)
    search = GridSearchCV(clf, {"optimizer__learning_rate": [0.01, 0.02]}, cv=2).fit(X, y)
    assert len(search.best_estimator_.history_["loss"]) == 3
    assert all(len(v) == 3 for k, v in search.best_estimator_.history_.items())


def test_random_state_is_reproducible_and_leaves_no_global_trace():
    import tensorflow as tf
    from tensorflow.python.eager import context

    state = random.getstate()
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 (the legacy global state)
    params = dict(hidden_layer_sizes=(16,), dropout=0.2, epochs=3, verbose=0)
    a = KerasClassifier(get_clf, random_state=7, **params).fit(X, y)
    b = KerasClassifier(get_clf, random_state=7, **params).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert random.getstate() == state
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert context.global_seed() is None
    # scikeras's bug: after a seeded fit, unseeded random ops crash
    tf.random.uniform((2,))
    c = KerasClassifier(get_clf, **params).fit(X, y)
    assert c.predict(X).shape == (len(X),)


def test_model_instance_is_cloned_not_trained_in_place():
    model = get_reg({"n_features_in_": 12, "n_outputs_": 1}, (8,), 0.0)
    before = [w.copy() for w in model.get_weights()]
    reg = KerasRegressor(model, loss="mse", epochs=2, verbose=0).fit(Xr, yr)
    assert reg.model_ is not model
    for w, v in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(w, v)


def test_multiclass_multilabel_and_images():
    y3 = np.arange(len(X)) % 3

    def softmax_model(meta):
        return keras.Sequential(
            [
                keras.Input(meta["X_shape_"][1:]),
                keras.layers.Dense(8, activation="relu"),
                keras.layers.Dense(meta["n_classes_"], activation="softmax"),
            ]
        )

    clf = KerasClassifier(softmax_model, epochs=2, verbose=0, random_state=0).fit(X, y3)
    assert clf.predict_proba(X).shape == (len(X), 3)
    assert set(clf.predict(X)) <= {0, 1, 2}
    onehot = KerasClassifier(softmax_model, loss="categorical_crossentropy", epochs=1, verbose=0)
    assert onehot.fit(X, y3).predict(X[:5]).shape == (5,)

    Y = np.column_stack([y, 1 - y, y])

    def sigmoid_model(meta):
        return keras.Sequential(
            [
                keras.Input((meta["n_features_in_"],)),
                keras.layers.Dense(meta["n_classes_"], activation="sigmoid"),
            ]
        )

    ml = KerasClassifier(sigmoid_model, epochs=2, verbose=0).fit(X, Y)
    assert ml.predict(X).shape == Y.shape

    images = np.random.RandomState(0).rand(60, 8, 8, 1).astype(np.float32)

    def conv_model(meta):
        return keras.Sequential(
            [
                keras.Input(meta["X_shape_"][1:]),
                keras.layers.Conv2D(4, 3, activation="relu"),
                keras.layers.GlobalAveragePooling2D(),
                keras.layers.Dense(meta["n_classes_"], activation="softmax"),
            ]
        )

    cnn = KerasClassifier(conv_model, epochs=1, verbose=0).fit(images, np.arange(60) % 2)
    assert cnn.predict_proba(images).shape == (60, 2)
    with pytest.raises(ValueError, match="shape"):
        cnn.predict(images[:, :, :6])


def test_warm_start_partial_fit_and_set_params():
    clf = KerasClassifier(get_clf, hidden_layer_sizes=(8,), dropout=0.0, epochs=2, verbose=0)
    clf.set_params(warm_start=True, optimizer__learning_rate=0.01, model__dropout=0.1)
    assert clf.get_params()["optimizer__learning_rate"] == 0.01
    clf.fit(X, y)
    first = clf.model_.get_weights()
    clf.fit(X, y)  # scikeras: the model is kept, the epoch count starts again
    assert len(clf.history_["loss"]) == 2 and clf.current_epoch == 2
    assert not np.allclose(clf.model_.get_weights()[0], first[0])
    clf.fit(X, y, initial_epoch=2)  # ... unless the fit says where it starts
    assert clf.current_epoch == 4
    clf.partial_fit(X, y)  # partial_fit continues the count
    assert len(clf.history_["loss"]) == 5
    with pytest.raises(ValueError, match="Invalid parameter"):
        clf.set_params(not_a_parameter=1)


def test_bad_input_is_refused_clearly_and_keeps_the_fitted_model():
    clf = KerasClassifier(get_clf, hidden_layer_sizes=(8,), dropout=0.0, epochs=1, verbose=0)
    clf.fit(X, y)
    proba = clf.predict_proba(X)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :5])
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(X, np.linspace(0, 1, len(X)))
    np.testing.assert_array_equal(clf.predict_proba(X), proba)

    def wrong_width(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(5)])

    with pytest.raises(ValueError, match="output unit"):
        KerasRegressor(wrong_width, verbose=0).fit(Xr, yr)
    with pytest.raises(TypeError, match="keras.Model"):
        KerasRegressor(lambda: "not a model", verbose=0).fit(Xr, yr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="requires y"):
            KerasRegressor(get_reg, verbose=0).fit(Xr, None)


def test_review_cases_epochs_state_and_live_weights():
    reg = KerasRegressor(get_reg, hidden_layer_sizes=(8,), dropout=0.0, verbose=0, epochs=1)
    reg.fit(Xr, yr, epochs=3)  # fit(..., epochs=) wins over the constructor's, as in scikeras
    assert len(reg.history_["loss"]) == 3
    with pytest.raises(TypeError, match="one epoch"):
        reg.partial_fit(Xr, yr, epochs=2)
    # predictions follow later changes to model_ (no stale copy of the weights)
    before = reg.predict(Xr[:3])
    reg.model_.set_weights([np.zeros_like(w) for w in reg.model_.get_weights()])
    np.testing.assert_array_equal(reg.predict(Xr[:3]), np.zeros(3))
    assert not np.allclose(before, 0)

    # a failed warm-start fit puts back the optimizer state too
    warm = KerasRegressor(get_reg, hidden_layer_sizes=(8,), dropout=0.0, verbose=0)
    warm.set_params(warm_start=True, optimizer="adam").fit(Xr, yr)
    iterations = int(warm.model_.optimizer.iterations.numpy())

    class Boom(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        warm.fit(Xr, yr, callbacks=[Boom()])
    assert int(warm.model_.optimizer.iterations.numpy()) == iterations

    # initialize without y (regressor), a frozen layer, a seeded fit inside a user's sequence
    def frozen(meta):
        model = get_reg({"n_outputs_": 1, **meta}, (8,), 0.0)  # no y, no n_outputs_
        model.layers[0].trainable = False
        return model

    KerasRegressor(frozen, verbose=0).initialize(Xr).predict(Xr[:2])
    import tensorflow as tf

    tf.random.set_seed(123)
    first = float(tf.random.uniform(()))
    tf.random.set_seed(123)
    float(tf.random.uniform(()))
    KerasRegressor(frozen, verbose=0, random_state=0).fit(Xr, yr)
    assert float(tf.random.uniform(())) != first  # the user's sequence went on
    tf.random.set_seed(None)


def test_multilabel_targets_train_with_a_categorical_loss_as_in_scikeras():
    def softmax_model(meta):
        return keras.Sequential(
            [keras.Input((meta["n_features_in_"],)), keras.layers.Dense(3, activation="softmax")]
        )

    X = np.random.RandomState(0).rand(20, 4).astype(np.float32)
    Y = (np.random.RandomState(1).rand(20, 3) > 0.5).astype(int)
    clf = KerasClassifier(softmax_model, loss="categorical_crossentropy", epochs=1, verbose=0)
    assert clf.__sklearn_tags__().classifier_tags.multi_label
    assert clf.fit(X, Y).predict(X).shape == Y.shape  # the indicator rows, as given
    assert clf.partial_fit(X, Y).current_epoch == 2
    sparse = clf.set_params(loss="sparse_categorical_crossentropy")
    assert not sparse.__sklearn_tags__().classifier_tags.multi_label
    with pytest.raises(ValueError, match="takes one class index per sample"):
        sparse.fit(X, Y)
    default = KerasClassifier(softmax_model, epochs=1, verbose=0)
    assert default.__sklearn_tags__().classifier_tags.multi_label
    assert default.fit(X, Y).predict(X).shape == Y.shape  # loss=None picks one per label


def test_labels_are_learned_checked_and_decoded_like_the_estimators():
    from keraskit import MLPClassifier

    labels = np.array(["no", "yes"])[y]
    mlp = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(X, labels)
    params = dict(hidden_layer_sizes=(4,), dropout=0.0, epochs=1, verbose=0)
    clf = KerasClassifier(get_clf, **params).fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, mlp.classes_)
    assert clf.target_type_ == mlp._label_binarizer.y_type_ == "binary"
    assert set(clf.predict(X)) <= {"no", "yes"}
    as_objects = KerasClassifier(get_clf, **params).fit(X, labels.astype(object))
    assert as_objects.classes_.dtype == object  # as scikeras keeps them
    with pytest.raises(ValueError, match=r"Found unknown categories \['maybe'\]"):
        clf.partial_fit(X[:2], np.array(["maybe", "no"]))
    with pytest.raises(ValueError, match="y has 2 dimensions, but this KerasClassifier expected 1"):
        clf.partial_fit(X[:2], np.array([[1, 0], [0, 1]]))

    def softmax(meta):
        dense = keras.layers.Dense(meta["n_classes_"], activation="softmax")
        return keras.Sequential([keras.Input((meta["n_features_in_"],)), dense])

    declared = KerasClassifier(softmax, epochs=1, verbose=0)
    declared.partial_fit(X[:4], np.zeros(4, int), classes=[0, 1, 2])
    assert declared.target_type_ == "multiclass" and declared.n_classes_ == 3


def test_regressors_predict_float64_whatever_the_model_computes_in():
    def model(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(2)])

    X = np.random.RandomState(0).rand(20, 4).astype(np.float32)
    reg = KerasRegressor(model, epochs=1, verbose=0).fit(X, np.c_[X[:, 0], X[:, 1]])
    assert reg.predict(X).dtype == np.float64


def test_sparse_rows_predict_as_their_dense_rows_a_chunk_at_a_time():
    import scipy.sparse as sp

    rng = np.random.RandomState(0)
    n_features = 2**17  # a densified chunk holds at most 2**22 values: 32 rows here
    X = sp.random(100, n_features, density=1e-4, format="csr", random_state=rng)
    y = rng.randint(0, 2, size=100)

    def model(meta):
        return keras.Sequential(
            [keras.Input((n_features,)), keras.layers.Dense(2, activation="softmax")]
        )

    est = KerasClassifier(model, epochs=1, verbose=0, random_state=0).fit(X, y)
    expected = est.model_(X[:40].toarray(), training=False).numpy()
    np.testing.assert_allclose(est.predict_proba(X)[:40], expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(est.predict_proba(X), est.predict_proba(X.toarray()))
