"""The Keras side of the wrappers: inference, variable snapshots, model bytes, ``r_squared``."""

from __future__ import annotations

import sys

import numpy as np
import scipy.sparse as sp

from ..._io.keras_bytes import model_from_bytes


def r_squared(y_true, y_pred):
    """Coefficient of determination as a Keras metric (scikeras's ``r_squared``).

    Parameters
    ----------
    y_true, y_pred : tensor
        Targets and predictions of one batch.

    Returns
    -------
    r2 : tensor
        ``1 - SS_res / SS_tot`` per output, averaged over outputs.
    """
    from keras import ops  # Keras is imported when a model is, not with keraskit

    y_true = ops.cast(y_true, y_pred.dtype)
    ss_res = ops.sum(ops.square(y_true - y_pred), axis=0)
    ss_tot = ops.sum(ops.square(y_true - ops.mean(y_true, axis=0)), axis=0)
    return ops.mean(1.0 - ss_res / (ss_tot + 1e-7))


def register_keraskit_objects():
    """Make ``r_squared`` serializable in ``.keras`` files (safe loading needs the name)."""
    from ..._tensorflow import keras  # as in r_squared

    if "keraskit>r_squared" not in keras.saving.get_custom_objects():
        keras.saving.register_keras_serializable(package="keraskit", name="r_squared")(r_squared)


class Runner:
    """Inference of one Keras model through one compiled function (no ``Model.predict``).

    The function reads the model's live variables, so predictions follow any later change
    to ``model_`` (``fit``, ``set_weights``, ``load_weights``). keraskit's NumPy fast path is
    not used here: a hand-built model may hold layers whose inference NumPy cannot mirror
    (shared or frozen layers, custom activations, Monte Carlo dropout).
    """

    def __init__(self, model):
        # the model's own TensorFlow is imported already
        from ..._tensorflow import tf

        self.model = model
        outputs, inputs = known_outputs(model), getattr(model, "inputs", None) or []
        # a subclassed model has no symbolic inputs or outputs: Model.predict serves it
        self.single = len(outputs) == 1 and len(inputs) == 1
        # a model built for sparse input takes its rows from Model.predict as SparseTensors
        self.sparse_input = self.single and takes_sparse(model)
        if self.single:
            spec = tf.TensorSpec((None, *model.inputs[0].shape[1:]), model.inputs[0].dtype)
            self.fn = tf.function(lambda x: model(x, training=False), input_signature=[spec])

    def __call__(self, X, predict_kwargs):
        if not self.single or predict_kwargs or (self.sparse_input and sp.issparse(X)):
            out = self.model.predict(X, **{"verbose": 0, **predict_kwargs})
            return out if isinstance(out, np.ndarray) else np.asarray(out)
        # the engine's data module imports TensorFlow, running here already
        from ..._engine.data import PREDICT_CHUNK, SMALL_SPARSE

        chunk = PREDICT_CHUNK
        if sp.issparse(X):  # densified a chunk at a time, a chunk of at most SMALL_SPARSE values
            chunk = max(1, min(chunk, SMALL_SPARSE // max(1, X.shape[1])))
        parts = [
            self.fn(_dense(X[start : start + chunk])).numpy()
            for start in range(0, X.shape[0], chunk)
        ]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


def dense_if_small(X, model):
    """``X`` densified when it is sparse, small and ``model`` does not ask for sparse input.

    Parameters
    ----------
    X : array-like or scipy.sparse matrix
        Training rows.
    model : keras.Model
        The model they train (a sparse ``keras.Input`` keeps sparse rows).

    Returns
    -------
    X : array-like or scipy.sparse matrix
    """
    # the model is built: the engine's data module (TensorFlow) is running already
    from ..._engine.data import densified_if_small

    return X if takes_sparse(model) else densified_if_small(X)


def takes_sparse(model):
    """Whether one of ``model``'s ``keras.Input``s is ``sparse=True`` (a subclassed model,
    without symbolic inputs, is not known to)."""
    try:
        inputs = list(model.inputs or [])
    except (AttributeError, ValueError):
        return False
    return any(getattr(i, "sparse", False) for i in inputs)


def _dense(rows):
    """A chunk of rows as an array (sparse rows densified: the chunk is small)."""
    return rows.toarray() if sp.issparse(rows) else rows


def known_outputs(model):
    """The symbolic outputs of a Functional or Sequential model; ``[]`` for a subclassed one
    (its outputs exist only once it is called)."""
    try:
        return list(model.outputs)
    except (AttributeError, ValueError):
        return []


def snapshot(model):
    """Values of every model and optimizer variable (seed states included)."""
    variables = list(model.variables)
    if getattr(model, "optimizer", None) is not None:
        variables += list(model.optimizer.variables)
    return [(v, np.array(v.numpy(), copy=True)) for v in variables]


def restore(state):
    """Assign the values a :func:`snapshot` took back to their variables."""
    for v, value in state:
        v.assign(value)


class _KerasBytes:
    """A Keras model given as ``model=`` travelling through pickle as ``.keras`` bytes."""

    def __init__(self, data):
        self.data = data


def is_keras_model(obj):
    """Whether ``obj`` is a ``keras.Model`` (without importing Keras to find out)."""
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(obj, keras.Model)


def load_model(data):
    """A compiled model from ``.keras`` bytes (safe mode; keraskit's metric registered)."""
    register_keraskit_objects()
    return model_from_bytes(data, compile=True)
