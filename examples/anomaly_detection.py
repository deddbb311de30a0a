"""Anomaly detection with an autoencoder's reconstruction error (``score_samples``).

Trains on digits 0-4 only, then scores held-out 0-4 digits (normal) and digits 5-9 plus
noise images (anomalies), and prints the ROC AUC for each kind.
Run: ``python examples/anomaly_detection.py [--small]``.
"""

import argparse
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from keraskit import AutoencoderTransformer  # noqa: E402


def main():
    """Train on normal digits; print how well reconstruction error finds anomalies."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="fewer epochs, for the tests")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    normal, other = X[y < 5], X[y >= 5]
    train, test_normal = train_test_split(normal, test_size=0.3, random_state=0)
    noise = np.random.RandomState(0).rand(100, 64).astype(np.float32)
    ae = AutoencoderTransformer(
        encoding_dim=8,
        hidden_layer_sizes=(128,),
        alpha=0.01,
        learning_rate_init=0.003,
        max_iter=20 if args.small else 300,
        random_state=0,
    ).fit(train)
    normal_scores = ae.score_samples(test_normal)
    for name, anomalies in [("digits 5-9", other), ("noise images", noise)]:
        scores = np.r_[normal_scores, ae.score_samples(anomalies)]
        labels = np.r_[np.zeros(len(test_normal)), np.ones(len(anomalies))]
        print(
            f"{name:>13}: ROC AUC {roc_auc_score(labels, -scores):.3f} "
            f"({len(anomalies)} anomalies against {len(test_normal)} normal digits)"
        )


if __name__ == "__main__":
    main()
