"""scikeras conventions that a scikeras user's code relies on, kept by keraskit's wrappers."""

import numpy as np
import pytest
import sklearn
from keras import callbacks, layers, models, saving
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from keraskit import KerasClassifier


@pytest.fixture(scope="module")
def binary():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4))
    return X, (X[:, 0] > 0).astype(int)


def sigmoid_model(meta, compile_kwargs):
    """scikeras's documented pattern: pick a loss when the wrapper leaves it to the model."""
    model = models.Sequential(
        [layers.Input((meta["n_features_in_"],)), layers.Dense(1, activation="sigmoid")]
    )
    loss = compile_kwargs["loss"] or "binary_crossentropy"
    model.compile(loss=loss, optimizer=compile_kwargs["optimizer"])
    return model


def test_a_model_function_chooses_its_loss_when_loss_is_none(binary):
    X, y = binary
    seen = []

    def spy(meta, compile_kwargs):
        seen.append(compile_kwargs["loss"])
        return sigmoid_model(meta, compile_kwargs)

    clf = KerasClassifier(model=spy, epochs=2, verbose=0, random_state=0).fit(X, y)
    assert seen == [None]
    assert clf.model_.loss == "binary_crossentropy"
    pipe = make_pipeline(StandardScaler(), KerasClassifier(model=sigmoid_model, verbose=0))
    search = GridSearchCV(pipe, {"kerasclassifier__epochs": [1, 2]}, cv=2).fit(X, y)
    assert set(search.best_estimator_.predict(X)) <= {0, 1}
    # a loss given to the wrapper reaches the model function (built, with keraskit's
    # weighted-mean reduction)
    KerasClassifier(model=spy, loss="binary_crossentropy", verbose=0).fit(X, y)
    assert "binary_crossentropy" in repr(seen[-1])


def test_callbacks_get_routed_parameters_by_key_index_or_for_all(binary):
    X, y = binary
    common = dict(model=sigmoid_model, epochs=1, verbose=0)
    clf = KerasClassifier(
        **common,
        callbacks={"stop": callbacks.EarlyStopping, "plateau": callbacks.ReduceLROnPlateau},
        callbacks__monitor="loss",
        callbacks__stop__patience=7,
        callbacks__plateau__factor=0.25,
    ).fit(X, y)
    stop, plateau = clf._callbacks()
    assert (stop.patience, stop.monitor) == (7, "loss")
    assert (plateau.factor, plateau.monitor) == (0.25, "loss")
    clf = KerasClassifier(
        **common, callbacks=[callbacks.EarlyStopping], callbacks__0__patience=3
    ).fit(X, y)
    assert clf._callbacks()[0].patience == 3


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(callbacks=[callbacks.EarlyStopping], callbacks__1__patience=3), "routes to no"),
        (dict(callbacks=[callbacks.EarlyStopping], callbacks__0__nonsense=3), "takes no arg"),
        (dict(callbacks=[callbacks.EarlyStopping()], callbacks__0__patience=3), "an instance"),
    ],
)
def test_misrouted_callback_parameters_are_refused(binary, params, message):
    X, y = binary
    clf = KerasClassifier(model=sigmoid_model, epochs=1, verbose=0, **params)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")


def test_build_fn_still_works_with_scikeras_warning(binary):
    X, y = binary
    with pytest.warns(UserWarning, match="``build_fn`` will be renamed to ``model``"):
        clf = KerasClassifier(build_fn=sigmoid_model, epochs=1, verbose=0).fit(X, y)
    assert clf.model_.loss == "binary_crossentropy"


class OwnBuild(KerasClassifier):
    """A subclass that builds its model itself, as scikeras documents."""

    def _keras_build_fn(self, meta, compile_kwargs):
        return sigmoid_model(meta, compile_kwargs)


def test_a_subclass_may_define_keras_build_fn(binary):
    X, y = binary
    clf = OwnBuild(epochs=1, verbose=0).fit(X, y)
    assert clf.model_.outputs[0].shape[-1] == 1
    with pytest.raises(ValueError, match="cannot implement ``_keras_build_fn``"):
        OwnBuild(model=sigmoid_model, epochs=1, verbose=0).fit(X, y)


def test_a_single_class_target_is_fitted_and_always_predicted(binary):
    X, _ = binary
    y = np.full(len(X), "only")
    clf = KerasClassifier(model=sigmoid_model, epochs=1, verbose=0).fit(X, y)
    assert clf.classes_.tolist() == ["only"]
    assert clf.predict(X).tolist() == ["only"] * len(X)
    np.testing.assert_array_equal(clf.predict_proba(X), np.ones((len(X), 1)))
    assert clf.score(X, y) == 1.0


