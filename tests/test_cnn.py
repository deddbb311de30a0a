"""CNNClassifier / CNNRegressor: input kinds, presets, augmentation, shapes and accuracy."""

import pickle
import warnings

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import InvalidParameterError

from keraskit import CNNClassifier, CNNRegressor, MLPClassifier
from keraskit.datasets import make_shifted_signals


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.fixture(scope="module")
def digits_split():
    d = load_digits()
    X = (d.images / 16.0).astype(np.float32)  # float32: the dtype a CNN is fast in
    return train_test_split(X, d.target, test_size=0.25, stratify=d.target, random_state=0)


def test_default_cnn_on_digit_images_beats_098_as_images_and_as_pipeline_rows(digits_split):
    X_tr, X_te, y_tr, y_te = digits_split
    cnn = _fit(CNNClassifier(random_state=0), X_tr, y_tr)  # (n, 8, 8)
    assert cnn.input_shape_ == (8, 8, 1)
    images_acc = cnn.score(X_te, y_te)
    print(f"digits: CNN images {images_acc:.4f}")
    assert images_acc >= 0.98
    # the same network given the images as pipeline rows trains the same arithmetic, so its
    # accuracy is the same (a few epochs show it, without a second full fit)
    flat = FunctionTransformer(lambda X: X.reshape(len(X), -1))
    pipe = make_pipeline(flat, CNNClassifier(input_shape=(8, 8, 1), random_state=0, max_iter=3))
    rows = _fit(pipe, X_tr, y_tr)
    images = _fit(CNNClassifier(random_state=0, max_iter=3), X_tr, y_tr)
    np.testing.assert_array_equal(rows.predict_proba(X_te), images.predict_proba(X_te))


