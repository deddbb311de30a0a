"""A fixed validation set given to ``fit``: ``X_val``, ``y_val`` and ``sample_weight_val``.

scikit-learn's convention (``HistGradientBoosting*.fit``): given, the validation set replaces
the split that ``validation_fraction`` would take from the training data, so the network
trains on every row of ``X`` and early stopping, ``validation_scores_`` and the per-epoch
validation loss use the given rows. It is checked against what ``X`` and ``y`` defined
(features, feature names, sample shape, classes, outputs) and encoded the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import _check_sample_weight, _num_samples

from .._engine.optimizers import FULL_BATCH_SOLVERS


@dataclass(frozen=True)
class ValidationSet:
    """The validation arguments of one ``fit`` call, as given.

    Parameters
    ----------
    X : array-like
        ``X_val``.
    y : array-like or None
        ``y_val`` (``None`` for autoencoders).
    sample_weight : array-like or None
        ``sample_weight_val``.
    """

    X: object
    y: object = None
    sample_weight: object = None


def from_fit_arguments(X_val, y_val, sample_weight_val, supervised=True):
    """The validation set of a ``fit`` call, or ``None``; incomplete sets are refused.

    Parameters
    ----------
    X_val, y_val, sample_weight_val : array-like or None
        ``fit``'s validation arguments.
    supervised : bool, default=True
        Whether the estimator learns from ``y`` (then ``X_val`` needs ``y_val``).

    Returns
    -------
    validation : ValidationSet or None
    """
    if X_val is None:
        given = [
            n
            for n, v in (("y_val", y_val), ("sample_weight_val", sample_weight_val))
            if v is not None
        ]
        if given:
            raise ValueError(
                f"{' and '.join(given)} given without X_val: the validation set needs X_val "
                "(pass X_val too, or neither)."
            )
        return None
    if supervised and y_val is None:
        raise ValueError("X_val was given without y_val: pass both (as X and y), or neither.")
    return ValidationSet(X_val, y_val, sample_weight_val)


def prepare(est, validation, X, Y):
    """Validated and encoded ``(X_val, Y_val, sw_val)`` matching the training ``X`` and ``Y``.

    Parameters
    ----------
    est : BaseKerasEstimator
        The estimator being fitted (``X`` and ``y`` already validated: ``n_features_in_``,
        ``classes_`` and the sample shape are those of this fit).
    validation : ValidationSet
        The user's validation set.
    X : ndarray or scipy.sparse matrix
        The validated training data (its dtype is the network's).
    Y : ndarray of shape (n_samples, n_outputs)
        The encoded training targets.

    Returns
    -------
    X_val, Y_val, sw_val : arrays
    """
    if est.solver in FULL_BATCH_SOLVERS:
        raise ValueError(
            f"X_val is used epoch by epoch by the stochastic solvers; solver={est.solver!r} "
            "trains in one full-batch run. Use solver='adam' or 'sgd' with X_val, or drop it."
        )
    # the fit is starting: TensorFlow is imported for it (data.py imports it)
    from .._engine.data import densified_if_small

    try:
        X_val = est._validate_predict_data(validation.X)
    except ValueError as exc:
        raise ValueError(f"X_val does not match X: {exc}") from exc
    X_val = densified_if_small(X_val.tocsr() if sp.issparse(X_val) else X_val)
    X_val = X_val.astype(X.dtype, copy=False)
    if est._head.supervised:
        n_y = _num_samples(validation.y)
        if n_y != X_val.shape[0]:
            raise ValueError(
                f"X_val and y_val have different numbers of samples: {X_val.shape[0]} and {n_y}."
            )
        Y_val = est._head.encode_validation(est, validation.y)
    else:
        Y_val = est._head.prepare(est, X_val, first=False)
    if Y_val.shape[1] != Y.shape[1]:
        raise ValueError(f"y_val has {Y_val.shape[1]} outputs per sample; y has {Y.shape[1]}.")
    if validation.sample_weight is None:
        sw_val = np.ones(X_val.shape[0])
    else:
        sw_val = _check_sample_weight(
            validation.sample_weight, X_val, dtype=np.float64, ensure_non_negative=True, copy=True
        )
    return X_val, Y_val, sw_val
