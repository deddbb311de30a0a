"""Dimensionality reduction: a 2-D autoencoder code of the digits, beside PCA.

Prints the reconstruction errors and how well a 5-nearest-neighbour classifier separates
the digits in each 2-D code, and saves a scatter plot of both codes when matplotlib is
installed (``pip install keraskit[plot]``).
Run: ``python examples/autoencoder_2d_code.py [--small] [--out codes.png]``.
"""

import argparse
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402

from keraskit import AutoencoderTransformer  # noqa: E402


def main():
    """Fit both reducers, print their quality and plot the codes."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="fewer epochs, for the tests")
    parser.add_argument("--out", default="autoencoder_codes.png", help="where to save the plot")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    ae = AutoencoderTransformer(
        encoding_dim=2,
        hidden_layer_sizes=(128,),
        alpha=0.01,
        tol=1e-5,
        learning_rate_init=0.003,
        max_iter=20 if args.small else 400,
        random_state=0,
    ).fit(X)
    pca = PCA(2).fit(X)
    codes = {"autoencoder": ae.transform(X), "PCA": pca.transform(X)}
    errors = {
        "autoencoder": -ae.score(X),
        "PCA": float(((pca.inverse_transform(codes["PCA"]) - X) ** 2).mean()),
    }
    for name, Z in codes.items():
        knn = cross_val_score(KNeighborsClassifier(5), Z, y, cv=3).mean()
        print(
            f"{name:>11}: reconstruction MSE {errors[name]:.4f}, 5-NN accuracy in the "
            f"2-D code {knn:.3f}"
        )
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: pip install keraskit[plot] for the plot")
        return
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, (name, Z) in zip(axes, codes.items(), strict=True):
        points = ax.scatter(Z[:, 0], Z[:, 1], c=y, cmap="tab10", s=6)
        ax.set_title(f"{name} code (MSE {errors[name]:.4f})")
    fig.colorbar(points, ax=axes, label="digit")
    fig.savefig(args.out, dpi=100)
    plt.close(fig)
    print(f"plot saved to {args.out}")


if __name__ == "__main__":
    main()
