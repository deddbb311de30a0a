"""MNIST-shaped data made from scikit-learn's bundled digits (no download needed).

The 8x8 digits are upscaled to 28x28, shifted by up to 2 pixels and noised, giving as many
784-feature rows as asked for. The task is of MNIST's size and shape, not MNIST itself.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import zoom
from sklearn.datasets import load_digits


def mnist_like(n_train=60000, n_test=10000, random_state=0):
    """Return ``X_train, X_test, y_train, y_test`` as float32 in [0, 1] with 784 features.

    Parameters
    ----------
    n_train, n_test : int
        Rows of each split.
    random_state : int
        Seed of the sampling, shifts and noise.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarray
    """
    rng = np.random.RandomState(random_state)
    digits = load_digits()
    base = zoom(digits.images / 16.0, (1, 3.5, 3.5), order=1).clip(0, 1)  # (1797, 28, 28)
    n = n_train + n_test
    pick = rng.randint(len(base), size=n)
    images = base[pick].astype(np.float32)
    shifts = rng.randint(-2, 3, size=(n, 2))
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            rows = np.flatnonzero((shifts[:, 0] == dy) & (shifts[:, 1] == dx))
            images[rows] = np.roll(images[rows], (dy, dx), axis=(1, 2))
    images += rng.normal(0, 0.1, size=images.shape).astype(np.float32)
    X = images.clip(0, 1).reshape(n, 784)
    y = digits.target[pick]
    return X[:n_train], X[n_train:], y[:n_train], y[n_train:]
