"""scikeras conventions that a scikeras user's code relies on, kept by keraskit's wrappers."""

import numpy as np
import pytest
from keras import callbacks, layers, models
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
