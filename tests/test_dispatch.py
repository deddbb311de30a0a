"""Runs of a fused search as joblib tasks: partition, bundles, detached data, worker settings.

The integration tests (a Dask cluster, loky processes, Ray) are in ``test_parallel.py`` and
``test_parallel_ray.py``; these check the parts on their own, in this process or in small
child processes that never start TensorFlow.
"""

import hashlib
import multiprocessing
import os
import warnings

import joblib
import numpy as np
import pytest
from joblib import parallel_config
from sklearn.datasets import make_classification

from keraskit import MLPClassifier, configure, get_config
from keraskit import _config as config
from keraskit._engine import dispatch, population


def _plans(n=6, widths=(8,), max_iter=4):
    X, y = make_classification(120, 6, n_informative=4, n_classes=3, random_state=0)
    X2 = X[::-1].copy()
    plans = []
    for width in widths:
        for k in range(n):
            rows = X if k % 2 == 0 else X2  # two "splits" of the data, shared by identity
            target = y if k % 2 == 0 else y[::-1]
            est = MLPClassifier(
                hidden_layer_sizes=(width,), alpha=10.0**-k, max_iter=max_iter, random_state=k
            )
            plans.append(est.plan_fit(rows, target))
    return plans


def _digest(results):
    weights = b"".join(w.tobytes() for r in results for part in r.weights for w in part)
    return hashlib.md5(weights).hexdigest()


def test_partition_cuts_large_groups_into_near_equal_runs_in_plan_order(monkeypatch):
    monkeypatch.setitem(population.RUN_MEMBERS, "CPU", 4)
    plans = _plans(n=9, widths=(8, 16))
    runs = population.partition(plans)
    assert runs == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11], [12, 13, 14], [15, 16, 17]]


def test_results_do_not_depend_on_how_many_threads_train_the_runs():
    digests = set()
    for threads in (1, 3):
        plans = _plans(n=4, widths=(8, 16))
        runs = population.partition(plans)
        digests.add(_digest(population.train_runs(plans, runs, threads)))
    assert len(digests) == 1


def test_bundles_share_the_work_evenly_longest_runs_first():
    plans = _plans(n=2, widths=(4, 8, 16, 32))
    runs = [[0, 1], [2, 3], [4, 5], [6, 7]]
    costs = [dispatch.run_cost(plans, r) for r in runs]
    assert costs == sorted(costs)  # wider networks cost more
    tasks = dispatch.bundles(plans, runs, 2)
    # the widest run alone costs about as much as the three others together
    assert tasks == [[[6, 7]], [[4, 5], [2, 3], [0, 1]]]
    loads = [sum(dispatch.run_cost(plans, r) for r in t) for t in tasks]
    assert abs(loads[0] - loads[1]) < costs[0]
    assert dispatch.bundles(plans, runs, 8) == [[r] for r in reversed(runs)]  # one run per task


def test_detached_plans_send_each_array_once_and_come_back_whole():
    plans = _plans(n=4)
    lean, arrays = dispatch.detach(plans)
    # X twice (two splits); targets and sample weights equal in content are sent once
    n_distinct = len({joblib.hash(a) for p in plans for a in (p.data.X, p.data.Y, p.data.sw)})
    assert len(arrays) == n_distinct < 3 * len(plans)
    assert all(isinstance(p.data.X, dispatch._Ref) for p in lean)
    back = dispatch.attach(lean, arrays)
    for original, returned in zip(plans, back, strict=True):
        for name in dispatch.ARRAY_FIELDS:
            a, b = getattr(original.data, name), getattr(returned.data, name)
            assert (a is None and b is None) or np.array_equal(a, b)
    # every task gets the search's own array objects (Dask scatters each object once)
    calls = [dispatch._task(lean, arrays, [run]) for run in ([0, 2], [1, 3], [0, 1])]
    ids = {id(arg) for _, args, _ in calls for arg in args[2:]}
    assert ids <= {id(a) for a in arrays}


