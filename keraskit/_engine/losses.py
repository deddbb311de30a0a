"""The loss vocabulary and its definitions (scikit-learn's, numerically stable, from logits).

The names are read by the estimators' parameter constraints when keraskit is imported, so
this module does not import TensorFlow at the top; the definitions run only while the
trainer traces its compiled functions.
"""

from __future__ import annotations

#: Losses of classifiers: softmax cross-entropy, and sigmoid cross-entropy per output.
CLASSIFICATION_LOSSES = ("log_loss", "binary_log_loss")
#: Losses of regressors: the choices of the ``loss`` parameter (sklearn's first).
REGRESSION_LOSSES = ("squared_error", "poisson", "huber", "absolute_error")
#: Reconstruction through a sigmoid output: squared error of ``sigmoid(logits)``.
RECONSTRUCTION_LOSSES = ("sigmoid_squared_error",)
#: Every loss the engine trains with.
LOSSES = CLASSIFICATION_LOSSES + REGRESSION_LOSSES + RECONSTRUCTION_LOSSES


def report_scale(name, n_outputs):
    """Factor from the trained per-sample loss to the reported one.

    sklearn's squared-error gradient is that of the sum over outputs; its reported loss
    averages over outputs.

    Parameters
    ----------
    name : str
        One of ``LOSSES``.
    n_outputs : int
        Outputs per sample.

    Returns
    -------
    scale : float
    """
    return 1.0 / n_outputs if name in ("squared_error", "sigmoid_squared_error") else 1.0


def smoothed_targets(name, y, smoothing):
    """Targets of a classification loss with label smoothing (inside a traced function).

    Parameters
    ----------
    name : {'log_loss', 'binary_log_loss'}
        The loss: smoothing spreads over the classes, or over the two outcomes of a label.
    y : tf.Tensor of shape (..., batch, n_outputs)
        One-hot or indicator targets.
    smoothing : tf.Tensor
        Label smoothing (broadcast against ``y``).

    Returns
    -------
    y : tf.Tensor
    """
    # imported at trace time, not with this module (see the module docstring)
    from .._tensorflow import tf

    k = tf.cast(tf.shape(y)[-1], y.dtype) if name == "log_loss" else 2
    return y * (1 - smoothing) + smoothing / k


def per_sample_loss(name, y, z, smoothing):
    """Per-sample loss of logits ``z`` against targets ``y`` (inside a traced function).

    Parameters
    ----------
    name : str
        One of ``LOSSES``.
    y, z : tf.Tensor of shape (..., batch, n_outputs)
        Targets and logits (a population of networks adds a leading members axis).
    smoothing : tf.Tensor
        Label smoothing of the two classification losses (broadcast against ``y``).

    Returns
    -------
    loss : tf.Tensor of shape (..., batch)
    """
    # imported at trace time, not with this module (see the module docstring)
    from .._tensorflow import tf

    if name == "log_loss":
        y = smoothed_targets(name, y, smoothing)
        return -tf.reduce_sum(y * tf.nn.log_softmax(z), axis=-1)
    if name == "binary_log_loss":
        y = smoothed_targets(name, y, smoothing)
        return tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(y, z), axis=-1)
    if name == "squared_error":
        return 0.5 * tf.reduce_sum(tf.square(y - z), axis=-1)
    if name == "sigmoid_squared_error":  # the error of what the network outputs
        return 0.5 * tf.reduce_sum(tf.square(y - tf.sigmoid(z)), axis=-1)
    if name == "poisson":
        # half Poisson deviance with log link, constant term included as in sklearn
        return tf.reduce_sum(tf.exp(z) - y * z + tf.math.xlogy(y, y) - y, axis=-1)
    if name == "absolute_error":
        return tf.reduce_mean(tf.abs(y - z), axis=-1)
    if name == "huber":
        r = tf.abs(y - z)
        return tf.reduce_mean(tf.where(r <= 1.0, 0.5 * tf.square(r), r - 0.5), axis=-1)
    raise ValueError(f"Unknown loss {name!r}; expected one of {LOSSES}.")
