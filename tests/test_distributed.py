"""Process settings (keraskit.configure), worker thread shares, mirrored training, mixed precision.

Settings that TensorFlow fixes when its runtime starts (threads, logical devices) are tested in
fresh subprocesses; each prints one JSON line of findings.
"""

import json
import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pytest
from _estimators import cases, fit, methods
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

import keraskit
from keraskit import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _run(script, **env):
    """Run ``script`` in a fresh interpreter; return the JSON of its last output line."""
    full_env = {k: v for k, v in os.environ.items() if k not in env or env[k] is not None}
    full_env.update({k: v for k, v in env.items() if v is not None})
    full_env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ configure
def test_import_and_fit_touch_no_tensorflow_setting():
    found = _run(
        """
        import json, os, sys
        before = dict(os.environ)
        import keraskit
        imported = "tensorflow" in sys.modules
        at_import = sorted(k for k in os.environ if os.environ[k] != before.get(k))
        import keras, tensorflow  # they set variables of their own at import
        before = dict(os.environ)
        import numpy as np
        X = np.random.RandomState(0).rand(30, 3); y = np.arange(30) % 2
        keraskit.MLPClassifier((4,), max_iter=2, random_state=0).fit(X, y)
        import tensorflow as tf
        from tensorflow.python.framework import config as tf_config  # no public getter
        print(json.dumps({
            "tf_at_import": imported,
            "env_at_import": at_import,
            "env_changed": sorted(k for k in os.environ if os.environ[k] != before.get(k)),
            "intra": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter": tf.config.threading.get_inter_op_parallelism_threads(),
            "determinism": tf_config.is_op_determinism_enabled(),
            "config": keraskit.get_config(),
        }))
        """,
        OMP_NUM_THREADS=None,
        TF_NUM_INTRAOP_THREADS=None,
        TF_NUM_INTEROP_THREADS=None,
        TF_FORCE_GPU_ALLOW_GROWTH=None,
        KERASKIT_WORKER_GPUS=None,
    )
    assert found == {
        "tf_at_import": False,
        "env_at_import": [],
        "env_changed": [],
        "intra": 0,
        "inter": 0,
        "determinism": False,
        "config": {"threads": None, "gpu_memory_growth": None, "worker_gpus": "spread"},
    }


STARTUP = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1796237942.004446    9345 port.cc:153] oneDNN custom operations are on.\n"
    "I0000 00:00:1796237942.5    9345 cpu_feature_guard.cc:227] This TensorFlow binary is\n"
    "To enable the following instructions: AVX2 FMA, rebuild TensorFlow.\n"
    "/site-packages/somelib.py:3: DeprecationWarning: a user-visible warning\n"
    "W0000 00:00:1796237942.7    9345 util.cc:163] Not handling type DT_DOUBLE\n"
)


@pytest.mark.parametrize(
    "level, expected",
    [
        (None, STARTUP.splitlines(keepends=True)[4:]),  # unset: informational lines hidden
        ("3", STARTUP.splitlines(keepends=True)[4:5]),  # the user's level, as TensorFlow's
        ("0", STARTUP.splitlines(keepends=True)),  # asked for everything: everything
    ],
)
def test_tensorflow_startup_chatter_is_filtered_by_the_users_level(monkeypatch, level, expected):
    from keraskit._config import filter_startup_lines

    if level is None:
        monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    else:
        monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", level)
    assert filter_startup_lines(STARTUP) == "".join(expected)


def test_first_fit_prints_no_tensorflow_startup_lines_and_touches_no_logging():
    script = """
        import json, logging, os, sys
        import keraskit, numpy as np
        before = (logging.getLogger().level, os.environ.get("TF_CPP_MIN_LOG_LEVEL"))
        X = np.random.RandomState(0).rand(30, 3); y = np.arange(30) % 2
        keraskit.MLPClassifier((4,), max_iter=2, random_state=0).fit(X, y)
        after = (logging.getLogger().level, os.environ.get("TF_CPP_MIN_LOG_LEVEL"))
        print(json.dumps({"same": before == after}))
    """
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.splitlines()[-1])["same"]
    assert "absl::InitializeLog" not in out.stderr
    assert "cuda drivers" not in out.stderr and "oneDNN" not in out.stderr, out.stderr


