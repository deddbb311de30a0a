"""A DataFrame as it comes: TabularRegressor beside gradient boosting and an MLP pipeline.

scikit-learn's diabetes data in its original units, as a DataFrame whose ``sex`` column is a
category, with a few values missing (as real frames have). ``TabularRegressor`` takes it
with no preprocessing: it encodes the columns itself, trains its pack of networks as one,
and blends them. Five-fold cross-validation compares it with ``HistGradientBoosting`` and
with scikit-learn's MLP in ``make_tabular_pipeline``; then the fitted pack is shown, saved,
loaded and timed on one row.

Run: ``python examples/tabular_frame.py`` (``--small`` for a quick check).
"""

import argparse
import os
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.ensemble import HistGradientBoostingRegressor  # noqa: E402
from sklearn.model_selection import KFold, cross_validate  # noqa: E402
from sklearn.neural_network import MLPRegressor  # noqa: E402

import keraskit  # noqa: E402
from keraskit.pipelines import make_tabular_pipeline  # noqa: E402


def load_frame(seed=0):
    """The diabetes frame: original units, ``sex`` a category, 5% of ``bmi`` and ``bp`` NA."""
    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame["sex"] = frame["sex"].map({1.0: "female", 2.0: "male"}).astype("category")
    rng = np.random.RandomState(seed)
    for column in ("bmi", "bp"):
        frame.loc[rng.rand(len(frame)) < 0.05, column] = np.nan
    return frame.drop(columns="target"), frame["target"]


def main(small=False):
    """Compare the three models, then show the fitted pack."""
    X, y = load_frame()
    budget = dict(pack_size=2, max_epochs=5) if small else {}
    models = {
        "HistGradientBoostingRegressor": HistGradientBoostingRegressor(
            categorical_features="from_dtype", random_state=0
        ),
        "make_tabular_pipeline(sklearn MLPRegressor)": make_tabular_pipeline(
            MLPRegressor(max_iter=20 if small else 200, random_state=0)
        ),
        "keraskit TabularRegressor": keraskit.TabularRegressor(random_state=0, **budget),
    }
    cv = KFold(3 if small else 5, shuffle=True, random_state=0)
    print(f"{'model (defaults)':<46} {'R^2':>6} {'fit s':>7}")
    for name, model in models.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the MLP pipeline's convergence warnings
            result = cross_validate(model, X, y, cv=cv)
        r2, seconds = result["test_score"].mean(), result["fit_time"].mean()
        print(f"{name:<46} {r2:>6.3f} {seconds:>7.2f}")

    reg = keraskit.TabularRegressor(random_state=0, **budget).fit(X, y)
    print("\nThe pack (one row per member; pd.DataFrame(reg.pack_)):")
    print(pd.DataFrame(reg.pack_).round(4).to_string())
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "diabetes.keraskit")
        reg.save(path)
        loaded = keraskit.load(path)
    assert np.array_equal(loaded.predict(X), reg.predict(X))
    row = X.head(1)
    loaded.predict(row)
    start = time.perf_counter()
    for _ in range(100):
        loaded.predict(row)
    ms = (time.perf_counter() - start) * 10
    print(f"\nSaved and loaded without pickle; one row predicted in {ms:.2f} ms.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a quick check")
    main(parser.parse_args().small)
