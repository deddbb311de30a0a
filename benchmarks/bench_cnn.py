"""CNN fit time per epoch and accuracy: keraskit against plain Keras of the same architecture.

Digit images (sklearn's 8x8 digits) and the shifted-signal task, default CNNClassifier
(conv 32 and 64, 3x3, max pooling, dense 128, Adam 1e-3, batch 200) against the same Keras
model trained by ``model.fit``. Ratios are to plain Keras (lower is faster); the first fit
of a shape (graph compilation) is excluded from both.
Run: ``python benchmarks/bench_cnn.py [--epochs 30]``.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402


def _keras_cnn(input_shape, n_classes):
    import keras

    rank = len(input_shape) - 1
    conv = keras.layers.Conv1D if rank == 1 else keras.layers.Conv2D
    pool = keras.layers.MaxPooling1D if rank == 1 else keras.layers.MaxPooling2D
    model = keras.Sequential(
        [
            keras.Input(input_shape),
            conv(32, 3, padding="same", activation="relu"),
            pool(2),
            conv(64, 3, padding="same", activation="relu"),
            pool(2),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(n_classes, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _tasks():
    from keraskit.datasets import make_shifted_signals

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]
    yield (
        "digit images (8x8)",
        train_test_split(
            images, digits.target, test_size=0.25, stratify=digits.target, random_state=0
        ),
    )
    X, y = make_shifted_signals(n_samples=1500, random_state=0)
    yield (
        "shifted signals (96x1)",
        train_test_split(X, y, test_size=0.3, stratify=y, random_state=0),
    )


def run(epochs):
    """Return rows ``(task, contender, seconds per epoch, test accuracy)``."""
    from keraskit import CNNClassifier

    rows = []
    for task, (X_tr, X_te, y_tr, y_te) in _tasks():
        n_classes = len(np.unique(y_tr))
        _keras_cnn(X_tr.shape[1:], n_classes).fit(X_tr, y_tr, batch_size=200, epochs=1, verbose=0)
        model = _keras_cnn(X_tr.shape[1:], n_classes)
        start = time.perf_counter()
        model.fit(X_tr, y_tr, batch_size=200, epochs=epochs, verbose=0)
        keras_s = (time.perf_counter() - start) / epochs
        keras_acc = model.evaluate(X_te, y_te, verbose=0)[1]

        params = dict(max_iter=epochs, tol=0.0, n_iter_no_change=epochs, random_state=0)
        CNNClassifier(**params).fit(X_tr, y_tr)  # first fit of the shape compiles
        est = CNNClassifier(**params)
        start = time.perf_counter()
        est.fit(X_tr, y_tr)
        ours_s = (time.perf_counter() - start) / est.n_iter_
        rows.append((task, "plain Keras model.fit", keras_s, keras_acc, keras_s))
        rows.append((task, "keraskit CNNClassifier", ours_s, est.score(X_te, y_te), keras_s))
    return rows


def main():
    """Parse arguments, run and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    header = f"{'task':<24} {'contender':<24} {'epoch time / Keras':>18} {'test acc':>9}"
    print(header)
    print("-" * len(header))
    for task, name, seconds, acc, base in run(args.epochs):
        print(f"{task:<24} {name:<24} {seconds / base:>17.2f}x {acc:>9.4f}")


if __name__ == "__main__":
    main()
