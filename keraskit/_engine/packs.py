"""A pack of dense networks of one shape as one: stacked weights, one forward, a chosen blend.

The tabular estimators train their members as one stacked network (``population``), then
keep only the dense kernels and biases of the members they blend, stacked along a leading
member axis. One forward pass computes every member at once: NumPy for small inputs (one
row in microseconds, as ``fastpath``), TensorFlow on its chosen device for large ones.
``greedy_blend`` picks the blend on validation outputs (Caruana et al. 2004: members added
one at a time, with replacement, while the blend's validation loss falls).
"""

from __future__ import annotations

import numpy as np

from .._networks.activations import KERAS_ACTIVATIONS
from .._tensorflow import keras, tf
from . import cache
from .fastpath import ACTIVATIONS, NUMPY_BUDGET

#: Rows per TensorFlow call on large inputs (bounds the (members, rows, width) activations).
CHUNK = 8192


def stack_dense(arch, member_weights):
    """Stack the dense kernels and biases of members of one architecture.

    Parameters
    ----------
    arch : MLPSpec
        The members' architecture (dense layers and activations; no batch normalization).
    member_weights : list of tuple of (list of ndarray, list of ndarray)
        Each member's weights, in the template's variable order.

    Returns
    -------
    kernels, biases : list of ndarray
        Per dense layer, float64 arrays of shape (n_members, fan_in, fan_out) and
        (n_members, 1, fan_out).
    """
    pairs = cache.get_template(arch).dense_pairs

    def stack(i):
        return np.stack([w[0][i] for w in member_weights]).astype(np.float64)

    kernels = [stack(k) for k, _ in pairs]
    biases = [stack(b)[:, None, :] for _, b in pairs]
    return kernels, biases


def _activations(arch, n_layers):
    """Keras' names of the layers' activations (keraskit's names translated)."""
    hidden, out = KERAS_ACTIVATIONS[arch.activation], KERAS_ACTIVATIONS[arch.out_activation]
    return [hidden] * (n_layers - 1) + [out]


def _numpy_forward(kernels, biases, acts, X):
    h = X[None]
    for kernel, bias, act in zip(kernels, biases, acts, strict=True):
        h = act(np.matmul(h, kernel) + bias)
    return h


def _tf_forward(kernels, biases, X, hidden, out):
    h = tf.expand_dims(X, 0)
    last = len(kernels) - 1
    for i, (kernel, bias) in enumerate(zip(kernels, biases, strict=True)):
        h = tf.matmul(h, kernel) + bias
        h = _tf_activation(out if i == last else hidden, h)
    return h


def _tf_activation(name, h):
    if name == "softmax":
        return tf.nn.softmax(h, axis=-1)
    return keras.activations.get(name)(h)


def pack_forward(arch, kernels, biases, X):
    """Every member's outputs on ``X``.

    Parameters
    ----------
    arch : MLPSpec
        The members' architecture (its activations).
    kernels, biases : list of ndarray
        What :func:`stack_dense` returned (or a selection of its members).
    X : ndarray of shape (n_samples, n_features)
        Encoded inputs, in the weights' dtype.

    Returns
    -------
    outputs : ndarray of shape (n_members, n_samples, n_outputs)
    """
    n_weights = sum(k.size for k in kernels)
    names = _activations(arch, len(kernels))
    if X.shape[0] * n_weights <= NUMPY_BUDGET:
        # float64, as the weights are kept: a row's outputs do not depend on its neighbours
        # (float32 BLAS kernels round a row differently with the rows around it)
        acts = [ACTIVATIONS[name] for name in names]
        return _numpy_forward(kernels, biases, acts, X.astype(np.float64, copy=False))
    dtype = tf.as_dtype(arch.dtype)
    hidden, out = names[0], names[-1]
    ks = [tf.constant(k, dtype) for k in kernels]
    bs = [tf.constant(b, dtype) for b in biases]
    parts = [
        _tf_forward(ks, bs, tf.constant(X[i : i + CHUNK], dtype), hidden, out).numpy()
        for i in range(0, X.shape[0], CHUNK)
    ]
    return np.concatenate(parts, axis=1)


def greedy_blend(outputs, loss, max_rounds=None):
    """Blend weights of members chosen greedily, with replacement, on validation outputs.

    Parameters
    ----------
    outputs : ndarray of shape (n_members, n_samples, n_outputs)
        Each member's validation outputs.
    loss : callable
        ``loss(blended_outputs) -> float``, lower is better.
    max_rounds : int, default=None
        Most additions (default: twice the members).

    Returns
    -------
    weights : ndarray of shape (n_members,)
        Non-negative, summing to one; members never chosen have weight 0.
    """
    k = outputs.shape[0]
    max_rounds = 2 * k if max_rounds is None else max_rounds
    counts = np.zeros(k)
    total = np.zeros_like(outputs[0], dtype=np.float64)
    best = np.inf
    for n in range(1, max_rounds + 1):
        losses = [loss((total + outputs[j]) / n) for j in range(k)]
        if np.all(np.isnan(losses)):
            break
        j = int(np.nanargmin(losses))
        if losses[j] >= best:
            break
        best, counts[j], total = losses[j], counts[j] + 1, total + outputs[j]
    if counts.sum() == 0:  # every member non-finite: blend them all equally
        counts[:] = 1
    return counts / counts.sum()
