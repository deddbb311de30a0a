"""The one label encoder (``estimators/_labels.py``) of the estimators and the wrappers."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelBinarizer

from keraskit.estimators import _labels

LABELS = {
    "one class": np.array(["a", "a", "a"]),
    "binary": np.array([3, 7, 7, 3, 7]),
    "multiclass": np.array(["x", "z", "y", "x"]),
    "multilabel": np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0]]),
}


@pytest.mark.parametrize("name", LABELS)
def test_indicators_and_decoding_are_label_binarizers(name):
    y = LABELS[name]
    binarizer = _labels.learn(y)
    reference = LabelBinarizer().fit(y)
    np.testing.assert_array_equal(binarizer.classes_, reference.classes_)
    Y = _labels.indicators(binarizer.classes_, binarizer.y_type_, y)
    np.testing.assert_array_equal(Y, reference.transform(y))
    assert Y.dtype == np.float64
    noisy = np.clip(Y + np.linspace(-0.3, 0.3, Y.size).reshape(Y.shape), 0, 1)
    decoded = _labels.decode(binarizer.classes_, binarizer.y_type_, noisy)
    np.testing.assert_array_equal(decoded, y)


def test_declared_classes_define_the_kind_of_the_whole_problem():
    binarizer = _labels.learn(np.array([1, 1]), classes=[1, 2])
    assert binarizer.y_type_ == "binary"
    assert list(binarizer.classes_) == [1, 2]
    assert _labels.learn(np.array([0, 0]), classes=[0, 1, 2]).y_type_ == "multiclass"


def test_codes_name_the_unknown_labels():
    classes = np.array(["a", "b"])
    np.testing.assert_array_equal(_labels.codes(classes, np.array(["b", "a"]), str), [1, 0])
    with pytest.raises(ValueError, match=r"unknown \['c', 'd'\]"):
        _labels.codes(classes, np.array(["a", "d", "c"]), lambda m: f"unknown {m}")


def test_two_softmax_columns_decode_by_argmax_and_a_wrong_width_is_an_error():
    classes = np.array([0, 1])
    proba = np.array([[0.2, 0.8], [0.9, 0.1]])
    np.testing.assert_array_equal(_labels.decode(classes, "binary", proba), [1, 0])
    with pytest.raises(ValueError, match="3 outputs for 2 classes"):
        _labels.decode(classes, "binary", np.ones((2, 3)))
    with pytest.raises(ValueError, match="indicator rows of 3 labels"):
        _labels.indicators(np.arange(3), "multilabel-indicator", np.ones((2, 4)))


def test_one_column_is_made_one_dimensional_with_a_warning():
    from sklearn.exceptions import DataConversionWarning

    with pytest.warns(DataConversionWarning):
        y = _labels.as_labels(np.array([[1], [2]]))
    assert y.shape == (2,)
    with pytest.raises(ValueError, match="Unknown label type"):
        _labels.as_labels(np.array([0.5, 1.5]))


def test_labels_where_indicator_rows_were_fitted_are_refused_and_the_other_way():
    with pytest.raises(ValueError, match="like the y of the first fit, one label per sample"):
        _labels.indicators(np.array([0, 1]), "binary", np.array([[1, 0], [0, 1]]))
    with pytest.raises(ValueError, match="like the y of the first fit, multilabel indicator"):
        _labels.indicators(np.arange(2), "multilabel-indicator", np.array([0, 1]))


def test_estimators_refuse_another_kind_of_y_on_a_warm_start_and_take_sparse_indicators():
    import scipy.sparse as sp

    from keraskit import MLPClassifier

    rng = np.random.RandomState(0)
    X = rng.rand(30, 4)
    Y = (rng.rand(30, 3) > 0.5).astype(int)
    kw = dict(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = MLPClassifier(warm_start=True, **kw).fit(X, Y[:, 0])
        with pytest.raises(ValueError, match="like the y of the first fit"):
            labels.fit(X, Y[:, :2])
        dense = MLPClassifier(**kw).fit(X, Y)
        sparse = MLPClassifier(**kw).fit(X, sp.csr_matrix(Y))
    for a, b in zip(dense.coefs_, sparse.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sparse.predict(X), dense.predict(X))
