"""NumPy inference for small inputs to dense networks: predicting one row in microseconds.

Calling a compiled TensorFlow function costs about half a millisecond whatever the input
size (argument binding, the executor, thread hand-offs), which dominates predicting a few
rows. For networks made only of dense layers (MLPs and dense autoencoders), a short NumPy
walk over the same weights gives the same outputs in tens of microseconds, as scikit-learn
does. It is used for inputs whose work (rows x weights) is small; larger inputs, and any
network with layers not listed here (convolutions, ...), run through TensorFlow on whatever
device it chose, so a GPU still does the large batches.

The NumPy results agree with TensorFlow's to floating-point rounding (a few units in the
last place, tested); both BLAS libraries already give results for a row that differ in the
last bits with the number of rows they are computed with, so bit-identity across batch
sizes is not something any BLAS-backed path offers.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .._tensorflow import keras

#: Inputs with ``rows * weights`` at most this go through NumPy (about a millisecond of work).
NUMPY_BUDGET = 1 << 24

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _gelu(x):  # keras.activations.gelu(approximate=False)
    return 0.5 * x * (1.0 + special.erf(x / np.sqrt(2.0).astype(x.dtype)))


def _elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def _selu(x):
    return _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0)))


#: Keras activation function name -> NumPy equivalent (Keras' default arguments).
ACTIVATIONS = {
    "linear": lambda x: x,
    "sigmoid": special.expit,
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0),
    "elu": _elu,
    "leaky_relu": lambda x: np.where(x > 0, x, x * x.dtype.type(0.2)),
    "gelu": _gelu,
    "selu": _selu,
    "silu": lambda x: x * special.expit(x),
    "swish": lambda x: x * special.expit(x),
    "softmax": _softmax,
    "exponential": np.exp,
}

#: Layers that do nothing at inference time (Flatten: on rows of features, as checked).
_IDENTITY_LAYERS = (
    keras.layers.InputLayer,
    keras.layers.Dropout,
    keras.layers.GaussianNoise,
    keras.layers.Flatten,
)


def _activation(fn):
    """The NumPy twin of a Keras activation function: matched by identity, never by name
    (a user's function called ``swish`` or ``keras.ops.gelu`` is not Keras' activation)."""
    for name, numpy_fn in ACTIVATIONS.items():
        if fn is keras.activations.get(name):
            return numpy_fn
    return None


class NumpyForward:
    """A dense network's inference as NumPy steps over the weights of the template order.

    Parameters
    ----------
    steps : list of tuple
        ``(kind, arguments)`` pairs built by :func:`numpy_forward`.
    n_weights : int
        Number of weight values the forward pass multiplies (its cost per row).
    """

    def __init__(self, steps, n_weights):
        self.steps = steps
        self.n_weights = n_weights

    def worth_it(self, n_rows):
        """Whether NumPy beats a TensorFlow call for ``n_rows`` rows."""
        return n_rows * self.n_weights <= NUMPY_BUDGET

    def __call__(self, weights, X):
        """Outputs for dense ``X`` with ``weights = (trainable, non_trainable)`` arrays."""
        trainable, non_trainable = weights
        h = X
        for kind, args in self.steps:
            if kind == "dense":
                kernel, bias, act = args
                h = h @ trainable[kernel]
                if bias is not None:
                    h += trainable[bias]
                h = act(h)
            elif kind == "batchnorm":
                gamma, beta, mean, var, eps = args
                scale = 1.0 / np.sqrt(non_trainable[var] + h.dtype.type(eps))
                if gamma is not None:
                    scale = scale * trainable[gamma]
                h = (h - non_trainable[mean]) * scale
                if beta is not None:
                    h += trainable[beta]
            else:
                h = args(h)
        return h


def numpy_forward(sub, trainable, non_trainable):
    """NumPy inference of a (sub)model, or ``None`` when it holds other kinds of layers.

    Parameters
    ----------
    sub : keras.Model
        A chain of Dense, BatchNormalization, Activation, Dropout and GaussianNoise layers,
        computing in the dtype of their weights (not mixed precision).
    trainable, non_trainable : list of keras.Variable
        The template's variables, whose order indexes the weights given at call time.

    Returns
    -------
    forward : NumpyForward or None
    """
    if len(sub.inputs) != 1 or len(sub.outputs) != 1 or len(sub.inputs[0].shape) != 2:
        return None
    if any(layer.compute_dtype != layer.variable_dtype for layer in sub.layers):
        return None  # mixed precision: TensorFlow's 16-bit rounding, not NumPy's float32
    t_index = {id(v): i for i, v in enumerate(trainable)}
    nt_index = {id(v): i for i, v in enumerate(non_trainable)}
    try:
        return _plan(sub, t_index, nt_index)
    except (KeyError, AttributeError):  # e.g. frozen or LoRA kernels: not a plain layer
        return None


def _plan(sub, t_index, nt_index):
    steps, n_weights = [], 0
    for layer in sub.layers:
        if type(layer) in _IDENTITY_LAYERS:  # exact types: a subclass may act at inference
            continue
        if type(layer) is keras.layers.Dense:
            act = _activation(layer.activation)
            if act is None:
                return None
            bias = t_index[id(layer.bias)] if layer.use_bias else None
            steps.append(("dense", (t_index[id(layer.kernel)], bias, act)))
            n_weights += int(np.prod(layer.kernel.shape))
        elif type(layer) is keras.layers.Activation:
            act = _activation(layer.activation)
            if act is None:
                return None
            steps.append(("activation", act))
        elif type(layer) is keras.layers.BatchNormalization:
            if layer.axis not in (-1, 1):  # rows of features: normalise each feature
                return None
            gamma = t_index[id(layer.gamma)] if layer.scale else None
            beta = t_index[id(layer.beta)] if layer.center else None
            mean, var = nt_index[id(layer.moving_mean)], nt_index[id(layer.moving_variance)]
            steps.append(("batchnorm", (gamma, beta, mean, var, layer.epsilon)))
        else:
            return None
    return NumpyForward(steps, max(n_weights, 1))
