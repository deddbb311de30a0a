"""Seed recipe: fit time and one-row predict latency, side by side, printed as ratios.

Compares, in one run and one process, scikit-learn's MLPClassifier, keraskit's
MLPClassifier, plain Keras (``model.fit``, with and without ``steps_per_execution=32``) and
scikeras (when installed: ``pip install keraskit[bench]``) on the seed recipe: 784 inputs,
60,000 rows, ``hidden_layer_sizes=(50,)``, ``solver="sgd"``, ``learning_rate_init=0.1``,
``alpha=1e-4``, ``batch_size=200``, 10 epochs. Times are medians of ``--repeats`` runs;
ratios are to scikit-learn (lower is faster). Run: ``python benchmarks/bench_seed_recipe.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
from _data import mnist_like  # noqa: E402

RECIPE = dict(
    hidden_layer_sizes=(50,), solver="sgd", learning_rate_init=0.1, alpha=1e-4, batch_size=200
)


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _latency(predict_one, calls):
    predict_one()  # warm
    start = time.perf_counter()
    for _ in range(calls):
        predict_one()
    return (time.perf_counter() - start) / calls


def _keras_model(alpha, n_samples_batch):
    import keras

    reg = keras.regularizers.L2(0.5 * alpha / n_samples_batch)  # sklearn's scaling
    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(50, activation="relu", kernel_regularizer=reg),
            keras.layers.Dense(10, activation="softmax", kernel_regularizer=reg),
        ]
    )
    return model


def _compile(model, steps_per_execution=1):
    import keras

    model.compile(
        optimizer=keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


def run(n_train, n_test, epochs, repeats, calls):
    """Run every contender and return rows ``(name, fit_s, accuracy, predict_1row_s)``."""
    from sklearn.neural_network import MLPClassifier as SkMLP

    import keraskit

    X_tr, X_te, y_tr, y_te = mnist_like(n_train, n_test)
    one = X_te[:1]
    rows = []

    sk = SkMLP(max_iter=epochs, random_state=0, **RECIPE)
    t = _median_time(lambda: sk.fit(X_tr, y_tr), repeats)
    rows.append(
        (
            "sklearn MLPClassifier",
            t,
            sk.score(X_te, y_te),
            _latency(lambda: sk.predict_proba(one), calls),
        )
    )

    ks = keraskit.MLPClassifier(max_iter=epochs, random_state=0, **RECIPE)
    start = time.perf_counter()
    ks.fit(X_tr, y_tr)
    cold = time.perf_counter() - start
    t = _median_time(lambda: ks.fit(X_tr, y_tr), repeats)
    lat = _latency(lambda: ks.predict_proba(one), calls)
    rows.append(("keraskit MLPClassifier (first fit, compiles)", cold, ks.score(X_te, y_te), lat))
    rows.append(("keraskit MLPClassifier", t, ks.score(X_te, y_te), lat))

    for spe in (1, 32):

        def fit_keras(spe=spe):
            model = _compile(_keras_model(1e-4, 200), spe)
            model.fit(X_tr, y_tr, batch_size=200, epochs=epochs, verbose=0)
            return model

        fit_keras()  # warm TensorFlow itself
        t = _median_time(fit_keras, repeats)
        model = fit_keras()
        acc = model.evaluate(X_te, y_te, verbose=0)[1]
        lat = _latency(lambda model=model: model.predict(one, verbose=0), max(calls // 20, 5))
        rows.append((f"plain Keras fit, steps_per_execution={spe}", t, acc, lat))

    try:
        from scikeras.wrappers import KerasClassifier
    except ImportError:
        rows.append(
            ("scikeras (not installed: pip install keraskit[bench])", np.nan, np.nan, np.nan)
        )
    else:

        def make():
            return KerasClassifier(
                model=_compile(_keras_model(1e-4, 200)), batch_size=200, epochs=epochs, verbose=0
            )

        sc = make()
        t = _median_time(lambda: sc.fit(X_tr, y_tr), repeats)
        lat = _latency(lambda: sc.predict_proba(one), max(calls // 20, 5))
        rows.append(("scikeras KerasClassifier", t, sc.score(X_te, y_te), lat))
    return rows


def print_table(rows):
    """Print the rows with ratios to the first (scikit-learn) row."""
    base_fit, base_lat = rows[0][1], rows[0][3]
    header = (
        f"{'contender':<52} {'fit / sklearn':>13} {'test acc':>9} {'1-row predict / sklearn':>24}"
    )
    print(header)
    print("-" * len(header))
    for name, fit_s, acc, lat in rows:
        print(f"{name:<52} {fit_s / base_fit:>12.2f}x {acc:>9.4f} {lat / base_lat:>23.1f}x")
    print(
        f"\n(sklearn reference on this machine: fit {base_fit:.2f} s, one-row predict_proba "
        f"{base_lat * 1e3:.3f} ms; ratios are what to compare across machines)"
    )


def main():
    """Parse arguments, run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60000, help="training rows")
    parser.add_argument("--test-rows", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--calls", type=int, default=2000, help="one-row predict calls")
    args = parser.parse_args()
    rows = run(args.rows, args.test_rows, args.epochs, args.repeats, args.calls)
    print_table(rows)


if __name__ == "__main__":
    main()