class UnregisteredNet(models.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.out = layers.Dense(2, activation="softmax")

    def call(self, x):
        return self.out(x)


@saving.register_keras_serializable(package="keraskit_tests")
class RegisteredNet(UnregisteredNet):
    pass


def build_registered():
    return RegisteredNet()


def build_unregistered():
    return UnregisteredNet()


def test_subclassed_models_train_and_pickle_when_registered(binary):
    import pickle

    X, y = binary
    clf = KerasClassifier(model=build_registered, epochs=1, verbose=0).fit(X, y)
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(back.predict_proba(X), clf.predict_proba(X), rtol=1e-6)
    unregistered = KerasClassifier(model=build_unregistered, epochs=1, verbose=0).fit(X, y)
    data = pickle.dumps(unregistered)
    with pytest.raises(TypeError, match="register_keras_serializable"):
        pickle.loads(data)


def test_a_model_parameter_the_function_does_not_take_is_refused(binary):
    X, y = binary
    clf = KerasClassifier(model=sigmoid_model, model__widht=8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="model__widht is routed to the model function"):
        clf.fit(X, y)
    # bare keyword arguments stay optional: they go to the functions that take them
    KerasClassifier(model=sigmoid_model, width=8, epochs=1, verbose=0).fit(X, y)


def test_sparse_x_is_fed_batch_by_batch_unless_small(binary, monkeypatch):
    import scipy.sparse as sp

    from keraskit._engine import data

    X, y = binary
    X_sparse = sp.csc_matrix(np.where(np.abs(X) > 1, X, 0.0))
    common = dict(model=sigmoid_model, epochs=2, batch_size=16, verbose=0, random_state=0)
    clf = KerasClassifier(**common).initialize(X_sparse, y)
    received = []
    real_fit = models.Model.fit

    def spy(model, x, *args, **kwargs):  # whichever model trains (the wrapper's twin)
        received.append(x)
        return real_fit(model, x, *args, **kwargs)

    monkeypatch.setattr(models.Model, "fit", spy)
    with monkeypatch.context() as patch:
        patch.setattr(data, "SMALL_SPARSE", 10)  # X counts as large: never densified
        clf.set_params(warm_start=True).fit(X_sparse, y)
    assert sp.issparse(received[0]) and received[0].format == "csr"
    clf.fit(X_sparse, y)  # a small X trains densified, Keras' faster path
    assert isinstance(received[1], np.ndarray)
    np.testing.assert_array_equal(received[1], X_sparse.toarray())
    dense = KerasClassifier(**common).fit(X_sparse.toarray(), y)
    sparse = KerasClassifier(**common).fit(X_sparse, y)
    np.testing.assert_allclose(
        sparse.predict_proba(X_sparse), dense.predict_proba(X_sparse.toarray()), atol=1e-5
    )


def test_wrappers_save_to_a_safe_file_and_load(binary, tmp_path):
    import keraskit

    X, y = binary
    labels = np.where(y == 1, "yes", "no")
    clf = KerasClassifier(
        model=sigmoid_model, epochs=2, verbose=0, random_state=0, optimizer__learning_rate=0.01
    )
    clf.fit(X, labels)
    clf.save(tmp_path / "clf.keraskit")
    back = keraskit.load(tmp_path / "clf.keraskit")
    assert type(back) is KerasClassifier and back.classes_.tolist() == ["no", "yes"]
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.current_epoch == 2 and back.get_params()["optimizer__learning_rate"] == 0.01
    back.partial_fit(X, labels)  # compiled state came back: it trains on
    assert back.current_epoch == 3
    with_callback = KerasClassifier(
        model=sigmoid_model, epochs=1, verbose=0, callbacks=[callbacks.EarlyStopping()]
    ).fit(X, y)
    with pytest.raises(TypeError, match="a EarlyStopping, which keraskit cannot store"):
        with_callback.save(tmp_path / "cb.keraskit")


@saving.register_keras_serializable(package="keraskit_tests")
class _Counting(callbacks.Callback):
    """A registered callback class: stored by its registered name."""

    def __init__(self, every=1):
        super().__init__()
        self.every = every

    def get_config(self):
        return {"every": self.every}


class _Unregistered(callbacks.Callback):
    pass


def test_save_stores_keras_and_registered_callback_classes_by_name(binary, tmp_path):
    import keraskit

    X, y = binary
    clf = KerasClassifier(
        model=sigmoid_model, epochs=3, verbose=0, random_state=0,
        callbacks=[callbacks.EarlyStopping, _Counting], callbacks__0__patience=1,
        callbacks__0__monitor="loss", callbacks__1__every=2,
    ).fit(X, y)  # fmt: skip
    clf.save(tmp_path / "clf.keraskit")
    back = keraskit.load(tmp_path / "clf.keraskit")
    assert back.get_params()["callbacks"] == [callbacks.EarlyStopping, _Counting]
    assert back.get_params()["callbacks__0__patience"] == 1
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    back.partial_fit(X, y)  # the classes are built again, with their routed arguments
    with pytest.raises(TypeError, match="the class _Unregistered, which keraskit cannot store"):
        clf.set_params(callbacks=[_Unregistered]).save(tmp_path / "no.keraskit")


def logits_model(meta):
    return models.Sequential([layers.Input((meta["n_features_in_"],)), layers.Dense(1)])


def test_routed_loss_arguments_reach_the_loss(binary):
    from keras import losses

    X, y = binary
    for loss in ("binary_crossentropy", losses.BinaryCrossentropy):
        clf = KerasClassifier(
            model=logits_model, loss=loss, loss__from_logits=True, epochs=1, verbose=0
        ).fit(X, y)
        assert clf.model_.loss.get_config()["from_logits"] is True


@pytest.mark.parametrize(
    "params, error, message",
    [
        (dict(loss="no_such_loss"), ValueError, "Could not interpret loss identifier"),
        (dict(metrics=["no_such_metric"]), ValueError, "Could not interpret metric identifier"),
        (dict(optimizer=object()), ValueError, "Could not interpret optimizer identifier"),
        (dict(loss="bce", loss__no_such_arg=1), TypeError, "no_such_arg"),
    ],
)
def test_uncompilable_settings_get_clear_errors(binary, params, error, message):
    X, y = binary
    clf = KerasClassifier(model=logits_model, epochs=1, verbose=0, **params)
    with pytest.raises(error, match=message):
        clf.fit(X, y)


def test_a_model_compiled_without_a_loss_gets_kerass_error(binary):
    X, y = binary

    def no_loss(meta):
        model = logits_model(meta)
        model.compile(optimizer="adam")
        return model

    with pytest.raises(ValueError, match="No loss to compute"):
        KerasClassifier(model=no_loss, epochs=1, verbose=0).fit(X, y)


def test_copies_and_loaded_wrappers_train_models_of_their_own(binary, tmp_path):
    import copy

    import keraskit

    X, y = binary
    clf = KerasClassifier(model=sigmoid_model, epochs=1, verbose=0, random_state=0).fit(X, y)
    before = clf.predict_proba(X)
    twin = copy.copy(clf)
    twin.partial_fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), before)  # the original is untouched
    assert not np.array_equal(twin.predict_proba(X), before)
    clf.save(tmp_path / "clf.keraskit")
    loaded = keraskit.load(tmp_path / "clf.keraskit")
    saved = [w.copy() for w in loaded.get_params()["model"].get_weights()]
    loaded.partial_fit(X, y)
    for a, b in zip(loaded.get_params()["model"].get_weights(), saved, strict=True):
        np.testing.assert_array_equal(a, b)  # the model parameter is not trained in place