def test_configure_before_tensorflow_starts_and_refuses_after():
    found = _run(
        """
        import json, os
        import keraskit
        config = keraskit.configure(threads=1, gpu_memory_growth=True)
        import numpy as np
        X = np.random.RandomState(0).rand(30, 3); y = np.arange(30) % 2
        keraskit.MLPClassifier((4,), max_iter=2, random_state=0).fit(X, y)
        import tensorflow as tf
        try:
            keraskit.configure(threads=2)
            error = None
        except RuntimeError as exc:
            error = str(exc)
        names = [open(f"/proc/self/task/{t}/comm").read().strip()
                 for t in os.listdir("/proc/self/task")]
        print(json.dumps({
            "config": config,
            "after": keraskit.get_config(),
            "env": [os.environ.get(k) for k in
                    ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
                     "TF_FORCE_GPU_ALLOW_GROWTH")],
            "intra": tf.config.threading.get_intra_op_parallelism_threads(),
            "compute_threads": names.count("tf_Compute"),
            "error": error,
        }))
        """,
        OMP_NUM_THREADS=None,
        KERASKIT_WORKER_GPUS=None,
    )
    assert found["config"] == {"threads": 1, "gpu_memory_growth": True, "worker_gpus": "spread"}
    assert found["after"] == found["config"]  # the refused call changed nothing
    assert found["env"] == ["1", "1", "true"]  # inherited by worker processes
    assert found["intra"] == 1
    assert found["compute_threads"] == 1  # TensorFlow really runs one inter-op thread
    assert "before TensorFlow starts" in found["error"]


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"threads": 0}, ValueError),
        ({"threads": "2"}, ValueError),
        ({"threads": True}, ValueError),
        ({"gpu_memory_growth": "yes"}, TypeError),
    ],
)
def test_configure_rejects_bad_values(kwargs, error):
    before = keraskit.get_config()
    with pytest.raises(error, match=next(iter(kwargs))):
        keraskit.configure(**kwargs)
    assert keraskit.get_config() == before


