"""Target handling: how ``y`` becomes network targets and how outputs become predictions."""

from __future__ import annotations

from functools import partial

import numpy as np
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_array

from ._labels import as_labels, check_kind, decode, indicators, is_multilabel, learn, unknown


class ClassifierHead:
    """Classification: one logistic unit for two classes, softmax beyond, one logistic unit
    per label for multilabel indicator targets.

    The encoding is sklearn's ``LabelBinarizer``, so ``classes_`` and the network outputs
    line up exactly as in ``sklearn.neural_network.MLPClassifier``.
    """

    #: Whether ``fit`` learns from ``y`` (autoencoders ignore it).
    supervised = True

    @staticmethod
    def prepare(est, y, first, incremental=False):
        """Encode ``y``; on the first fit define ``classes_``, else check compatibility.

        Parameters
        ----------
        est : estimator
            The classifier; ``classes_`` and ``_label_binarizer`` are set on it (by
            ``partial_fit`` itself when ``incremental``).
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a multilabel indicator matrix.
        first : bool
            Whether this fit starts from scratch.
        incremental : bool, default=False
            Whether this is a ``partial_fit`` call.

        Returns
        -------
        Y : ndarray of shape (n_samples, n_outputs)
            Binarized targets (float).
        """
        y = as_labels(y)
        classes = unique_labels(y)
        if incremental:
            if len(np.setdiff1d(classes, est.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {est.classes_}. 'y' has {classes}."
                )
        elif first:  # one class is allowed, as in sklearn: it is always predicted
            est._label_binarizer = learn(y)
            est.classes_ = est._label_binarizer.classes_
        elif set(classes) != set(est.classes_):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in the "
                f"previous call to fit. Previously got {est.classes_}, `y` has {classes}"
            )
        multilabel = is_multilabel(est._label_binarizer.y_type_)
        # one logistic unit for one or two classes (sklearn's encoding), softmax beyond
        est.out_activation_ = "logistic" if multilabel or len(est.classes_) <= 2 else "softmax"
        return indicators(*_encoder(est), y)

    @staticmethod
    def encode_validation(est, y_val):
        """Encode ``y_val`` as the training targets were; its labels must be in ``classes_``.

        Parameters
        ----------
        est : estimator
            The classifier, its classes defined by this fit's ``y``.
        y_val : array-like
            Validation labels (or indicator rows for a multilabel ``y``).

        Returns
        -------
        Y_val : ndarray of shape (n_samples, n_outputs)
        """
        y_val = as_labels(y_val)
        check_kind(est._label_binarizer.y_type_, y_val, "y_val", "y")
        missing = unknown(est.classes_, unique_labels(y_val))
        if missing:
            raise ValueError(
                f"y_val has classes {missing} that y does not have; the network only "
                f"knows the classes of y: {est.classes_.tolist()}."
            )
        return indicators(*_encoder(est), y_val)

    @staticmethod
    def loss_name(est):
        """Engine loss of the fitted head."""
        return "binary_log_loss" if est.out_activation_ == "logistic" else "log_loss"

    @staticmethod
    def smoothing(est):
        """Label smoothing of the loss (the classifiers' ``label_smoothing``)."""
        return est.label_smoothing

    @staticmethod
    def proba(outputs):
        """Probabilities as sklearn returns them: ``(n, 2)`` for one output, else as is."""
        if outputs.shape[1] == 1:
            p = outputs[:, 0]
            return np.column_stack([1 - p, p])
        return outputs

    @staticmethod
    def labels(est, outputs):
        """Predicted labels (or indicator rows) from network outputs, as sklearn decodes."""
        return decode(*_encoder(est), outputs)

    @staticmethod
    def stratify(est, Y):
        """Labels to stratify a validation split on (every single-label problem).

        Binary targets are stratified as sklearn stratifies them, on the one boolean column
        (so errors name the class ``'True'`` as sklearn's do); multiclass targets on the
        user's labels.
        """
        if Y.shape[1] == 1:
            return Y.astype(bool)
        single_label = np.all(Y.sum(axis=1) == 1)
        return est.classes_.take(Y.argmax(axis=1)) if single_label else None

    @staticmethod
    def score_fn(est, Y_val, sw_val):
        """Validation accuracy (subset accuracy for multilabel) of validation outputs."""
        y_true = ClassifierHead.labels(est, Y_val)
        # partials of module functions: a plan pickles (it may train in another process)
        return partial(_accuracy, est, y_true, sw_val)


