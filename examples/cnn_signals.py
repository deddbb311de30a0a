"""A 1-D CNN on signals where the pattern's position varies, beside the MLP.

Run: ``python examples/cnn_signals.py [--small]``.
"""

import argparse
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from keraskit import CNNClassifier, MLPClassifier  # noqa: E402
from keraskit.datasets import make_shifted_signals  # noqa: E402


def main():
    """Train a CNN (with signal augmentation) and an MLP; print their test accuracy."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="fewer samples and epochs")
    args = parser.parse_args()
    n, epochs = (300, 10) if args.small else (1500, 100)
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = make_shifted_signals(n_samples=n, random_state=0)  # (n, 96, 1)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    cnn = CNNClassifier(shift=0.1, scale=0.2, max_iter=epochs, random_state=0).fit(X_tr, y_tr)
    mlp = MLPClassifier(max_iter=epochs, random_state=0).fit(X_tr[..., 0], y_tr)
    print(
        f"signals {X.shape}: CNN {cnn.score(X_te, y_te):.4f}, "
        f"MLP {mlp.score(X_te[..., 0], y_te):.4f}"
    )


if __name__ == "__main__":
    main()