def _worker_threads():
    X = np.random.RandomState(0).rand(30, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier((4,), max_iter=2, random_state=0).fit(X, np.arange(30) % 2)
    import tensorflow as tf

    return (
        os.getpid(),
        os.environ.get("OMP_NUM_THREADS"),
        keraskit.get_config()["threads"],
        tf.config.threading.get_intra_op_parallelism_threads(),
    )


def test_loky_workers_limit_tensorflow_to_their_share():
    share = max(joblib.cpu_count() // 2, 1)
    with joblib.parallel_config(backend="loky", n_jobs=2):
        results = joblib.Parallel()(joblib.delayed(_worker_threads)() for _ in range(4))
    assert all(pid != os.getpid() for pid, *_ in results)
    for _, omp, threads, intra in results:
        assert omp == str(share)
        assert threads == share
        assert intra == share


# --------------------------------------------------------------- distribution
def test_mirrored_strategy_over_two_logical_cpus():
    found = _run(
        """
        import json, warnings
        warnings.simplefilter("ignore")
        import numpy as np
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from sklearn.datasets import load_digits
        from keraskit import CNNClassifier, MLPClassifier, MLPRegressor
        from keraskit._engine.distribute import get_strategy
        X, y = load_digits(return_X_y=True)
        X, y = (X[:300] / 16).astype(np.float32), y[:300]
        kw = dict(hidden_layer_sizes=(16,), max_iter=6, batch_size=50, random_state=0)
        one = MLPClassifier(**kw).fit(X, y)
        two = MLPClassifier(distribution="mirrored", **kw).fit(X, y)
        reg = MLPRegressor(distribution="mirrored", early_stopping=True, n_iter_no_change=50,
                           **kw).fit(X, y.astype(float))
        inc = MLPClassifier(distribution="mirrored", **kw)
        for _ in range(3):
            inc.partial_fit(X, y, classes=np.arange(10))
        cnn = CNNClassifier(conv_filters=(4,), dense_layer_sizes=(8,), input_shape=(8, 8, 1),
                            batch_normalization=True, dropout=0.2, max_iter=4,
                            distribution="mirrored", mixed_precision="float16",
                            random_state=0).fit(X, y)
        # float16: the second half of every batch (the second device's share) overflows
        # at the first loss scales; every device must skip those steps, as one device does
        big = np.random.RandomState(0).rand(64, 4).astype(np.float32)
        big[(np.arange(64) % 16) >= 8] *= 100
        f16 = dict(hidden_layer_sizes=(8,), max_iter=6, batch_size=16, random_state=0,
                   mixed_precision="float16", shuffle=False)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            f16_one = MLPRegressor(**f16).fit(big, big.sum(axis=1) / 10)
            f16_two = MLPRegressor(distribution="mirrored", **f16).fit(big, big.sum(axis=1) / 10)
        diverged = [str(w.message) for w in caught if "diverged" in str(w.message)]
        # dropout: each device draws its own masks; the first keeps the estimator's seeds
        from keraskit._engine.cache import get_template
        drop = MLPClassifier(dropout=0.3, distribution="mirrored", **kw).fit(X, y)
        template = get_template(drop._arch, "mirrored")
        seeds = [[x.numpy().tolist() for x in
                  template.strategy.experimental_local_results(v.value)]
                 for v in template.non_trainable if v.path.endswith("seed_generator_state")]
        import pickle, keras
        from keraskit import KerasClassifier
        def build(meta):
            return keras.Sequential([
                keras.Input((meta["n_features_in_"],)),
                keras.layers.Dense(16, activation="relu"),
                keras.layers.Dense(meta["n_classes_"], activation="softmax")])
        wkw = dict(epochs=4, batch_size=50, verbose=0, random_state=0)
        w_one = KerasClassifier(build, **wkw).fit(X, y)
        w_two = KerasClassifier(build, distribution="mirrored", **wkw).fit(X, y)
        w_back = pickle.loads(pickle.dumps(w_two))  # unpickled: on the default strategy
        w_back.partial_fit(X, y)
        mirrored = get_strategy("mirrored")
        print(json.dumps({
            "w_one": w_one.history_["loss"], "w_two": w_two.history_["loss"],
            "w_on_mirrored": [w.model_.distribute_strategy is mirrored for w in (w_two, w_back)],
            "w_back": w_back.history_["loss"],
            "replicas": mirrored.num_replicas_in_sync,
            "f16_one": f16_one.loss_curve_, "f16_two": f16_two.loss_curve_,
            "diverged": diverged, "seeds": seeds,
            "drop_seeds": [w.tolist() for w in drop._weights[1]],
            "one": one.loss_curve_, "two": two.loss_curve_,
            "proba": list(two.predict_proba(X).shape),
            "pred_equal": float(np.mean(one.predict(X) == two.predict(X))),
            "reg": reg.loss_curve_, "reg_shape": list(reg.predict(X).shape),
            "reg_val": reg.validation_scores_,
            "inc": inc.loss_curve_,
            "cnn": cnn.loss_curve_, "cnn_dtype": str(cnn.predict_proba(X[:5]).dtype),
        }))
        """
    )
    assert found["replicas"] == 2
    assert found["proba"] == [300, 10]
    assert found["reg_shape"] == [300]
    # validation on the mirrored variables, then the best epoch's weights restored
    assert len(found["reg_val"]) == 6 and found["reg_val"][-1] > found["reg_val"][0]
    # the summed gradients of the two halves of each batch are the one-device gradients
    np.testing.assert_allclose(found["two"], found["one"], rtol=1e-5)
    assert found["pred_equal"] == 1.0
    for curve in ("two", "reg", "inc", "cnn"):
        assert found[curve][-1] < found[curve][0], (curve, found[curve])
    assert len(found["inc"]) == 3
    assert found["cnn_dtype"] == "float32"
    assert found["diverged"] == []
    np.testing.assert_allclose(found["f16_two"], found["f16_one"], rtol=1e-5)
    assert found["f16_one"][-1] < found["f16_one"][0]
    assert len(found["seeds"]) == 1
    (first, second), fitted = found["seeds"][0], found["drop_seeds"][0]
    assert second == [first[0] + 1, first[1]]  # the second device's own stream
    assert first == fitted  # the estimator keeps the first device's (its own seeds)
    # hand-built models: built, compiled and trained under the strategy by Keras' own fit
    np.testing.assert_allclose(found["w_two"], found["w_one"], rtol=1e-5)
    assert found["w_on_mirrored"] == [True, True]  # a warm start moves the model back
    assert len(found["w_back"]) == 5 and found["w_back"][:4] == found["w_two"]


def test_wrapper_refuses_an_unknown_distribution_and_keeps_its_model():
    import keras

    from keraskit import KerasRegressor

    def build(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(1)])

    X = np.random.RandomState(0).rand(20, 3).astype(np.float32)
    reg = KerasRegressor(build, epochs=1, verbose=0).fit(X, X.sum(axis=1))
    before = reg.predict(X)
    with pytest.raises(InvalidParameterError, match="'distribution' parameter of KerasRegressor"):
        reg.set_params(distribution="tpu").fit(X, X.sum(axis=1))
    np.testing.assert_array_equal(reg.predict(X), before)


@pytest.mark.parametrize("make", [lambda: MLPClassifier((4,), max_iter=2), "wrapper"])
def test_estimators_pickled_before_the_device_parameters_load_with_defaults(make):
    from sklearn.base import clone

    if make == "wrapper":
        import keras

        from keraskit import KerasClassifier

        def build(meta):
            return keras.Sequential(
                [keras.Input((meta["n_features_in_"],)), keras.layers.Dense(2, "softmax")]
            )

        est, gone = KerasClassifier(build, epochs=1, verbose=0), ["distribution"]
    else:
        est, gone = make(), ["mixed_precision", "distribution"]
    X, y = np.random.RandomState(0).rand(20, 3).astype(np.float32), np.arange(20) % 2
    est.fit(X, y)
    state = est.__getstate__()
    for name in gone:  # as a keraskit of format 1 wrote it
        del state[name]
    state["_keraskit_format"] = 1
    old = type(est).__new__(type(est))
    old.__setstate__(state)
    assert {k: old.get_params()[k] for k in gone} == {k: est.get_params()[k] for k in gone}
    assert set(vars(old)) == set(vars(est))  # nothing a wrapper does not have
    np.testing.assert_array_equal(old.predict_proba(X), est.predict_proba(X))
    clone(old).fit(X, y)
    repr(old)


def test_lbfgs_refuses_distribution_and_mixed_precision():
    X, y = np.random.RandomState(0).rand(20, 3), np.arange(20) % 2
    fitted = MLPClassifier((4,), solver="lbfgs", max_iter=3).fit(X, y)
    coefs = [c.copy() for c in fitted.coefs_]
    for name, value in (("distribution", "mirrored"), ("mixed_precision", "float16")):
        with pytest.raises(ValueError, match=f"{name}='?{value}'? is not available"):
            fitted.set_params(**{name: value}).fit(X, y)
        fitted.set_params(distribution=None, mixed_precision=False)
        for a, b in zip(coefs, fitted.coefs_, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "params",
    [{"distribution": "multi_worker"}, {"mixed_precision": "float8"}, {"mixed_precision": 1.5}],
)
def test_bad_device_parameters_are_refused_in_sklearn_words(params):
    X, y = np.random.RandomState(0).rand(20, 3), np.arange(20) % 2
    name = next(iter(params))
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of MLPClassifier"):
        MLPClassifier((4,), **params).fit(X, y)


# ------------------------------------------------------------ mixed precision
@pytest.mark.parametrize("precision", ["float16", "bfloat16"])
@pytest.mark.parametrize("case", cases(), ids=lambda c: c[0])
def test_mixed_precision_trains_every_estimator_with_float32_outputs(case, precision, tmp_path):
    _, est, X, y = case
    est.set_params(mixed_precision=precision)
    fit(est, X.astype(np.float32), y)
    policies = {layer.dtype_policy.name for layer in est.model_.layers}
    assert f"mixed_{precision}" in policies
    assert est.model_.outputs[0].dtype == "float32"
    assert all(np.isfinite(est.loss_curve_))
    est.save(tmp_path / "est.kk")
    copies = [pickle.loads(pickle.dumps(est)), keraskit.load(tmp_path / "est.kk")]
    for method in methods(est):
        out = getattr(est, method)(X[:7].astype(np.float32))
        if method != "predict" or y is None or out.dtype.kind == "f":
            assert out.dtype == np.float32, (method, out.dtype)
        for again in copies:
            np.testing.assert_array_equal(out, getattr(again, method)(X[:7].astype(np.float32)))


def test_mixed_precision_learns_like_float32_and_defaults_to_bfloat16_on_cpu():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16  # float64 input: a mixed-precision network is float32 all the same
    kw = dict(hidden_layer_sizes=(32,), max_iter=30, random_state=0)
    full = MLPClassifier(**kw).fit(X[:1200], y[:1200])
    scores = {}
    for precision in (True, "float16"):
        mixed = MLPClassifier(mixed_precision=precision, **kw).fit(X[:1200], y[:1200])
        scores[precision] = mixed.score(X[1200:], y[1200:])
        assert mixed.predict_proba(X[:3]).dtype == np.float64
    assert {layer.dtype_policy.name for layer in mixed.model_.layers} >= {"mixed_float16"}
    auto = MLPClassifier(mixed_precision=True, max_iter=1).fit(X[:50], y[:50])
    assert auto._arch.mixed_precision == "bfloat16"  # no GPU here
    reference = full.score(X[1200:], y[1200:])
    for precision, score in scores.items():
        assert score >= reference - 0.03, (precision, score, reference)


def test_regressor_mixed_precision_one_row_equals_batch():
    rng = np.random.RandomState(0)
    X = rng.rand(60, 4).astype(np.float32)
    reg = MLPRegressor(
        hidden_layer_sizes=(8,), max_iter=5, mixed_precision="bfloat16", random_state=0
    )
    reg.fit(X, X.sum(axis=1))
    batch = reg.predict(X)
    rows = np.array([reg.predict(X[i : i + 1])[0] for i in range(5)])
    np.testing.assert_allclose(rows, batch[:5], rtol=1e-2)
