"""Autoencoder features feeding a classifier, beside PCA features and raw pixels.

Run: ``python examples/autoencoder_features.py [--small]``.
"""

import argparse
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402

from keraskit import AutoencoderTransformer  # noqa: E402


def main():
    """Cross-validate a logistic regression on three feature sets; print the accuracies."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="fewer epochs, for the tests")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    epochs = 15 if args.small else 300
    for name, reducer in [
        (
            "autoencoder, 8-D code",
            AutoencoderTransformer(
                encoding_dim=8,
                hidden_layer_sizes=(128,),
                alpha=0.01,
                learning_rate_init=0.003,
                max_iter=epochs,
                random_state=0,
            ),
        ),
        ("PCA, 8 components", PCA(8)),
        ("raw 64 pixels", "passthrough"),
    ]:
        pipe = make_pipeline(MinMaxScaler(), reducer, LogisticRegression(max_iter=2000))
        scores = cross_val_score(pipe, X, y, cv=3)
        print(f"{name:<22} logistic regression accuracy {scores.mean():.3f}")


if __name__ == "__main__":
    main()