def test_a_worker_bundle_trains_as_this_process_and_updates_the_plans():
    plans = _plans(n=4)
    runs = population.partition(plans)
    reference = population.train_runs(_plans(n=4), runs)
    lean, arrays = dispatch.detach(plans)
    outcome, place = dispatch.train_bundle(lean, runs, *arrays)
    assert place["pid"] == os.getpid() and place["seconds"] > 0
    assert _digest([r for r, *_ in outcome]) == _digest(reference)
    assert outcome[0][1].loss_curve and len(outcome[0][1].loss_curve) == reference[0].n_iter


def test_chosen_backend_is_the_users_process_backend_only():
    assert dispatch.chosen_backend() is None  # joblib's default, not chosen
    for name in ("threading", "sequential"):
        with parallel_config(backend=name):
            assert dispatch.chosen_backend() is None  # trains here, in threads
    with parallel_config(backend="loky", n_jobs=3):
        chosen = dispatch.chosen_backend()
    assert chosen.name == "LokyBackend" and chosen.n_jobs == 3


# ------------------------------------------------------------------ worker settings
@pytest.fixture
def released_slots():
    yield
    while config._state["gpu_locks"]:
        os.close(config._state["gpu_locks"].pop())


def test_workers_spread_over_the_gpus_fewest_first(tmp_path, released_slots):
    # each call stands for a worker: a slot's lock excludes every other holder
    claims = [config.claim_gpu_slot(2, str(tmp_path)) for _ in range(5)]
    assert claims == [0, 1, 0, 1, 0]
    os.close(config._state["gpu_locks"].pop(1))  # the worker on GPU 1 ended
    assert config.claim_gpu_slot(2, str(tmp_path)) == 1


class _FakeConfig:
    """``tf.config`` of a machine with three GPUs, recording what is made visible."""

    def __init__(self):
        self.visible = None

    def list_physical_devices(self, kind):
        return [f"GPU:{i}" for i in range(3)] if kind == "GPU" else ["CPU:0"]

    def set_visible_devices(self, devices, kind):
        self.visible = (devices, kind)


def test_a_worker_sees_only_the_gpu_it_claims(monkeypatch, tmp_path, released_slots):
    fake = _FakeConfig()
    monkeypatch.setattr(
        config, "import_tensorflow", lambda: (type("tf", (), {"config": fake}), None)
    )
    monkeypatch.setattr(config.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    config._take_one_gpu()
    assert fake.visible == (["GPU:0"], "GPU")
    config._take_one_gpu()  # the next worker on this machine
    assert fake.visible == (["GPU:1"], "GPU")
    fake.visible = None
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2")  # the engine chose (Ray does)
    config._take_one_gpu()
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    monkeypatch.setenv(config._WORKER_GPUS_VAR, "all")
    config._take_one_gpu()
    assert fake.visible is None


def test_worker_gpus_is_a_setting_workers_inherit(monkeypatch):
    monkeypatch.setenv(config._WORKER_GPUS_VAR, "unset")  # put back as it was afterwards
    monkeypatch.delenv(config._WORKER_GPUS_VAR)
    assert get_config()["worker_gpus"] == "spread"
    assert configure(worker_gpus="all")["worker_gpus"] == "all"
    assert os.environ[config._WORKER_GPUS_VAR] == "all"
    with pytest.raises(ValueError, match="worker_gpus must be 'spread', 'all' or None, got 'one'"):
        configure(worker_gpus="one")
    assert get_config()["worker_gpus"] == "all"


def _worker_facts(_):
    return config.in_worker(), config._keep_freed_memory()


def test_a_child_process_is_a_worker_and_keeps_its_freed_memory():
    assert not config.in_worker()  # the test process (pytest-xdist's workers are not children)
    # a fresh child: mallopt changes the process it runs in
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            in_worker, kept = pool.map(_worker_facts, [0])[0]
    assert in_worker
    assert kept == (os.uname().sysname == "Linux")
