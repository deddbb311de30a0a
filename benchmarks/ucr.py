"""The default ``CNNClassifier`` on public 1-D benchmarks, against published small CNNs.

``python benchmarks/ucr.py`` (or ``make bench-ucr``) trains keraskit's default
``CNNClassifier`` (and, for contrast, the default ``MLPClassifier``) on four datasets of the
UCR time-series archive, with their official train/test splits, over several seeds, and
prints held-out accuracy beside the accuracy published for the fully convolutional network
(FCN) and ResNet of Wang, Yan and Oates, "Time series classification from scratch with deep
neural networks: a strong baseline" (IJCNN 2017), Table 1 (1 - error rate).

The data comes from the ``aeon`` wheel, which bundles these datasets as ``.ts`` files: it is
fetched once with ``pip download aeon==1.6.0 --no-deps`` into ``benchmarks/.data`` (only the
package registry is needed) and read by the small parser below; aeon is not installed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402

CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".data")
WHEEL_SPEC = "aeon==1.6.0"

#: Held-out accuracy of FCN and ResNet, Wang et al. (2017), Table 1.
PUBLISHED = {
    "GunPoint": (1.000, 0.993),
    "ItalyPowerDemand": (0.970, 0.960),
    "ArrowHead": (0.843, 0.845),
    "OSULeaf": (0.988, 0.979),
}


def _wheel():
    """Path of the aeon wheel in the cache, downloaded on first use."""
    os.makedirs(CACHE, exist_ok=True)
    found = [f for f in os.listdir(CACHE) if f.startswith("aeon-") and f.endswith(".whl")]
    if not found:
        cmd = [sys.executable, "-m", "pip", "download", WHEEL_SPEC, "--no-deps", "-q"]
        subprocess.run(cmd + ["-d", CACHE], check=True)
        found = [f for f in os.listdir(CACHE) if f.endswith(".whl")]
    return os.path.join(CACHE, found[0])


def parse_ts(lines):
    """Rows and labels of a univariate ``.ts`` file (header lines until ``@data``).

    Parameters
    ----------
    lines : iterable of str
        The file's lines; each data line is ``v1,v2,...,vn:label``.

    Returns
    -------
    X : ndarray of shape (n_series, length), float32
    y : ndarray of shape (n_series,), str
    """
    X, y, data = [], [], False
    for line in map(str.strip, lines):
        if not line or line.startswith("#"):
            continue
        if not data:
            data = line.lower().startswith("@data")
            continue
        values, label = line.rsplit(":", 1)
        X.append([float(v) for v in values.split(",")])
        y.append(label)
    return np.asarray(X, dtype=np.float32), np.asarray(y)


def load_ucr(name, part):
    """``X, y`` of one official split (``'TRAIN'`` or ``'TEST'``) of a UCR dataset."""
    with zipfile.ZipFile(_wheel()) as wheel:
        path = f"aeon/datasets/data/{name}/{name}_{part}.ts"
        text = wheel.read(path).decode("utf-8")
    return parse_ts(text.splitlines())


def _accuracies(make, name, seeds):
    X_tr, y_tr = load_ucr(name, "TRAIN")
    X_te, y_te = load_ucr(name, "TEST")
    return [make(seed).fit(X_tr, y_tr).score(X_te, y_te) for seed in seeds]


def _cell(accs):
    return f"{np.mean(accs):.3f} ± {np.std(accs):.3f}"


def main(argv=None):
    """Print the table: dataset, default CNN, default MLP, published FCN and ResNet."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--datasets", nargs="*", default=list(PUBLISHED))
    args = parser.parse_args(argv)
    import keraskit  # after the arguments: --help needs no TensorFlow

    seeds = range(args.seeds)
    print(
        f"| dataset | default CNNClassifier ({args.seeds} seeds) | default MLPClassifier "
        "| FCN (published) | ResNet (published) |"
    )
    print("|---|---|---|---|---|")
    for name in args.datasets:
        start = time.perf_counter()
        cnn = _accuracies(lambda s: keraskit.CNNClassifier(random_state=s), name, seeds)
        mlp = _accuracies(lambda s: keraskit.MLPClassifier(random_state=s), name, seeds)
        fcn, resnet = PUBLISHED[name]
        print(f"| {name} | {_cell(cnn)} | {_cell(mlp)} | {fcn:.3f} | {resnet:.3f} |", flush=True)
        print(f"  ({time.perf_counter() - start:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