def test_routing_requests_do_not_block_save(binary, tmp_path):
    from keraskit import MLPClassifier

    X, y = binary
    with sklearn.config_context(enable_metadata_routing=True):
        est = MLPClassifier((4,), max_iter=2).set_fit_request(sample_weight=True).fit(X, y)
    est.save(tmp_path / "est.keraskit")
    import keraskit

    loaded = keraskit.load(tmp_path / "est.keraskit")
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    # the request is not stored: the loaded estimator has scikit-learn's default, set it again
    with sklearn.config_context(enable_metadata_routing=True):
        assert est.get_metadata_routing().fit.requests["sample_weight"] is True
        assert loaded.get_metadata_routing().fit.requests["sample_weight"] is None


# ------------------------------------------- scikeras's own suite: behaviours matched
def named_output(meta, compile_kwargs):
    inp = layers.Input((meta["n_features_in_"],))
    model = models.Model(inp, layers.Dense(1, name="out1")(inp))
    model.compile(**compile_kwargs)  # scikeras's pattern: the loss structure as routed
    return model


@pytest.mark.parametrize(
    "params, error, message",
    [
        (dict(loss=[None]), ValueError, "provide a loss"),
        (dict(loss={"out1": None}), ValueError, "provide a loss"),
        (dict(optimizer=None), ValueError, "You must provide an optimizer"),
        (
            dict(loss="binary_crossentropy", metrics=["accuracy", len], metrics__name="n"),
            TypeError,
            "does not accept parameters because it's not a class",
        ),
    ],
)
def test_settings_scikeras_refuses_are_refused_in_its_words(binary, params, error, message):
    X, y = binary
    with pytest.raises(error, match=message):
        KerasClassifier(model=logits_model, epochs=1, verbose=0, **params).fit(X, y)


