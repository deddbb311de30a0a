"""Small synthetic data sets for examples, tests and benchmarks (no download)."""

from __future__ import annotations

import numpy as np


def make_shifted_signals(n_samples=600, length=96, n_classes=3, noise=0.6, random_state=0):
    """1-D signals: one of ``n_classes`` short templates at a random position, plus noise.

    Position varies from sample to sample, so a model must recognise a shape wherever it
    is: the task convolutions are made for and a dense network finds hard.

    Parameters
    ----------
    n_samples : int, default=600
        Number of signals.
    length : int, default=96
        Samples per signal.
    n_classes : int, default=3
        Number of templates (classes), at most 4.
    noise : float, default=0.6
        Standard deviation of the Gaussian noise added everywhere.
    random_state : int, default=0
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, length, 1)
        The signals, float32.
    y : ndarray of shape (n_samples,)
        The template of each signal.
    """
    rng = np.random.RandomState(random_state)
    t = np.linspace(0, 1, 16)
    templates = [
        np.sin(2 * np.pi * t) * 2,  # one full sine period
        np.where(t < 0.5, 2.0, -2.0),  # square step
        np.sin(2 * np.pi * 3 * t) * 2,  # three fast periods
        2 * (1 - 2 * np.abs(t - 0.5)),  # triangle bump
    ][:n_classes]
    y = rng.randint(n_classes, size=n_samples)
    X = rng.normal(0, noise, size=(n_samples, length))
    starts = rng.randint(0, length - len(t), size=n_samples)
    for i, (label, start) in enumerate(zip(y, starts, strict=True)):
        X[i, start : start + len(t)] += templates[label]
    return X[..., None].astype(np.float32), y
