"""Class labels: the one label encoder of the estimators and the wrappers.

Every classifier of keraskit (``MLPClassifier``, ``CNNClassifier``, ``TabularClassifier``,
``KerasClassifier``) learns its ``classes_`` with scikit-learn's ``LabelBinarizer`` here,
turns labels into integer codes here (an unknown label is an error naming it) and reads
labels back from network outputs here. What the network is trained on differs by family
and is built on the codes: indicator columns for the estimators' own heads
(``indicators``), class indices or one-hot rows for a user's Keras loss (the wrappers).

An encoder is its sorted ``classes`` and its ``kind`` (``"binary"``, ``"multiclass"`` or
``"multilabel-indicator"``): the estimators keep them in a fitted ``LabelBinarizer``
(``_label_binarizer``, as scikit-learn's MLP does), the wrappers as ``classes_`` and
``target_type_`` (as scikeras does).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

#: Target types a classifier learns (``type_of_target``'s names).
SUPPORTED = ("binary", "multiclass", "multilabel-indicator")


def as_labels(y):
    """``y`` checked as classification targets, a single column made 1-D (with a warning).

    Parameters
    ----------
    y : ndarray
        Labels, or a multilabel indicator matrix.

    Returns
    -------
    y : ndarray
        The labels, 1-D unless they are indicator rows.
    """
    if not sp.issparse(y):  # (a sparse indicator matrix stays sparse, as in sklearn)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
    check_classification_targets(y)
    return y


def learn(y, classes=None):
    """The encoder of a first fit: its classes are ``classes`` if given, else ``y``'s.

    Parameters
    ----------
    y : ndarray
        Labels, or multilabel indicator rows.
    classes : array-like, default=None
        Every class the problem has (``partial_fit``'s ``classes``); ignored for
        multilabel indicator rows, whose classes are their columns.

    Returns
    -------
    binarizer : sklearn.preprocessing.LabelBinarizer
        Fitted: ``classes_`` sorted, ``y_type_`` the kind of the whole problem (two
        declared classes are ``"binary"`` even when ``y`` holds one of them).
    """
    multilabel = type_of_target(y).startswith("multilabel")
    return LabelBinarizer().fit(y if classes is None or multilabel else np.asarray(classes))


def is_multilabel(kind):
    """Whether an encoder of this ``kind`` has indicator rows for targets."""
    return kind.startswith("multilabel")


def unknown(classes, y):
    """Labels of ``y`` that are not in ``classes`` (sorted, as a list)."""
    return np.setdiff1d(np.unique(y), classes).tolist()


def codes(classes, y, message):
    """Integer codes (indices into ``classes``) of 1-D labels ``y``.

    Parameters
    ----------
    classes : ndarray
        Sorted classes (a fitted encoder's ``classes_``).
    y : ndarray of shape (n_samples,)
        Labels.
    message : callable
        Called with the list of unknown labels; its text is the ``ValueError`` raised
        when ``y`` holds labels that ``classes`` does not.

    Returns
    -------
    codes : ndarray of shape (n_samples,)
    """
    missing = unknown(classes, y)
    if missing:
        raise ValueError(message(missing))
    return np.searchsorted(classes, y)


def indicators(classes, kind, y):
    """The indicator columns of scikit-learn's MLP for labels ``y`` (all known), as float64.

    One column for two classes (zeros for one class), one per class beyond, the rows
    themselves for multilabel targets: ``LabelBinarizer.transform``'s result without its
    repeated checks.

    Parameters
    ----------
    classes : ndarray
        Sorted classes of the encoder.
    kind : str
        The encoder's target type.
    y : ndarray
        Labels whose classes are all in ``classes``, or indicator rows.

    Returns
    -------
    Y : ndarray of shape (n_samples, n_outputs)
    """
    check_kind(kind, y)
    if is_multilabel(kind):
        if y.shape[1] != len(classes):
            raise ValueError(
                f"Expected indicator rows of {len(classes)} labels as in the first fit, "
                f"got an array of shape {y.shape}."
            )
        return (y.toarray() if sp.issparse(y) else y).astype(np.float64)
    if len(classes) == 1:
        return np.zeros((len(y), 1))
    index = np.searchsorted(classes, y)
    if len(classes) == 2:
        return (index == 1).astype(np.float64)[:, None]
    return one_hot(index, len(classes), np.float64)


def check_kind(kind, y, name="y", like="the y of the first fit"):
    """Refuse labels where the encoder has indicator rows, and the other way round.

    Parameters
    ----------
    kind : str
        The encoder's target type.
    y : ndarray or scipy sparse matrix
        Labels checked by ``as_labels``.
    name : str, default="y"
        What ``y`` is called in the error.
    like : str, default="the y of the first fit"
        What it must be like, in the error.
    """
    if is_multilabel(kind) != (y.ndim == 2):
        fitted = "multilabel indicator rows" if is_multilabel(kind) else "one label per sample"
        raise ValueError(f"{name} must be like {like}, {fitted}; got an array of shape {y.shape}.")


def one_hot(index, n_classes, dtype=np.float32):
    """One-hot rows of integer codes.

    Parameters
    ----------
    index : ndarray of shape (n_samples,)
        Codes in ``range(n_classes)``.
    n_classes : int
        Width of a row.
    dtype : dtype, default=float32
        Dtype of the rows.

    Returns
    -------
    Y : ndarray of shape (n_samples, n_classes)
    """
    Y = np.zeros((len(index), n_classes), dtype=dtype)
    Y[np.arange(len(index)), index] = 1
    return Y


def decode(classes, kind, outputs):
    """Labels (or indicator rows) from network outputs, as scikit-learn's MLP decodes them.

    Parameters
    ----------
    classes : ndarray
        Sorted classes of the encoder.
    kind : str
        The encoder's target type.
    outputs : ndarray of shape (n_samples, n_outputs)
        Probabilities: one column per class (its argmax), one column for two classes
        (thresholded at 0.5), or one per label (each thresholded at 0.5).

    Returns
    -------
    y : ndarray of shape (n_samples,) or (n_samples, n_labels)
        Labels, or indicator rows of ints.
    """
    if is_multilabel(kind):
        return (outputs > 0.5).astype(int)
    if outputs.shape[1] == len(classes):
        return classes.take(outputs.argmax(axis=1))
    if outputs.shape[1] == 1 and len(classes) == 2:
        return classes.take((outputs[:, 0] > 0.5).astype(np.intp))
    raise ValueError(
        f"The network has {outputs.shape[1]} outputs for {len(classes)} classes: expected "
        f"one per class{' or one' if len(classes) == 2 else ''}."
    )
