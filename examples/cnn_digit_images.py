"""A CNN on digit images, with augmentation, beside the MLP.

sklearn's 8x8 digits as images ``(n, 8, 8)``, and the same CNN at the end of a Pipeline
fed flattened rows. Run: ``python examples/cnn_digit_images.py [--small]``.
"""

import argparse
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from keraskit import CNNClassifier, MLPClassifier  # noqa: E402
from keraskit.pipelines import ImageShaper  # noqa: E402


def main():
    """Train the three models and print their test accuracy."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="fewer epochs, for the tests")
    args = parser.parse_args()
    epochs = 10 if args.small else 200
    warnings.simplefilter("ignore", ConvergenceWarning)
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)
    split = train_test_split(
        images, digits.target, test_size=0.25, stratify=digits.target, random_state=0
    )
    X_tr, X_te, y_tr, y_te = split
    cnn = CNNClassifier(rotation=10.0, translation=0.1, max_iter=epochs, random_state=0)
    cnn.fit(X_tr, y_tr)
    rows_tr, rows_te = X_tr.reshape(len(X_tr), -1), X_te.reshape(len(X_te), -1)
    pipe = make_pipeline(
        ImageShaper((8, 8, 1), scale=None),
        CNNClassifier(input_shape=(8, 8, 1), max_iter=epochs, random_state=0),
    ).fit(rows_tr, y_tr)
    mlp = MLPClassifier(max_iter=epochs, random_state=0).fit(rows_tr, y_tr)
    print(
        f"CNN on (n, 8, 8) images, rotation+translation: {cnn.score(X_te, y_te):.4f} "
        f"({cnn.n_iter_} epochs, input_shape_={cnn.input_shape_})"
    )
    print(f"CNN at the end of a Pipeline on flat rows:      {pipe.score(rows_te, y_te):.4f}")
    print(f"MLP on flat rows:                               {mlp.score(rows_te, y_te):.4f}")


if __name__ == "__main__":
    main()
