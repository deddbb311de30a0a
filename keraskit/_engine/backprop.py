"""Hand-written backpropagation of stacked dense chains, for the common activations and losses.

A step of a stacked population is dominated by how many operations it runs, not by their
size: the gradient graph ``GradientTape`` builds for a chain carries shape bookkeeping
(broadcast-gradient arguments, reshapes, reductions) around every operation. For
scikit-learn's activations and the three common losses, the gradients are short formulas
(scikit-learn's own backpropagation), written here over the members axis with the same
elementary operations TensorFlow's gradients use (``ReluGrad``, ``TanhGrad``,
``SigmoidGrad``, ``LogSoftmax``'s gradient), so results agree with the tape's to rounding.
Other activations and losses keep the tape (``StackedTrainer`` decides).
"""

from __future__ import annotations

from .._tensorflow import keras, tf
from .losses import smoothed_targets

#: Activations (Keras names) and TensorFlow's formulas for their derivative from their output.
DERIVATIVES = {
    "relu": lambda h: tf.cast(h > 0, h.dtype),
    "tanh": lambda h: 1 - h * h,
    "sigmoid": lambda h: h * (1 - h),
}
#: Losses whose gradient with respect to the logits is written here.
LOSSES = ("log_loss", "binary_log_loss", "squared_error")


def activation_name(fn):
    """The name in :data:`DERIVATIVES` of a Keras activation function, or ``None``."""
    for name in DERIVATIVES:
        if fn is keras.activations.get(name):
            return name
    return None


def supports(steps, loss):
    """Whether a chain's steps (``("dense", has_bias)``/``("act", fn)``) and loss qualify.

    Every dense layer may be followed by at most one activation, one of
    :data:`DERIVATIVES`.
    """
    if loss not in LOSSES or any(kind not in ("dense", "act") for kind, _ in steps):
        return False
    previous = None
    for kind, arg in steps:
        if kind == "act" and (previous != "dense" or activation_name(arg) is None):
            return False
        previous = kind
    return True


def layers_of(steps):
    """``[(has_bias, activation name or None)]`` per dense layer of a supported chain."""
    layers = []
    for kind, arg in steps:
        if kind == "dense":
            layers.append([arg, None])
        else:
            layers[-1][1] = activation_name(arg)
    return [tuple(layer) for layer in layers]


def loss_and_delta(loss, Y, z, smoothing):
    """Per-sample loss and its gradient with respect to the logits ``z`` (members first)."""
    if loss == "log_loss":
        Y = smoothed_targets(loss, Y, smoothing[:, None, None])
        logp = tf.nn.log_softmax(z)
        per_sample = -tf.reduce_sum(Y * logp, axis=-1)
        return per_sample, tf.exp(logp) * tf.reduce_sum(Y, axis=-1, keepdims=True) - Y
    if loss == "binary_log_loss":
        Y = smoothed_targets(loss, Y, smoothing[:, None, None])
        per_sample = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(Y, z), axis=-1)
        return per_sample, tf.nn.sigmoid(z) - Y
    diff = z - Y  # squared_error
    return 0.5 * tf.reduce_sum(tf.square(diff), axis=-1), diff


def gradients(layers, loss, params, inputs, z, Y, w, valid, smoothing, penalty_grad):
    """Per member: weighted loss sum, weight sum and the objective's gradients.

    The objective is ``(sum(w * loss) + penalty) / sum(w)`` per member, as in ``Trainer``.

    Parameters
    ----------
    layers : list of (bool, str or None)
        From :func:`layers_of`.
    loss : str
        One of :data:`LOSSES`.
    params : list of tf.Tensor
        Stacked weights (chain order).
    inputs : list of tf.Tensor
        Each dense layer's (masked) input in the forward pass; ``z`` its logits.
    z, Y : tf.Tensor of shape (members, batch, n_outputs)
        Each member's logits and targets.
    w : tf.Tensor of shape (members, batch)
        Sample weights (0 on padding rows).
    valid : tf.Tensor of shape (members, batch)
        Which rows are the member's own (the rest pad its batch and never count).
    smoothing : tf.Tensor of shape (members,)
        Label smoothing.
    penalty_grad : callable
        ``kernel -> gradient of the penalty`` (members first).

    Returns
    -------
    loss_sum, sw_sum : tf.Tensor of shape (members,)
    grads : list of tf.Tensor
        In the order of ``params``.
    """
    per_sample, dz = loss_and_delta(loss, Y, z, smoothing)
    zero = tf.zeros((), z.dtype)
    sw_sum = tf.reduce_sum(w, axis=1)
    scale = tf.math.divide_no_nan(tf.ones_like(sw_sum), sw_sum)
    delta = tf.where(valid[:, :, None], dz * (w * scale[:, None])[:, :, None], zero)
    grads = [None] * len(params)
    i = len(params)
    for d in reversed(range(len(layers))):
        has_bias = layers[d][0]
        i -= 1 + has_bias
        kernel = params[i]
        data_grad = tf.linalg.matmul(inputs[d], delta, transpose_a=True)
        grads[i] = data_grad + penalty_grad(kernel) * scale[:, None, None]
        if has_bias:
            grads[i + 1] = tf.reduce_sum(delta, axis=1)
        if d:
            delta = tf.linalg.matmul(delta, kernel, transpose_b=True)
            act = layers[d - 1][1]
            if act is not None:  # the masked input equals the activation on real units
                delta = delta * DERIVATIVES[act](inputs[d])
    loss_sum = tf.reduce_sum(tf.where(valid, w * per_sample, zero), axis=1)
    return loss_sum, sw_sum, grads