class RegressorHead:
    """Regression with one or several outputs; ``exp`` output for the Poisson loss."""

    #: Whether ``fit`` learns from ``y`` (autoencoders ignore it).
    supervised = True

    @staticmethod
    def prepare(est, y, first, incremental=False):
        """Check and reshape ``y`` to ``(n_samples, n_outputs)``.

        Parameters
        ----------
        est : estimator
            The regressor; ``out_activation_`` is set on it.
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        first : bool
            Whether this fit starts from scratch.
        incremental : bool, default=False
            Whether this is a ``partial_fit`` call.

        Returns
        -------
        Y : ndarray of shape (n_samples, n_outputs)
        """
        if est.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for "
                "loss='poisson'; the Poisson loss needs y >= 0."
            )
        est.out_activation_ = "exp" if est.loss == "poisson" else "identity"
        return y.reshape(len(y), -1).astype(np.float64)

    @staticmethod
    def encode_validation(est, y_val):
        """Check ``y_val`` as ``y`` is checked and reshape it to ``(n_samples, n_outputs)``.

        Parameters
        ----------
        est : estimator
            The regressor.
        y_val : array-like
            Validation targets.

        Returns
        -------
        Y_val : ndarray of shape (n_samples, n_outputs)
        """
        y_val = check_array(
            y_val, ensure_2d=False, dtype="numeric", input_name="y_val", ensure_all_finite=True
        )
        if est.loss == "poisson" and np.any(y_val < 0):
            raise ValueError("Some value(s) of y_val are negative, which loss='poisson' refuses.")
        return y_val.reshape(len(y_val), -1).astype(np.float64)

    @staticmethod
    def loss_name(est):
        """Engine loss of the fitted head."""
        return est.loss

    @staticmethod
    def smoothing(est):
        """No label smoothing in regression."""
        return 0.0

    @staticmethod
    def stratify(est, Y):
        """Regression splits are not stratified."""
        return None

    @staticmethod
    def score_fn(est, Y_val, sw_val):
        """Validation R^2 as a function of validation outputs."""
        return partial(_r2, Y_val, sw_val)


class ReconstructionHead:
    """Autoencoders: the target is the input itself (flattened), squared error."""

    #: Whether ``fit`` learns from ``y`` (autoencoders ignore it).
    supervised = False

    @staticmethod
    def prepare(est, y, first, incremental=False):
        """The reconstruction target: ``y`` (the input rows) as a 2-D float array.

        Parameters
        ----------
        est : estimator
            The autoencoder; ``out_activation_`` is set on it.
        y : ndarray
            The input, as validated.
        first : bool
            Whether this fit starts from scratch.
        incremental : bool, default=False
            Whether this is a ``partial_fit`` call.

        Returns
        -------
        Y : ndarray of shape (n_samples, n_values)
        """
        est.out_activation_ = "logistic" if est.output_activation == "sigmoid" else "identity"
        return y.reshape(len(y), -1).astype(np.float64)

    @staticmethod
    def loss_name(est):
        """Engine loss: squared error of the reconstruction (through the sigmoid if any)."""
        return "sigmoid_squared_error" if est.out_activation_ == "logistic" else "squared_error"

    @staticmethod
    def smoothing(est):
        """No label smoothing in reconstruction."""
        return 0.0

    @staticmethod
    def stratify(est, Y):
        """Reconstruction splits are not stratified."""
        return None

    @staticmethod
    def score_fn(est, Y_val, sw_val):
        """Validation score: negative mean squared reconstruction error."""
        return partial(_negative_reconstruction_error, Y_val, sw_val)


def _accuracy(est, y_true, sw_val, out):
    """Validation accuracy of a classifier's outputs ``out``."""
    return accuracy_score(y_true, ClassifierHead.labels(est, out), sample_weight=sw_val)


def _r2(Y_val, sw_val, out):
    """Validation R^2 of a regressor's outputs ``out``."""
    return r2_score(Y_val, out, sample_weight=sw_val)


def _negative_reconstruction_error(Y_val, sw_val, out):
    """Negative mean squared reconstruction error of an autoencoder's outputs ``out``."""
    errors = ((out.reshape(len(out), -1) - Y_val) ** 2).mean(axis=1)
    return -np.average(errors, weights=sw_val)


def _encoder(est):
    """The classes and kind of a fitted classifier's label encoder."""
    return est._label_binarizer.classes_, est._label_binarizer.y_type_