def test_default_cnn_beats_default_mlp_on_shifted_signals():
    X, y = make_shifted_signals(n_samples=900, random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    cnn = _fit(CNNClassifier(random_state=0, max_iter=60), X_tr, y_tr).score(X_te, y_te)
    mlp = _fit(MLPClassifier(random_state=0, max_iter=60), X_tr[..., 0], y_tr).score(
        X_te[..., 0], y_te
    )
    print(f"shifted signals: CNN {cnn:.4f}, MLP {mlp:.4f}")
    assert cnn > 0.9 and cnn > mlp + 0.15


@pytest.mark.parametrize(
    "shape, kind, expected",
    [
        ((40, 12), "rows", (12, 1)),
        ((40, 20, 3), "signal", (20, 3)),
        ((40, 8, 8), "single-channel images", (8, 8, 1)),
        ((40, 8, 8, 3), "images", (8, 8, 3)),
        ((40, 1), "length-1 rows", (1, 1)),
        ((40, 2), "length-2 rows", (2, 1)),
    ],
)
def test_input_kinds(shape, kind, expected):
    rng = np.random.RandomState(0)
    X = rng.rand(*shape).astype(np.float32)
    y = rng.randint(0, 2, size=shape[0])
    est = _fit(CNNClassifier(conv_filters=(4, 8), dense_layer_sizes=(8,), max_iter=2), X, y)
    assert est.input_shape_ == expected, kind
    conv = [layer for layer in est.model_.layers if "conv" in layer.name][0]
    assert isinstance(conv, keras.layers.Conv1D if len(expected) == 2 else keras.layers.Conv2D)
    assert est.predict(X).shape == (shape[0],)


def test_shape_errors_name_expected_and_received():
    rng = np.random.RandomState(0)
    X = rng.rand(30, 100).astype(np.float32)
    y = rng.randint(0, 2, size=30)
    with pytest.raises(ValueError, match=r"input_shape=\(28, 28, 1\) needs 784 values.*X has 100"):
        CNNClassifier(input_shape=(28, 28, 1)).fit(X, y)
    est = _fit(
        CNNClassifier(conv_filters=(4,), dense_layer_sizes=(4,), max_iter=1), rng.rand(30, 8, 8), y
    )
    with pytest.raises(
        ValueError,
        match=r"samples of shape \(8, 10, 1\).*fitted on samples of "
        r"shape \(8, 8, 1\)",
    ):
        est.predict(rng.rand(5, 8, 10))
    with pytest.raises(ValueError, match="too small"):
        CNNClassifier(padding="valid", kernel_size=5).fit(rng.rand(30, 3), y)
    with pytest.raises(ValueError, match="flip='horizontal' applies to images"):
        CNNClassifier(flip="horizontal").fit(rng.rand(30, 20, 1), y)
    with pytest.raises(ValueError, match="2 to 4 dimensions"):
        CNNClassifier().fit(rng.rand(30, 2, 2, 2, 2), y)


@pytest.mark.parametrize("architecture", ["lenet5", "vgg", "resnet"])
def test_presets(digits_split, architecture):
    X_tr, X_te, y_tr, y_te = digits_split
    est = _fit(
        CNNClassifier(
            architecture=architecture, max_iter=15, learning_rate_init=0.005, random_state=0
        ),
        X_tr[:600],
        y_tr[:600],
    )
    layers = est.model_.layers
    convs = _layers(est, keras.layers.Conv2D)
    if architecture == "lenet5":
        assert [c.filters for c in convs] == [6, 16] and convs[0].kernel_size == (5, 5)
    elif architecture == "vgg":
        assert [c.filters for c in convs] == [32, 32, 64, 64, 128, 128]
    else:
        assert any(isinstance(layer, keras.layers.Add) for layer in layers)
        assert any(isinstance(layer, keras.layers.GlobalAveragePooling2D) for layer in layers)
    assert est.score(X_te, y_te) > 0.5


def test_augmentation_changes_training_not_predict_and_is_seeded(digits_split):
    X_tr, _, y_tr, _ = digits_split
    X, y = X_tr[:300], y_tr[:300]
    kw = dict(conv_filters=(8,), dense_layer_sizes=(16,), max_iter=3)
    aug = dict(rotation=15.0, translation=0.1, zoom=0.1, noise_std=0.05)
    plain = _fit(CNNClassifier(random_state=0, **kw), X, y)
    a = _fit(CNNClassifier(random_state=0, **aug, **kw), X, y)
    b = _fit(CNNClassifier(random_state=0, **aug, **kw), X, y)
    c = _fit(CNNClassifier(random_state=1, **aug, **kw), X, y)
    assert a.loss_curve_ != plain.loss_curve_  # training batches were augmented
    assert a.loss_curve_ == b.loss_curve_  # reproducible with random_state
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.loss_curve_ != c.loss_curve_
    model = a.model_
    inference = np.asarray(model(X[..., None], training=False))
    np.testing.assert_allclose(a.predict_proba(X), inference, rtol=1e-5)
    np.testing.assert_array_equal(a.predict_proba(X), a.predict_proba(X))
    assert not np.allclose(np.asarray(model(X[..., None], training=True)), inference)


def test_signal_augmentation_and_persistence():
    X, y = make_shifted_signals(n_samples=200, length=40, random_state=1)
    est = _fit(
        CNNClassifier(
            conv_filters=(8,),
            dense_layer_sizes=(8,),
            shift=0.1,
            scale=0.2,
            noise_std=0.1,
            max_iter=3,
            random_state=0,
        ),
        X,
        y,
    )
    names = [layer.name for layer in est.model_.layers]
    assert "shift" in names and "scale" in names and "noise" in names
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict_proba(X), est.predict_proba(X))
    assert restored.input_shape_ == (40, 1)


