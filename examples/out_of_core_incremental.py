"""Train keraskit's MLPClassifier on data that never sits in memory whole.

The training set is a chunked ``dask.array`` whose blocks are made lazily (noisy copies of
sklearn's bundled digits, one block of 1,000 rows at a time, as if read from disk), and
``dask_ml.wrappers.Incremental`` calls ``partial_fit`` once per block: one epoch over that
block. Each call of ``Incremental.partial_fit`` is one pass over every block, in a shuffled
order. Prediction goes block by block too. Needs ``pip install keraskit[dask]``.
Run: ``python examples/out_of_core_incremental.py [--small]``.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from keraskit import MLPClassifier  # noqa: E402

try:
    import dask
    import dask.array as da
    from dask_ml.wrappers import Incremental
except ImportError as error:  # pragma: no cover - the message is the point
    raise SystemExit(f"{error}: this example needs Dask, `pip install keraskit[dask]`") from None

BLOCK = 1000


def lazy_stream(X, y, n_blocks):
    """``n_blocks`` blocks of noisy rows of ``(X, y)``, each made only when it is needed."""

    def block(i):
        rng = np.random.default_rng(i)
        rows = rng.integers(0, len(X), BLOCK)
        noisy = X[rows] + rng.normal(0.0, 0.05, (BLOCK, X.shape[1]))
        return noisy.astype(np.float32), y[rows]

    parts = [dask.delayed(block, nout=2)(i) for i in range(n_blocks)]
    X_stream = da.concatenate(
        [da.from_delayed(p[0], shape=(BLOCK, X.shape[1]), dtype=np.float32) for p in parts]
    )
    y_stream = da.concatenate([da.from_delayed(p[1], shape=(BLOCK,), dtype=y.dtype) for p in parts])
    return X_stream, y_stream


def main():
    """Stream the blocks through partial_fit, then score on held-out digits."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="fewer blocks, for the tests")
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        (X / 16).astype(np.float32), y, stratify=y, random_state=0
    )
    n_blocks, passes = (4, 2) if args.small else (10, 3)
    X_stream, y_stream = lazy_stream(X_train, y_train, n_blocks)
    print(
        f"training stream: {X_stream.shape[0]} rows in {X_stream.numblocks[0]} blocks of "
        f"{BLOCK} ({X_stream.nbytes / 2**20:.1f} MB, none computed yet)"
    )

    inc = Incremental(
        MLPClassifier(hidden_layer_sizes=(64,), random_state=0),
        scoring="accuracy",
        shuffle_blocks=True,
        random_state=0,
    )
    test = da.from_array(X_test, chunks=200)
    for epoch in range(1, passes + 1):
        inc.partial_fit(X_stream, y_stream, classes=np.arange(10))
        accuracy = float((inc.predict(test).compute() == y_test).mean())
        print(f"pass {epoch}: held-out accuracy {accuracy:.3f}")
    mlp = inc.estimator_
    print(
        f"{mlp.t_} rows seen, {len(mlp.history_)} partial_fit calls "
        f"(one per block per pass), last block loss {mlp.loss_:.3f}"
    )


if __name__ == "__main__":
    main()
