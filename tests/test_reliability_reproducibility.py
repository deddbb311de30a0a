"""Same random_state, bit-identical predictions: in one process and across two processes.

Seeding stays local: no process-wide TensorFlow determinism, no global RNG touched.
"""

import json
import random
import subprocess
import sys
import warnings

import numpy as np
import tensorflow as tf
from _estimators import cases, fit
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

SCRIPT = """
import json, sys, warnings
import numpy as np
sys.path.insert(0, {tests!r})
from _estimators import cases, fit
warnings.simplefilter("ignore")
out = {{}}
for name, est, X, y in cases():
    est.set_params(**({{"rotation": 10.0}} if name == "CNNClassifier" else {{}}))
    fit(est, X, y)
    method = "transform" if y is None else "predict"
    out[name] = getattr(est, method)(X).tobytes().hex()
print(json.dumps(out))
"""


def _run_in_fresh_process():
    import pathlib

    tests = str(pathlib.Path(__file__).parent)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(tests=tests)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_bit_identical_in_a_fresh_process_and_in_this_one():
    # a fresh process against this one, whose caches other tests have warmed: a second
    # fresh process would add a TensorFlow start (about 10 s) and nothing this does not show
    first = _run_in_fresh_process()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, est, X, y in cases():
            est.set_params(**({"rotation": 10.0} if name == "CNNClassifier" else {}))
            method = "transform" if y is None else "predict"
            here = getattr(fit(clone(est), X, y), method)(X).tobytes().hex()
            assert here == first[name], name


def test_seeding_leaves_global_state_alone():
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    tf_sample = tf.random.get_global_generator().state.numpy().copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _, est, X, y in cases():
            fit(est, X, y)
    from tensorflow.python.framework import config as tf_config  # no public getter

    assert not tf_config.is_op_determinism_enabled()
    after = np.random.get_state()  # noqa: NPY002
    assert np_state[0] == after[0] and np.array_equal(np_state[1], after[1])
    assert random.getstate() == py_state
    assert np.array_equal(tf.random.get_global_generator().state.numpy(), tf_sample)


def test_unseeded_fits_draw_fresh_weights_after_seeded_ones():
    """scikeras' failure mode: after a seeded fit, unseeded fits crash (or repeat). Not here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, est, X, y in cases():
            seeded = fit(clone(est), X, y)
            unseeded = [fit(clone(est).set_params(random_state=None), X, y) for _ in range(2)]
            kernels = [e._weights[0][0] for e in (seeded, *unseeded)]
            assert not np.array_equal(kernels[1], kernels[2]), name  # fresh draws each
            assert not np.array_equal(kernels[0], kernels[1]), name  # not the seeded ones