def test_a_loss_function_given_routed_parameters_is_refused(binary):
    from keras import losses

    X, y = binary
    clf = KerasClassifier(
        model=logits_model, loss=losses.binary_crossentropy, loss__from_logits=True, verbose=0
    )
    with pytest.raises(TypeError, match="does not accept parameters because it's not a class"):
        clf.fit(X, y)


def test_each_loss_of_a_list_or_dict_gets_its_own_routed_parameters(binary):
    from keras import losses

    X, y = binary
    for loss, key in (([losses.BinaryCrossentropy], 0), ({"out1": "BinaryCrossentropy"}, "out1")):
        common = dict(model=named_output, loss=loss, epochs=1, verbose=0, loss__from_logits=True)
        est = KerasClassifier(**common).fit(X, y)
        assert est.model_.loss[key].get_config()["from_logits"] is True
        est = KerasClassifier(**common, **{f"loss__{key}__from_logits": False}).fit(X, y)
        assert est.model_.loss[key].get_config()["from_logits"] is False


def test_a_model_compiled_with_another_loss_than_the_parameter_is_refused(binary):
    from keras import losses

    X, y = binary

    def compiled(meta, my_loss):
        model = sigmoid_like(meta)
        model.compile(loss=my_loss, optimizer="sgd")
        return model

    own = losses.BinaryCrossentropy()
    est = KerasClassifier(compiled, my_loss=own, epochs=1, verbose=0).fit(X, y)
    assert est.model_.loss is own  # loss=None: the model's own loss, not compiled again
    same = KerasClassifier(compiled, my_loss=own, loss=losses.BinaryCrossentropy(), verbose=0)
    assert same.fit(X, y).model_.loss is own
    other = KerasClassifier(compiled, my_loss=own, loss="hinge", epochs=1, verbose=0)
    with pytest.raises(ValueError, match=" but model compiled with "):
        other.fit(X, y)


def sigmoid_like(meta):
    return models.Sequential(
        [layers.Input((meta["n_features_in_"],)), layers.Dense(1, activation="sigmoid")]
    )


class _Positional(callbacks.Callback):
    def __init__(self, *args, **kwargs):
        super().__init__()
        self.got = (args, kwargs)


def test_callbacks_take_positional_arguments_and_a_single_instance(binary):
    X, y = binary
    clf = KerasClassifier(
        sigmoid_model, epochs=1, verbose=0, callbacks={"p": _Positional},
        callbacks__p__1="second", callbacks__p__0="first", callbacks__p__name="kw",
    )  # fmt: skip
    (built,) = clf._callbacks()
    assert built.got == (("first", "second"), {"name": "kw"})
    single = KerasClassifier(sigmoid_model, epochs=1, verbose=0, callbacks=_Positional())
    assert single.fit(X, y).current_epoch == 1


def test_parameters_routed_further_are_not_given_to_the_optimizer(binary):
    X, y = binary
    clf = KerasClassifier(
        sigmoid_model, epochs=1, verbose=0, optimizer__this_should_not_pass__abc="error!"
    )
    assert clf.fit(X, y).current_epoch == 1


def test_later_fits_must_look_like_the_first_in_scikeras_words(binary):
    X, y = binary
    X_int, y_int = (X * 10).astype(np.int64), y.astype(np.int64)
    clf = KerasClassifier(sigmoid_model, epochs=1, verbose=0).fit(X_int, y_int)
    clf.partial_fit(X_int.astype(np.uint8), y_int.astype(np.uint8))  # safe casts: taken
    for args, message in (
        ((X_int.astype(np.float64), y_int), "Got X with dtype float64, but this KerasClassifier"),
        ((X_int, y_int.astype(np.float64)), "Got y with dtype float64"),
        ((X_int, y_int.reshape(-1, 1)), "y has 2 dimensions, but this KerasClassifier expected 1"),
        ((X_int, np.where(y_int == 1, 7, 0)), r"Found unknown categories \[7\]"),
    ):
        with pytest.raises(ValueError, match=message):
            clf.partial_fit(*args)
    assert clf.current_epoch == 2  # the refused calls changed nothing


def test_partial_fit_trains_one_epoch_whatever_fit_epochs_says(binary):
    X, y = binary
    clf = KerasClassifier(sigmoid_model, verbose=0, fit__epochs=2)
    clf.partial_fit(X, y)
    assert clf.current_epoch == 1 and len(clf.history_["loss"]) == 1
    clf.fit(X, y)
    assert clf.current_epoch == 2


def test_history_keys_are_kerass_full_metric_names(binary):
    X, y = binary
    clf = KerasClassifier(
        sigmoid_like, loss="binary_crossentropy", metrics=["mae"], epochs=2, verbose=0,
        fit__validation_split=0.25,
    ).fit(X, y)  # fmt: skip
    assert set(clf.history_) == {
        "loss", "mean_absolute_error", "val_loss", "val_mean_absolute_error",
    }  # fmt: skip
