"""keraskit.pipelines: steps that hand data to the estimators."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from keraskit import CNNClassifier
from keraskit.pipelines import ImageShaper


@parametrize_with_checks([ImageShaper(image_shape=(-1, 1))])
def test_sklearn_compatible_step(estimator, check):
    check(estimator)


def test_scales_and_shapes_digits():
    X, y = load_digits(return_X_y=True)
    rows = ImageShaper((8, 8, 1)).fit(X)
    assert rows.scale_ == 16.0
    assert rows.transform(X).max() == 1.0 and rows.transform(X).shape == (1797, 64)
    images = ImageShaper((8, 8, 1), output="images").fit_transform(X)
    assert images.shape == (1797, 8, 8, 1)
    assert ImageShaper((8, 8, 1), scale=255).fit(X).scale_ == 255.0


def test_pandas_output_and_pipeline_to_cnn():
    X, y = load_digits(return_X_y=True)
    step = ImageShaper((8, 8, 1)).set_output(transform="pandas")
    frame = step.fit_transform(X)
    assert list(frame.columns[:2]) == ["pixel_0_0_0", "pixel_0_1_0"]
    pipe = make_pipeline(
        ImageShaper((8, 8, 1)),
        CNNClassifier(
            input_shape=(8, 8, 1),
            conv_filters=(8,),
            dense_layer_sizes=(16,),
            max_iter=5,
            random_state=0,
        ),
    )
    pipe.fit(X[:300], y[:300])
    assert pipe.predict(X[:10]).shape == (10,)


def test_wrong_image_shape_is_named():
    with pytest.raises(ValueError, match=r"image_shape=\(28, 28, 1\) needs 784 features; X has 64"):
        ImageShaper((28, 28, 1)).fit(np.zeros((3, 64)))
    with pytest.raises(ValueError, match="multiple of 3 features; X has 64"):
        ImageShaper((-1, 3)).fit(np.zeros((3, 64)))
    assert ImageShaper((-1, 4, 1)).fit(np.zeros((3, 64))).image_shape_ == (16, 4, 1)