def test_regressor_on_images():
    rng = np.random.RandomState(0)
    X = rng.rand(200, 8, 8).astype(np.float32)
    y = (X[:, :4, :4].mean(axis=(1, 2)) - 0.5) * 10  # brightness of one quadrant
    est = _fit(
        CNNRegressor(
            conv_filters=(8,),
            dense_layer_sizes=(16,),
            max_iter=60,
            learning_rate_init=0.01,
            random_state=0,
        ),
        X,
        y,
    )
    assert est.predict(X).shape == (200,)
    assert est.score(X, y) > 0.8


def test_residual_blocks_with_strides_and_global_max_pooling():
    rng = np.random.RandomState(0)
    X = rng.rand(50, 16, 2).astype(np.float32)
    y = rng.randint(0, 3, size=50)
    est = _fit(
        CNNClassifier(
            conv_filters=(4, 8),
            residual=True,
            strides=2,
            convs_per_block=2,
            global_pooling="max",
            dense_layer_sizes=(),
            max_iter=2,
        ),
        X,
        y,
    )
    names = [layer.name for layer in est.model_.layers]
    assert "shortcut_0" in names and "add_1" in names and "global_pool" in names
    assert est.predict_proba(X).shape == (50, 3)


def _layers(est, kind):
    return [layer for layer in est.model_.layers if isinstance(layer, kind)]


def test_auto_architecture_depends_on_the_input_kind():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 2, size=30)
    small = dict(conv_filters=(4, 8), dense_layer_sizes=(8,), max_iter=2)
    signals = _fit(CNNClassifier(**small), rng.rand(30, 40).astype(np.float32), y)
    assert [c.kernel_size for c in _layers(signals, keras.layers.Conv1D)] == [(7,), (7,)]
    assert len(_layers(signals, keras.layers.BatchNormalization)) == 3  # 2 convs, 1 dense
    assert _layers(signals, keras.layers.GlobalAveragePooling1D)
    images = _fit(CNNClassifier(**small), rng.rand(30, 8, 8).astype(np.float32), y)
    assert [c.kernel_size for c in _layers(images, keras.layers.Conv2D)] == [(3, 3)] * 2
    assert not _layers(images, keras.layers.BatchNormalization)
    assert _layers(images, keras.layers.Flatten)
    assert images.get_params()["kernel_size"] == "auto"  # resolving leaves the parameter alone


def test_explicit_values_replace_auto_on_signals():
    rng = np.random.RandomState(0)
    X, y = rng.rand(30, 40).astype(np.float32), rng.randint(0, 2, size=30)
    est = _fit(
        CNNClassifier(
            conv_filters=(4,),
            dense_layer_sizes=(8,),
            kernel_size=3,
            global_pooling=None,
            batch_normalization=False,
            max_iter=2,
        ),
        X,
        y,
    )
    assert _layers(est, keras.layers.Conv1D)[0].kernel_size == (3,)
    assert not _layers(est, keras.layers.BatchNormalization)
    assert _layers(est, keras.layers.Flatten)


def test_lbfgs_turns_auto_batch_normalization_off_and_refuses_an_explicit_one():
    rng = np.random.RandomState(0)
    X, y = rng.rand(30, 20).astype(np.float32), rng.randint(0, 2, size=30)
    kw = dict(conv_filters=(4,), dense_layer_sizes=(8,), solver="lbfgs", max_iter=3)
    est = _fit(CNNClassifier(**kw), X, y)
    assert not _layers(est, keras.layers.BatchNormalization)
    with pytest.raises(ValueError, match="batch_normalization=True makes the objective"):
        CNNClassifier(batch_normalization=True, **kw).fit(X, y)


@pytest.mark.parametrize(
    "param, value",
    [("kernel_size", "wide"), ("global_pooling", "mean"), ("batch_normalization", 1.5)],
)
def test_bad_auto_parameters_are_refused_in_sklearn_wording(param, value):
    rng = np.random.RandomState(0)
    with pytest.raises(InvalidParameterError, match=f"The '{param}' parameter of CNNClassifier"):
        CNNClassifier(**{param: value}).fit(rng.rand(20, 10), rng.randint(0, 2, 20))
