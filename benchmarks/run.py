"""keraskit's performance, side by side with scikit-learn, plain Keras and scikeras.

One command, one table: ``python benchmarks/run.py`` (or ``make bench``). Every section runs
in a fresh process of its own (so memory figures are not mixed up) and prints ratios, which
is what compares across machines: absolute seconds on a shared machine are noise. The
sections follow the performance issue's targets:

1. seed recipe fit: 60,000 x 784 rows (MNIST-shaped, built from sklearn's digits), one hidden
   layer of 50, ``solver="sgd"``, ``learning_rate_init=0.1``, ``alpha=1e-4``, batch 200,
   10 epochs; time and test accuracy;
2. inference latency: ``predict_proba`` (and ``predict``, ``transform``, ``score_samples``)
   on one row, and on 10,000 rows against ``model.predict``; the largest difference between
   one-row and batch outputs for the same rows;
3. one small fit (digits, 32 hidden units, 3 epochs), with where keraskit's time goes;
4. resident memory over 300 fits of MLP and CNN estimators in one process;
5. the data path: peak memory while training on a 2 GB float32 ``X``;
6. a 2-D CNN epoch on 28x28x1 images against ``model.fit`` of the same network, and the
   first against later small CNN fits of one shape (compiled-function reuse);
7. a grid search of 24 candidates x 3 folds over ``MLPClassifier`` on digits;
8. the same grid search with ``n_jobs=2`` against ``n_jobs=1``, in joblib's loky processes
   and (keraskit) in its threading backend, with what starting the workers costs;
9. the fused search: ``keraskit.model_selection.GridSearchCV`` over 24 candidates x 3 folds
   (``hidden_layer_sizes`` (16,), (32,), (64,); ``alpha`` 1e-4..1e-1; ``learning_rate_init``
   1e-3, 1e-2; ``max_iter=50``) against scikit-learn's ``GridSearchCV`` over scikit-learn's
   MLP and over keraskit's (every network trained alone), first run (traces; TensorFlow is
   imported and started before any timing) and again; and a 5-fold ``cross_validate`` of
   one MLP against scikit-learn's (five lone keraskit fits);
10. the first fit in a process: importing and starting TensorFlow, then the default
   ``MLPClassifier`` on digits first and again (with where the first fit's time goes), a
   new width of an architecture already traced, and a first float32 fit after float64;
11. section 9's fused search on a 2-worker Dask ``LocalCluster`` against local threads;
12. scikit-learn's ``GridSearchCV(n_jobs=2)`` in loky processes against ``n_jobs=1``, over
   keraskit's and scikit-learn's MLPs, worker start included (see ``_parallel.py``).

scikeras is measured when installed (``pip install keraskit[bench]``). ``--quick`` shrinks
every section (smoke test of the script; the figures are then not the targets').
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings
from collections import defaultdict

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

RECIPE = dict(
    hidden_layer_sizes=(50,), solver="sgd", learning_rate_init=0.1, alpha=1e-4, batch_size=200
)
SMALL = dict(hidden_layer_sizes=(32,), max_iter=3, random_state=0)


# ----------------------------------------------------------------------------- helpers
def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _latency(fn, calls):
    fn()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _scikeras():
    try:
        from scikeras.wrappers import KerasClassifier
    except ImportError:
        return None
    return KerasClassifier


def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def _keras_mlp(n_features, hidden, n_classes, alpha, batch, optimizer, spe=1):
    import keras

    reg = keras.regularizers.L2(0.5 * alpha / batch)  # sklearn's scaling of alpha
    layers = [keras.Input((n_features,))]
    layers += [keras.layers.Dense(h, activation="relu", kernel_regularizer=reg) for h in hidden]
    layers.append(keras.layers.Dense(n_classes, activation="softmax", kernel_regularizer=reg))
    model = keras.Sequential(layers)
    model.compile(
        optimizer=optimizer(),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=spe,
    )
    return model


def _sgd():
    import keras

    return keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True)


def _adam():
    import keras

    return keras.optimizers.Adam(1e-3)


def _keras_cnn(input_shape, n_classes):
    """The default ``CNNClassifier`` architecture written by hand in Keras."""
    import keras

    model = keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(n_classes, activation="softmax"),
        ]
    )
    model.compile(optimizer=_adam(), loss="sparse_categorical_crossentropy")
    return model


# ----------------------------------------------------------------------------- sections
def seed_and_latency(quick):
    """Sections 1 and 2: the seed recipe fit, then inference latency on its models."""
    import keras
    import tensorflow as tf
    from _data import mnist_like
    from sklearn.neural_network import MLPClassifier as SkMLP

    import keraskit

    n_train, repeats, calls = (6000, 1, 200) if quick else (60000, 2, 2000)
    X_tr, X_te, y_tr, y_te = mnist_like(n_train, 10000)
    one, big = X_te[:1], X_te
    out = {"fit": {}, "acc": {}, "one_row": {}, "batch": {}}

    sk = SkMLP(max_iter=10, random_state=0, **RECIPE)
    out["fit"]["sklearn"] = _median_time(lambda: sk.fit(X_tr, y_tr), repeats)
    out["acc"]["sklearn"] = sk.score(X_te, y_te)
    out["one_row"]["sklearn"] = _latency(lambda: sk.predict_proba(one), calls)
    out["batch"]["sklearn"] = _latency(lambda: sk.predict_proba(big), 5)

    ks = keraskit.MLPClassifier(max_iter=10, random_state=0, **RECIPE)
    start = time.perf_counter()
    ks.fit(X_tr, y_tr)
    out["fit"]["keraskit (first fit: compiles)"] = time.perf_counter() - start
    out["fit"]["keraskit"] = _median_time(lambda: ks.fit(X_tr, y_tr), repeats)
    out["acc"]["keraskit"] = ks.score(X_te, y_te)
    out["one_row"]["keraskit"] = _latency(lambda: ks.predict_proba(one), calls)
    out["one_row"]["keraskit predict"] = _latency(lambda: ks.predict(one), calls)
    out["batch"]["keraskit"] = _latency(lambda: ks.predict_proba(big), 5)
    batch = ks.predict_proba(big[:300])
    rows = np.vstack([ks.predict_proba(big[i : i + 1]) for i in range(300)])
    out["one_row_vs_batch_max_abs_diff"] = float(np.abs(rows - batch).max())
    out["one_row_vs_batch_labels_equal"] = bool(
        (ks.predict(big[:300]) == np.array([ks.predict(big[i : i + 1])[0] for i in range(300)]))
        .all()
        .item()
    )

    ae = keraskit.AutoencoderTransformer(
        hidden_layer_sizes=(64,), encoding_dim=16, max_iter=2, random_state=0
    ).fit(X_tr[:5000])
    out["one_row"]["keraskit transform"] = _latency(lambda: ae.transform(one), calls)
    out["one_row"]["keraskit score_samples"] = _latency(lambda: ae.score_samples(one), calls)

    for spe in (1, 32):
        name = f"Keras fit (steps_per_execution={spe})"

        def fit_keras(spe=spe):
            model = _keras_mlp(784, (50,), 10, 1e-4, 200, _sgd, spe)
            model.fit(X_tr, y_tr, batch_size=200, epochs=10, verbose=0)
            return model

        fit_keras()  # warm TensorFlow itself
        out["fit"][name] = _median_time(fit_keras, repeats)
        model = fit_keras()
        out["acc"][name] = model.evaluate(X_te, y_te, verbose=0)[1]
    out["one_row"]["Keras model.predict"] = _latency(
        lambda: model.predict(one, verbose=0), max(calls // 20, 5)
    )
    compiled = tf.function(lambda x: model(x, training=False))
    out["one_row"]["Keras compiled function"] = _latency(
        lambda: compiled(tf.constant(one)).numpy(), calls
    )
    out["batch"]["Keras model.predict"] = _latency(lambda: model.predict(big, verbose=0), 5)

    # keraskit's wrapper of the same hand-built model (Keras' own fit, keraskit's predict)
    kw = keraskit.KerasClassifier(
        model=_keras_mlp(784, (50,), 10, 1e-4, 200, _sgd), batch_size=200, epochs=10, verbose=0
    )
    out["fit"]["keraskit KerasClassifier"] = _median_time(lambda: kw.fit(X_tr, y_tr), repeats)
    out["acc"]["keraskit KerasClassifier"] = kw.score(X_te, y_te)
    out["one_row"]["keraskit KerasClassifier"] = _latency(lambda: kw.predict_proba(one), calls)

    KerasClassifier = _scikeras()
    if KerasClassifier is not None:
        sc = KerasClassifier(
            model=_keras_mlp(784, (50,), 10, 1e-4, 200, _sgd), batch_size=200, epochs=10, verbose=0
        )
        out["fit"]["scikeras"] = _median_time(lambda: sc.fit(X_tr, y_tr), repeats)
        out["acc"]["scikeras"] = sc.score(X_te, y_te)
        out["one_row"]["scikeras"] = _latency(lambda: sc.predict_proba(one), max(calls // 20, 5))
    del keras
    return out


def _instrument(acc):
    """Time keraskit's fit stages (for the breakdown) by wrapping engine functions."""
    from keraskit._engine import lone, loop, population, template, trainer
    from keraskit.estimators import _base, _heads

    targets = [
        (_base.BaseKerasEstimator, "_validate_fit_data", "validate X, y"),
        (_heads.ClassifierHead, "prepare", "encode targets"),
        (template, "initial_weights", "draw initial weights"),
        # the Keras-template backend (partial_fit, callbacks, long fits)
        (trainer.Trainer, "start", "template: load weights and optimizer state"),
        (trainer.Trainer, "optimizer_state", "template: unpack optimizer state"),
        (template.Template, "get_weights", "template: unpack weights"),
        (lone.LoneEpochs, "run_epoch", "template: compiled epochs (TensorFlow)"),
        (lone, "train", "template: training loop (all)"),
        # the stacked backend (short lone fits, a group of one)
        (population.Group, "__init__", "stacked: group set-up"),
        (population.Group, "train", "stacked: epochs and bookkeeping (all)"),
        (loop.MemberLoop, "end_epoch", "scikit-learn's bookkeeping per epoch"),
        (_base.BaseKerasEstimator, "_set_fitted", "fitted attributes"),
    ]
    _time_calls(acc, targets)


