"""Sections 11 and 12 of ``run.py``: searches on a Dask cluster and in loky processes.

11. the fused search of section 9 (24 candidates x 3 folds, ``max_iter=50``, digits) on a
    ``distributed.LocalCluster`` of 2 worker processes (one thread each) against the same
    search in this process's threads: first on fresh workers (each imports TensorFlow),
    then again; the split scores must be identical;
12. scikit-learn's ``GridSearchCV(n_jobs=2)`` (joblib's loky processes) against
    ``n_jobs=1``, over keraskit's and scikit-learn's MLPs, 12 candidates x 3 folds on digits,
    25 and 300 epochs: first with fresh workers (their start included), then with the
    workers loky keeps between searches.
"""

from __future__ import annotations

import logging
import time
import warnings

import numpy as np

LOKY_GRID = {
    "hidden_layer_sizes": [(32,), (64,), (32, 32)],
    "alpha": [1e-4, 1e-2],
    "learning_rate_init": [1e-3, 1e-2],
}


def _split_scores(results):
    return np.concatenate([results[f"split{i}_test_score"] for i in range(3)])


def _timed_fit(search, X, y):
    start = time.perf_counter()
    search.fit(X, y)
    return time.perf_counter() - start, search


def dask_cluster(X, y, grid, max_iter):
    """Section 11: the fused search on a 2-worker LocalCluster against local threads."""
    import joblib
    from distributed import Client, LocalCluster

    import keraskit
    from keraskit.model_selection import GridSearchCV

    est = keraskit.MLPClassifier(max_iter=max_iter, random_state=0)
    search = lambda: GridSearchCV(est, grid, cv=3, refit=False)  # noqa: E731
    _timed_fit(search(), X, y)  # this process traces
    local, reference = min(_timed_fit(search(), X, y) for _ in range(2))
    out = {"local": local}
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.ERROR,
    )  # fmt: skip
    with cluster, Client(cluster), joblib.parallel_backend("dask"):
        out["first"], first = _timed_fit(search(), X, y)
        out["again"], again = min(_timed_fit(search(), X, y) for _ in range(2))
    out["identical"] = all(
        np.array_equal(_split_scores(s.cv_results_), _split_scores(reference.cv_results_))
        for s in (first, again)
    )
    pids = [run["pid"] for run in again.fused_groups_]
    out["runs per worker"] = sorted(pids.count(p) for p in set(pids))
    return out


def loky_jobs(X, y, epochs_list):
    """Section 12: scikit-learn's GridSearchCV with n_jobs=2 against n_jobs=1, in loky."""
    from joblib.externals.loky import get_reusable_executor
    from sklearn.model_selection import GridSearchCV
    from sklearn.neural_network import MLPClassifier as SkMLP

    import keraskit

    out = {}
    for name, cls in (("keraskit", keraskit.MLPClassifier), ("sklearn", SkMLP)):
        GridSearchCV(cls(max_iter=2, random_state=0), LOKY_GRID, cv=3).fit(X, y)  # traced here
        for epochs in epochs_list:
            est = cls(max_iter=epochs, random_state=0)
            serial, s1 = _timed_fit(GridSearchCV(est, LOKY_GRID, cv=3, n_jobs=1), X, y)
            get_reusable_executor().shutdown(wait=True)  # fresh workers: their start counts
            cold, s2 = _timed_fit(GridSearchCV(est, LOKY_GRID, cv=3, n_jobs=2), X, y)
            warm, _ = _timed_fit(GridSearchCV(est, LOKY_GRID, cv=3, n_jobs=2), X, y)
            scores = [s.cv_results_["mean_test_score"] for s in (s1, s2)]
            same = np.array_equal(*scores)
            out[f"{name} {epochs}"] = {"n_jobs=1": serial, "cold": cold, "warm": warm, "same": same}
    return out


def cluster_section(X, y, grid, quick):
    """Run sections 11 and 12 on digits ``X, y``; ``grid`` is section 9's."""
    warnings.filterwarnings("ignore")
    epochs = (2, 5) if quick else (25, 300)
    out = {"dask": dask_cluster(X, y, grid, 5 if quick else 50)}
    out["loky"] = loky_jobs(X, y, epochs)
    out["epochs"] = list(epochs)
    return out


def rows(r, row, ratio):
    """Table rows of sections 11 and 12 (``row`` and ``ratio`` are ``run.py``'s helpers)."""
    d = r["dask"]
    same = "identical split scores" if d["identical"] else "SCORES DIFFER"
    per = "/".join(map(str, d["runs per worker"]))
    out = [
        row(
            "11. fused search 24x3 on a 2-worker Dask LocalCluster vs local threads",
            "<= 1.3x, identical cv_results_",
            keraskit=f"{ratio(d['again'], d['local'])} (fresh workers "
            f"{ratio(d['first'], d['local'])}: each imports TensorFlow); {same}; "
            f"runs per worker {per}",
        )
    ]
    short, long_ = r["epochs"]
    for epochs, target in ((long_, "<= 0.65x, start included"), (short, "<= 1.0x, start included")):
        cells = {}
        for name, key in (("keraskit", "keraskit"), ("sklearn", "sklearn")):
            t = r["loky"][f"{name} {epochs}"]
            same = "same scores" if t["same"] else "SCORES DIFFER"
            cells[key] = (
                f"{ratio(t['cold'], t['n_jobs=1'])} (workers kept from a search before "
                f"{ratio(t['warm'], t['n_jobs=1'])}); {same}"
            )
        out.append(
            row(
                f"12. GridSearchCV 12x3 on digits, {epochs} epochs: n_jobs=2 (loky) vs n_jobs=1",
                target,
                **cells,
            )
        )
    return out
