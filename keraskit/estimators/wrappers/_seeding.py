"""Seeded wrapper fits without lasting global effects.

Keras draws initializer and dropout seeds from Python's ``random``, shuffles NumPy data with
NumPy's legacy global generator and seeds ops from TensorFlow's global seed. A wrapper fit
with a ``random_state`` seeds all three for its duration and puts them back afterwards. The
op-seed sequence of a user's own global seed has no public getter, so it is read from
TensorFlow's eager context (``context()._rng``): the one private access of the wrappers, kept
here alone.
"""

from __future__ import annotations

import random
from contextlib import contextmanager

import numpy as np
from sklearn.utils import check_random_state

from ..._config import before_tensorflow


@contextmanager
def seeded(random_state, offset=0):
    """Seed Python's, NumPy's and TensorFlow's global generators for a block, then restore.

    Keras draws initializer and dropout seeds from Python's ``random`` and shuffles with
    TensorFlow's global seed; both are put back afterwards, so a seeded fit leaves no trace
    on later (seeded or unseeded) work. Op determinism is never switched on.
    """
    before_tensorflow()  # every fit and initialize starts here, before TensorFlow runs
    if random_state is None:
        yield
        return
    # TensorFlow is imported by the fit that needs it, not with keraskit
    from ..._tensorflow import tf

    # continuing fits (warm start, partial_fit) get a new seed per epoch already trained, so
    # that their batches are not shuffled identically at every call
    seed = (int(check_random_state(random_state).randint(2**31 - 1)) + offset) % (2**31 - 1)
    with untouched_rng():  # every generator put back afterwards, the user's op seeds too
        random.seed(seed)
        # Keras' numpy data paths shuffle with NumPy's legacy global generator
        np.random.seed(seed % (2**32))  # noqa: NPY002
        tf.random.set_seed(seed)
        yield


@contextmanager
def untouched_rng():
    """Run a block without a lasting effect on any global generator: Python's, NumPy's,
    TensorFlow's global seed and its op-seed sequence are put back afterwards (a block
    that seeds them, or builds a model nobody trains from its draws)."""
    # TensorFlow is running: the block builds a model
    from tensorflow.python.eager import context

    from ..._tensorflow import tf

    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    ctx = context.context()
    tf_seed = context.global_seed()
    op_seeds = getattr(ctx, "_rng", None)  # the op-seed sequence of a user's global seed
    op_state = op_seeds.getstate() if op_seeds is not None else None
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)  # noqa: NPY002
        if context.global_seed() != tf_seed:
            tf.random.set_seed(tf_seed)
        if op_state is not None and getattr(ctx, "_rng", None) is not None:
            ctx._rng.setstate(op_state)  # continue the user's sequence where it was