def _time_calls(acc, targets):
    """Replace each ``owner.name`` of ``targets`` by a wrapper adding its time to ``acc``."""
    for owner, name, label in targets:
        fn = getattr(owner, name)

        def timed(*args, fn=fn, label=label, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                acc[label] += time.perf_counter() - start

        setattr(owner, name, functools.wraps(fn)(timed) if inspect.isfunction(fn) else timed)


def small_fit(quick):
    """Section 3: one small fit, everything included, and keraskit's breakdown."""
    from sklearn.neural_network import MLPClassifier as SkMLP

    import keraskit

    X, y = _digits()
    n = 5 if quick else 30
    out = {"fit": {}, "breakdown": {}}
    out["fit"]["sklearn"] = _median_time(lambda: SkMLP(**SMALL).fit(X, y), n)
    keraskit.MLPClassifier(**SMALL).fit(X, y)  # first fit of the shape compiles
    out["fit"]["keraskit"] = _median_time(lambda: keraskit.MLPClassifier(**SMALL).fit(X, y), n)

    def keras_fit():
        model = _keras_mlp(64, (32,), 10, 1e-4, 200, _adam)
        model.fit(X, y, batch_size=200, epochs=3, verbose=0)

    keras_fit()
    out["fit"]["Keras (new model per fit)"] = _median_time(keras_fit, max(n // 5, 2))
    KerasClassifier = _scikeras()
    if KerasClassifier is not None:

        def scikeras_fit():
            model = _keras_mlp(64, (32,), 10, 1e-4, 200, _adam)
            KerasClassifier(model=model, epochs=3, batch_size=200, verbose=0).fit(X, y)

        out["fit"]["scikeras"] = _median_time(scikeras_fit, max(n // 5, 2))

    acc = defaultdict(float)
    _instrument(acc)
    start = time.perf_counter()
    for _ in range(n):
        keraskit.MLPClassifier(**SMALL).fit(X, y)
    total = (time.perf_counter() - start) / n
    out["breakdown"] = {k: v / n for k, v in acc.items()}
    out["breakdown"]["total"] = total
    return out


def memory(quick):
    """Section 4: resident memory over many fits in one process."""
    import keras
    from sklearn.neural_network import MLPClassifier as SkMLP

    import keraskit

    X, y = _digits()
    X, y = X[:600], y[:600]
    images = X.reshape(-1, 8, 8, 1)
    n_fits, mark = (60, 10) if quick else (300, 50)
    n_keras = 20 if quick else 60
    out = {}

    def track(make, fits, first_mark):
        marks = {}
        for i in range(1, fits + 1):
            make()
            if i in (first_mark, fits):
                marks[i] = _rss_mb()
        return marks[fits] - marks[first_mark], (marks[fits] - marks[first_mark]) / (
            fits - first_mark
        )

    small = dict(max_iter=2, random_state=0)
    out["keraskit MLPClassifier"] = track(
        lambda: keraskit.MLPClassifier((32,), **small).fit(X, y), n_fits, mark
    )
    out["keraskit CNNClassifier"] = track(
        lambda: keraskit.CNNClassifier(conv_filters=(8,), dense_layer_sizes=(16,), **small).fit(
            images, y
        ),
        n_fits,
        mark,
    )
    out["sklearn MLPClassifier"] = track(lambda: SkMLP((32,), **small).fit(X, y), n_fits, mark)

    def keras_fit():
        model = _keras_mlp(64, (32,), 10, 1e-4, 200, _adam)
        model.fit(X, y, batch_size=200, epochs=2, verbose=0)

    out["Keras (new model per fit)"] = track(keras_fit, n_keras, n_keras // 5)
    KerasClassifier = _scikeras()
    if KerasClassifier is not None:

        def scikeras_fit():
            model = _keras_mlp(64, (32,), 10, 1e-4, 200, _adam)
            KerasClassifier(model=model, epochs=2, batch_size=200, verbose=0).fit(X, y)

        out["scikeras"] = track(scikeras_fit, n_keras, n_keras // 5)
    del keras
    return out


def data_path(quick, contender="keraskit"):
    """Section 5: peak resident memory over the size of a large float32 X while training."""
    import keraskit

    gigabytes = 0.25 if quick else 2.0
    n = int(gigabytes * 2**30 / (784 * 4))
    rng = np.random.default_rng(0)

    def fit(X, y):
        if contender == "keraskit":
            keraskit.MLPClassifier(max_iter=1, random_state=0, **RECIPE).fit(X, y)
        else:
            model = _keras_mlp(784, (50,), 10, 1e-4, 200, _sgd)
            model.fit(X, y, batch_size=200, epochs=1, verbose=0)

    # warm up on a little data, so that TensorFlow's own start-up is not counted
    fit(rng.random((2000, 784), dtype=np.float32), np.arange(2000) % 10)
    before = max(_rss_mb(), _peak_mb())
    X = rng.random((n, 784), dtype=np.float32)
    y = (X[:, :10].argmax(axis=1)).astype(np.int64)
    x_mb = X.nbytes / 2**20
    fit(X, y)
    # the peak counts X itself: 1.0x means no copy at all
    return {"x_mb": x_mb, "peak_over_x": (_peak_mb() - before) / x_mb}


def cnn(quick):
    """Section 6: a CNN epoch on 28x28x1 images; small CNN fits reusing the compiled graph."""
    from _data import mnist_like

    import keraskit

    n, epochs = (2000, 1) if quick else (12000, 2)
    X_tr, _, y_tr, _ = mnist_like(n, 10)
    images = X_tr.reshape(-1, 28, 28, 1)
    out = {}
    model = _keras_cnn((28, 28, 1), 10)
    model.fit(images, y_tr, batch_size=200, epochs=1, verbose=0)  # compile
    start = time.perf_counter()
    model.fit(images, y_tr, batch_size=200, epochs=epochs, verbose=0)
    out["Keras model.fit"] = (time.perf_counter() - start) / epochs
    params = dict(max_iter=epochs, tol=0.0, n_iter_no_change=epochs, random_state=0)
    keraskit.CNNClassifier(**params).fit(images[:400], y_tr[:400])  # compile this shape
    est = keraskit.CNNClassifier(**params)
    start = time.perf_counter()
    est.fit(images, y_tr)
    out["keraskit CNNClassifier"] = (time.perf_counter() - start) / est.n_iter_

    X, y = _digits()
    small = dict(conv_filters=(8, 16), dense_layer_sizes=(32,), max_iter=3, random_state=0)
    fits = []
    for _ in range(4):
        start = time.perf_counter()
        keraskit.CNNClassifier(**small).fit(X.reshape(-1, 8, 8, 1), y)
        fits.append(time.perf_counter() - start)
    out["small CNN fit, first (compiles)"] = fits[0]
    out["small CNN fit, later (reuses)"] = statistics.median(fits[1:])
    return out


def _grid(quick):
    """The grid of sections 7 and 8."""
    if quick:
        return {"hidden_layer_sizes": [(32,), (64,)], "alpha": [1e-4, 1e-2]}
    return {
        "hidden_layer_sizes": [(32,), (64,), (32, 32)],
        "alpha": [1e-4, 1e-2],
        "learning_rate_init": [1e-3, 1e-2],
        "batch_size": [64, 200],
    }


def grid_search(quick):
    """Section 7: 24 candidates x 3 folds over MLPClassifier on digits."""
    from sklearn.model_selection import GridSearchCV
    from sklearn.neural_network import MLPClassifier as SkMLP

    import keraskit

    X, y = _digits()
    grid = _grid(quick)
    base = dict(max_iter=30, random_state=0)
    out = {}
    for name, est in (
        ("sklearn", SkMLP(**base)),
        ("keraskit", keraskit.MLPClassifier(**base)),
    ):
        search = GridSearchCV(est, grid, cv=3, n_jobs=1)
        start = time.perf_counter()
        search.fit(X, y)
        out[name] = (time.perf_counter() - start, float(search.best_score_))
    return out


def grid_search_jobs(quick):
    """Section 8: section 7's search with n_jobs=2 and n_jobs=1, worker start included.

    For each contender, a first search on a few rows and one epoch starts the workers
    (each loky process imports its library; keraskit's compile the networks of the grid)
    and compiles this process's networks; the timed searches then compare steady-state
    wall times. keraskit runs twice: in joblib's loky processes (scikit-learn's default)
    and in joblib's threading backend (one TensorFlow runtime and one set of traces).
    Both ``n_jobs`` must find the same scores: each fit is seeded by ``random_state`` alone.
    """
    from joblib import parallel_config
    from sklearn.model_selection import GridSearchCV
    from sklearn.neural_network import MLPClassifier as SkMLP

    import keraskit

    X, y = _digits()
    grid = _grid(quick)
    out = {}
    contenders = (
        ("sklearn", SkMLP, "loky"),
        ("keraskit", keraskit.MLPClassifier, "loky"),
        ("keraskit threads", keraskit.MLPClassifier, "threading"),
    )
    for name, cls, backend in contenders:
        times, scores = {}, {}
        for n_jobs in (1, 2):
            with parallel_config(backend=backend):
                start = time.perf_counter()
                warm = GridSearchCV(cls(max_iter=1, random_state=0), grid, cv=3, n_jobs=n_jobs)
                warm.fit(X[:300], y[:300])
                times[f"start n_jobs={n_jobs}"] = time.perf_counter() - start
                search = GridSearchCV(cls(max_iter=30, random_state=0), grid, cv=3, n_jobs=n_jobs)
                start = time.perf_counter()
                search.fit(X, y)
            times[f"n_jobs={n_jobs}"] = time.perf_counter() - start
            scores[n_jobs] = search.cv_results_["mean_test_score"]
        times["max score difference"] = float(np.abs(scores[1] - scores[2]).max())
        out[name] = times
    return out


def _fused_grid():
    """The grid of section 9 (the fused-search issue's)."""
    return {
        "hidden_layer_sizes": [(16,), (32,), (64,)],
        "alpha": [1e-4, 1e-3, 1e-2, 1e-1],
        "learning_rate_init": [1e-3, 1e-2],
    }


def _n_iter(est, X, y):
    """A scorer reporting a fitted network's epochs (to compare every member's)."""
    return est.n_iter_


def _timed_search(cls, est, grid, X, y, scoring=None):
    start = time.perf_counter()
    search = cls(est, grid, cv=3, n_jobs=1, refit=False, scoring=scoring).fit(X, y)
    return time.perf_counter() - start, search.cv_results_


def fused_search(quick):
    """Section 9: the fused search and cross-validation against lone fits and sklearn."""
    from sklearn import model_selection as sk
    from sklearn.neural_network import MLPClassifier as SkMLP

    import keraskit
    from keraskit import model_selection as kms

    X, y = _digits()
    grid = _fused_grid() if not quick else {"alpha": [1e-4, 1e-2]}
    base = dict(max_iter=5 if quick else 50, random_state=0)
    keraskit.MLPClassifier(max_iter=1).fit(X[:50], y[:50])  # TensorFlow imported and started
    out = {}
    sk_times = [_timed_search(sk.GridSearchCV, SkMLP(**base), grid, X, y)[0] for _ in range(2)]
    out["sklearn"] = min(sk_times)
    est = keraskit.MLPClassifier(**base)
    scoring = {"score": "accuracy", "n_iter": _n_iter}
    out["fused first"], fused = _timed_search(kms.GridSearchCV, est, grid, X, y, scoring)
    # the best of two, as scikit-learn's time (the host's noise moves single runs by 30%)
    out["fused again"] = min(
        _timed_search(kms.GridSearchCV, est, grid, X, y, scoring)[0] for _ in range(2)
    )
    out["lone"], lone = _timed_search(sk.GridSearchCV, est, grid, X, y, scoring)
    diff = np.abs(fused["mean_test_score"] - lone["mean_test_score"])
    out["max score difference"] = float(diff.max())
    out["same ranks"] = bool((fused["rank_test_score"] == lone["rank_test_score"]).all())
    best = [int(np.argmax(r["mean_test_score"])) for r in (fused, lone)]
    out["same best"] = best[0] == best[1]
    splits = [f"split{i}_test_n_iter" for i in range(3)]
    same = [np.sum(fused[k] == lone[k]) for k in splits]
    out["n_iter equal"] = f"{int(sum(same))}/{3 * len(lone['params'])}"
    cv_times = {}
    for name, fn in (("lone", sk.cross_validate), ("fused", kms.cross_validate)):
        fn(est, X, y, cv=5)  # traced
        start = time.perf_counter()
        fn(est, X, y, cv=5)
        cv_times[name] = time.perf_counter() - start
    out["cross_validate"] = cv_times
    return out


def _first_fit_stages():
    """Wrap the engine's set-up steps to time them (for the first-fit breakdown)."""
    from keraskit._engine import cache, template, trainer

    acc = defaultdict(float)
    targets = [
        (cache, "Template", "build the Keras model (template)"),
        (cache, "Trainer", "build the trainer (optimizer, signatures)"),
        (template, "initial_weights", "draw initial weights"),
    ]
    _time_calls(acc, targets)
    original = trainer.Trainer.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        epoch, calls = self.epoch, []

        def timed(*a, **k):
            label = "later epochs (training)" if calls else "first epoch call (traces, optimizes)"
            calls.append(None)
            start = time.perf_counter()
            try:
                return epoch(*a, **k)
            finally:
                acc[label] += time.perf_counter() - start

        self.epoch = timed

    trainer.Trainer.__init__ = init
    return acc


def first_fit(quick):
    """Section 10: what the first fit in a process costs, and where it goes."""
    from sklearn.neural_network import MLPClassifier as SkMLP

    import keraskit

    X, y = _digits()
    X = X.astype(np.float64)
    out = {}
    start = time.perf_counter()
    from keraskit._tensorflow import tf

    out["import TensorFlow"] = time.perf_counter() - start
    start = time.perf_counter()
    tf.zeros(()).numpy()
    out["start runtime"] = time.perf_counter() - start
    kw = dict(random_state=0, max_iter=20 if quick else 200)
    acc = _first_fit_stages()
    out["default first"] = _timed(lambda: keraskit.MLPClassifier(**kw).fit(X, y))
    out["breakdown"] = dict(acc)
    out["default again"] = _timed(lambda: keraskit.MLPClassifier(**kw).fit(X, y))
    out["sklearn default"] = _timed(lambda: SkMLP(**kw).fit(X, y))

    def small(width, X=X):
        return lambda: keraskit.MLPClassifier((width,), max_iter=5, random_state=0).fit(X, y)

    out["(16,) first"] = _timed(small(16))
    out["(16,) again"] = _timed(small(16))
    out["new width (32,)"] = _timed(small(32))
    out["(32,) again"] = _timed(small(32))
    out["float32 first"] = _timed(small(32, X.astype(np.float32)))
    out["float32 again"] = _timed(small(32, X.astype(np.float32)))
    return out


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cluster(quick):
    """Sections 11 and 12: a Dask cluster and loky processes (``_parallel.py``)."""
    import _parallel

    X, y = _digits()
    grid = _fused_grid() if not quick else {"alpha": [1e-4, 1e-2]}
    return _parallel.cluster_section(X, y, grid, quick)


SECTIONS = {
    "seed": seed_and_latency,
    "small": small_fit,
    "memory": memory,
    "data": data_path,
    "data_keras": functools.partial(data_path, contender="keras"),
    "cnn": cnn,
    "grid": grid_search,
    "grid_jobs": grid_search_jobs,
    "fused": fused_search,
    "first": first_fit,
    "cluster": cluster,
}


# ----------------------------------------------------------------------------- table
def _run_section(name, quick):
    cmd = [sys.executable, os.path.abspath(__file__), "--section", name]
    cmd += ["--quick"] if quick else []
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"section {name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def _ratio(value, base):
    return f"{value / base:.2f}x" if base else "n/a"


def _row(what, target, **cells):
    return [what, target] + [cells.get(k, "") for k in ("sklearn", "keraskit", "keras", "scik")]


def build_table(r):
    """Rows ``[what, target, sklearn, keraskit, plain Keras, scikeras]`` from section results."""
    rows = []
    seed = r["seed"]
    f, acc = seed["fit"], seed["acc"]
    base = f["sklearn"]
    spe = "Keras fit (steps_per_execution=32)"
    rows.append(
        _row(
            "1. seed recipe fit, time",
            "<= 0.8x sklearn",
            sklearn="1.00x",
            keraskit=f"{_ratio(f['keraskit'], base)} "
            f"(first fit {_ratio(f['keraskit (first fit: compiles)'], base)})",
            keras=f"{_ratio(f['Keras fit (steps_per_execution=1)'], base)}; "
            f"spe=32 {_ratio(f[spe], base)}",
            scik=_ratio(f["scikeras"], base) if "scikeras" in f else "not installed",
        )
    )
    rows.append(
        _row(
            "1. seed recipe, test accuracy",
            ">= sklearn - 0.01",
            sklearn=f"{acc['sklearn']:.4f}",
            keraskit=f"{acc['keraskit']:.4f}",
            keras=f"{acc['Keras fit (steps_per_execution=1)']:.4f}",
            scik=f"{acc['scikeras']:.4f}" if "scikeras" in acc else "",
        )
    )
    rows.append(
        _row(
            "1. the same hand-built model: keraskit KerasClassifier vs scikeras (fit)",
            "",
            keraskit=_ratio(f["keraskit KerasClassifier"], base),
            scik=_ratio(f["scikeras"], base) if "scikeras" in f else "not installed",
        )
    )
    one = seed["one_row"]
    ms = {k: v * 1e3 for k, v in one.items()}
    rows.append(
        _row(
            "2. predict_proba, one row (ms)",
            "<= 0.3 ms",
            sklearn=f"{ms['sklearn']:.3f}",
            keraskit=f"{ms['keraskit']:.3f} ({_ratio(ms['keraskit'], ms['sklearn'])})",
            keras=f"{ms['Keras model.predict']:.1f} predict; "
            f"{ms['Keras compiled function']:.2f} compiled fn",
            scik=f"{ms['scikeras']:.1f}" if "scikeras" in ms else "",
        )
    )
    rows.append(
        _row(
            "2. predict_proba, one row, KerasClassifier wrapper (ms)",
            "",
            keraskit=f"{ms['keraskit KerasClassifier']:.3f}",
            scik=f"{ms['scikeras']:.1f}" if "scikeras" in ms else "",
        )
    )
    rows.append(
        _row(
            "2. one row: predict / transform / score_samples (ms)",
            "<= 0.3 ms",
            keraskit=" / ".join(
                f"{ms['keraskit ' + m]:.3f}" for m in ("predict", "transform", "score_samples")
            ),
        )
    )
    rows.append(
        _row(
            "2. one row vs batch, same rows",
            "identical",
            keraskit=f"max abs diff {seed['one_row_vs_batch_max_abs_diff']:.1e}, labels "
            + ("equal" if seed["one_row_vs_batch_labels_equal"] else "DIFFER"),
        )
    )
    b = seed["batch"]
    rows.append(
        _row(
            "2. predict_proba, 10,000 rows, vs model.predict",
            "<= 1.0x",
            sklearn=_ratio(b["sklearn"], b["Keras model.predict"]),
            keraskit=_ratio(b["keraskit"], b["Keras model.predict"]),
            keras="1.00x",
        )
    )
    small = r["small"]["fit"]
    rows.append(
        _row(
            "3. one small fit (ms)",
            "<= 20 ms",
            sklearn=f"{small['sklearn'] * 1e3:.1f}",
            keraskit=f"{small['keraskit'] * 1e3:.1f} "
            f"({_ratio(small['keraskit'], small['sklearn'])})",
            keras=f"{small['Keras (new model per fit)'] * 1e3:.0f}",
            scik=f"{small['scikeras'] * 1e3:.0f}" if "scikeras" in small else "",
        )
    )
    mem = r["memory"]
    rows.append(
        _row(
            "4. RSS growth, fits 50-300 (MB)",
            "<= 60 MB",
            sklearn=f"{mem['sklearn MLPClassifier'][0]:.1f}",
            keraskit=f"MLP {mem['keraskit MLPClassifier'][0]:.1f}; "
            f"CNN {mem['keraskit CNNClassifier'][0]:.1f}",
        )
    )
    rows.append(
        _row(
            "4. RSS growth per fit (MB)",
            "flat",
            sklearn=f"{mem['sklearn MLPClassifier'][1]:.3f}",
            keraskit=f"MLP {mem['keraskit MLPClassifier'][1]:.3f}; "
            f"CNN {mem['keraskit CNNClassifier'][1]:.3f}",
            keras=f"{mem['Keras (new model per fit)'][1]:.2f}",
            scik=f"{mem['scikeras'][1]:.2f}" if "scikeras" in mem else "",
        )
    )
    data, data_keras = r["data"], r["data_keras"]
    rows.append(
        _row(
            f"5. peak memory / size of X ({data['x_mb'] / 1024:.1f} GB float32)",
            "< 1.5x",
            keraskit=f"{data['peak_over_x']:.2f}x",
            keras=f"{data_keras['peak_over_x']:.2f}x",
        )
    )
    c = r["cnn"]
    rows.append(
        _row(
            "6. CNN epoch, 28x28x1, vs model.fit",
            "<= 1.0x",
            keraskit=_ratio(c["keraskit CNNClassifier"], c["Keras model.fit"]),
            keras="1.00x",
        )
    )
    rows.append(
        _row(
            "6. small CNN fit: later fits / first fit",
            "reuse",
            keraskit=f"{c['small CNN fit, later (reuses)'] * 1e3:.0f} ms / "
            f"{c['small CNN fit, first (compiles)'] * 1e3:.0f} ms",
        )
    )
    g = r["grid"]
    rows.append(
        _row(
            "7. grid search 24x3 (max_iter=30), wall time",
            "<= 2x sklearn",
            sklearn=f"1.00x (best {g['sklearn'][1]:.3f})",
            keraskit=f"{_ratio(g['keraskit'][0], g['sklearn'][0])} (best {g['keraskit'][1]:.3f})",
        )
    )
    j = r["grid_jobs"]

    def jobs_cell(t):
        diff = t["max score difference"]
        start = _ratio(t["start n_jobs=2"], t["n_jobs=1"])
        with_start = t["n_jobs=2"] + t["start n_jobs=2"] - t["start n_jobs=1"]
        return (
            f"{_ratio(t['n_jobs=2'], t['n_jobs=1'])}, start included "
            f"{_ratio(with_start, t['n_jobs=1'])} (workers' start {start} of a search; "
            + ("same scores" if diff == 0 else f"scores differ by {diff:.1e}")
            + ")"
        )

    rows.append(
        _row(
            "8. grid search wall time, n_jobs=2 vs n_jobs=1 (loky processes)",
            "",
            sklearn=jobs_cell(j["sklearn"]),
            keraskit=jobs_cell(j["keraskit"]),
        )
    )
    rows.append(
        _row(
            "8. the same, keraskit in joblib's threading backend",
            "<= 0.75x, start included",
            keraskit=jobs_cell(j["keraskit threads"]),
        )
    )
    rows.extend(_fused_rows(r["fused"]))
    rows.extend(_first_rows(r["first"]))
    import _parallel  # (sections 11 and 12 live apart; this directory is on sys.path)

    rows.extend(_parallel.rows(r["cluster"], _row, _ratio))
    return rows


def _first_rows(ff):
    """Section 10's rows."""
    return [
        _row(
            "10. first fit in a process (TensorFlow imported), default MLPClassifier on digits",
            "<= 1.5x the same fit warm",
            sklearn=f"{ff['sklearn default'] / ff['default again']:.2f}x of keraskit warm",
            keraskit=f"{ff['default first'] / ff['default again']:.2f}x warm; (16,) 5 epochs "
            f"{ff['(16,) first'] / ff['(16,) again']:.1f}x",
        ),
        _row(
            "10. a new width of a traced architecture, more than a warm fit",
            "<= 0.05 s",
            keraskit=f"{ff['new width (32,)'] - ff['(32,) again']:+.2f} s; first float32 "
            f"after float64 {ff['float32 first'] - ff['float32 again']:+.2f} s",
        ),
        _row(
            "10. importing + starting TensorFlow, in units of a warm default fit",
            "",
            keraskit=f"{ff['import TensorFlow'] / ff['default again']:.1f}x + "
            f"{ff['start runtime'] / ff['default again']:.2f}x",
        ),
    ]


def _fused_rows(fz):
    """Section 9's rows."""
    base = fz["sklearn"]
    cv = fz["cross_validate"]
    same = "same ranks" if fz["same ranks"] else "ranks differ"
    same += ", same best" if fz["same best"] else ", BEST DIFFERS"
    return [
        _row(
            "9. fused grid search 24x3 (max_iter=50), wall time",
            "<= 0.35x first, <= 0.2x again",
            sklearn="1.00x",
            keraskit=f"fused {_ratio(fz['fused first'], base)} first, "
            f"{_ratio(fz['fused again'], base)} again; lone fits {_ratio(fz['lone'], base)}",
        ),
        _row(
            "9. fused vs lone fits: mean_test_score",
            "equal",
            keraskit=f"max abs diff {fz['max score difference']:.1e} (float32), {same}, "
            f"n_iter_ equal {fz['n_iter equal']}",
        ),
        _row(
            "9. 5-fold cross_validate, fused vs 5 lone fits",
            "<= 0.4x",
            keraskit=_ratio(cv["fused"], cv["lone"]),
        ),
    ]


def print_table(rows, breakdown, reference):
    """Print the markdown table, then keraskit's small-fit breakdown."""
    header = ["what", "target", "sklearn MLP", "keraskit", "plain Keras", "scikeras"]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
    print("\nWhere one small keraskit fit spends its time (ms, mean):")
    for name, seconds in sorted(breakdown.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<34} {seconds * 1e3:7.2f}")
    print(f"\n{reference}")


def main():
    """Run every section in its own process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script")
    parser.add_argument("--section", choices=sorted(SECTIONS), help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the raw results to this file")
    args = parser.parse_args()
    if args.section:
        print(json.dumps(SECTIONS[args.section](args.quick)))
        return
    results = {}
    for name in SECTIONS:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results[name] = _run_section(name, args.quick)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    import sklearn
    import tensorflow as tf

    reference = (
        f"Machine: {os.cpu_count()} CPU cores; TensorFlow {tf.__version__}, scikit-learn "
        f"{sklearn.__version__}. sklearn seed recipe fit {results['seed']['fit']['sklearn']:.2f} "
        f"s, one small fit {results['small']['fit']['sklearn'] * 1e3:.1f} ms (ratios are what "
        "to compare across machines)."
    )
    print_table(build_table(results), results["small"]["breakdown"], reference)
    print("\nWhere the first fit in a process spends its time (s; default MLPClassifier):")
    first = results["first"]
    for name, seconds in sorted(first["breakdown"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:<46} {seconds:7.3f}")
    print(f"  {'the whole first fit':<46} {first['default first']:7.3f}")
    print(f"  {'the same fit again':<46} {first['default again']:7.3f}")


if __name__ == "__main__":
    main()
