"""Devices and precision: distribution strategies, the compute dtype, per-device seeds."""

from __future__ import annotations

import contextlib
import threading

import numpy as np

from .._tensorflow import tf
from .devices import DISTRIBUTIONS

_strategies: dict = {}
_lock = threading.Lock()


def get_strategy(distribution):
    """The process's strategy for ``distribution`` (created once; ``None`` for none).

    ``'mirrored'`` mirrors over every local GPU, or over the logical CPU devices on a
    machine without GPUs (one unless the process configured more).

    Parameters
    ----------
    distribution : {'mirrored'} or None

    Returns
    -------
    strategy : tf.distribute.MirroredStrategy or None
    """
    if distribution is None:
        return None
    if distribution not in DISTRIBUTIONS:
        raise ValueError(
            f"distribution must be one of {DISTRIBUTIONS} or None, got {distribution!r}."
        )
    with _lock:
        if distribution not in _strategies:
            devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
            _strategies[distribution] = tf.distribute.MirroredStrategy([d.name for d in devices])
        return _strategies[distribution]


def strategy_scope(strategy):
    """``strategy.scope()``, or a context that does nothing for ``strategy=None``."""
    return contextlib.nullcontext() if strategy is None else strategy.scope()


def resolve_precision(mixed_precision):
    """The compute dtype of the estimator parameter ``mixed_precision``, or ``None``.

    Parameters
    ----------
    mixed_precision : bool or {'float16', 'bfloat16'}
        ``True`` picks ``'float16'`` when TensorFlow sees a GPU, ``'bfloat16'`` otherwise.

    Returns
    -------
    dtype : {'float16', 'bfloat16'} or None
    """
    if isinstance(mixed_precision, bool | np.bool_):
        if not mixed_precision:
            return None
        return "float16" if tf.config.list_logical_devices("GPU") else "bfloat16"
    return mixed_precision


def skip_together(grads):
    """Make every replica's gradients non-finite when any replica's are (in replica context).

    Keras' loss-scale optimizer decides from the first replica's gradients whether a step
    overflowed, assuming they were summed already; a device's share of a batch overflowing
    alone would otherwise reach the weights through the sum as infinities.
    """
    ctx = tf.distribute.get_replica_context()
    finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads if g is not None])
    bad = ctx.all_reduce(tf.distribute.ReduceOp.SUM, tf.cast(tf.logical_not(finite), tf.float32))
    return [
        None if g is None else tf.where(bad > 0, tf.constant(np.nan, g.dtype), g) for g in grads
    ]


def offset_seeds(seeds):
    """In replica context: add the replica's index to its own copy of each seed state.

    Seed states are mirrored variables updated per device, so every device would otherwise
    draw the same dropout, noise and augmentation randomness for its rows; the first
    device's copy (the one read back) keeps the estimator's seeds.
    """
    rid = tf.distribute.get_replica_context().replica_id_in_sync_group
    for v in seeds:
        v.assign(v + tf.stack([tf.cast(rid, v.dtype), tf.zeros((), v.dtype)]))
    return tf.constant(0)
