"""A GridSearchCV over MLP hyperparameters on a mixed pandas DataFrame.

Numbers, nullable integers, booleans, strings and categories with missing values, and a
string target, go through ``make_tabular_pipeline`` into keraskit's MLPClassifier; the
search tunes ``estimator__*`` parameters. The frame is built from sklearn's bundled wine data.
Run: ``python examples/dataframe_grid_search.py [--small]``.
"""

import argparse
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.datasets import load_wine  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402

from keraskit import MLPClassifier  # noqa: E402
from keraskit.pipelines import make_tabular_pipeline  # noqa: E402


def wine_frame(random_state=0):
    """sklearn's wine data as a messy DataFrame: mixed dtypes, missing values, string target."""
    rng = np.random.RandomState(random_state)
    wine = load_wine(as_frame=True)
    df = wine.frame.drop(columns="target")
    df["magnesium"] = df["magnesium"].round().astype("Int64")
    df["hue_band"] = pd.cut(df["hue"], 3, labels=["dull", "mid", "bright"])  # category
    df["alcohol_high"] = (df["alcohol"] > df["alcohol"].median()).astype("boolean")
    df["cellar"] = pd.array(rng.choice(["north", "south", "east"], len(df)), dtype="string")
    for column in ["magnesium", "hue_band", "alcohol_high", "cellar", "ash"]:
        df.loc[rng.rand(len(df)) < 0.08, column] = pd.NA if column != "hue_band" else np.nan
    target = pd.Series(np.array(wine.target_names)[wine.target], name="cultivar")
    return df, target


def main():
    """Search, then print the best parameters and the held-out accuracy."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="fewer epochs, for the tests")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    df, y = wine_frame()
    print(
        f"{df.shape[0]} rows, dtypes: {sorted(set(map(str, df.dtypes)))}, "
        f"{int(df.isna().sum().sum())} missing values"
    )
    X_tr, X_te, y_tr, y_te = train_test_split(df, y, stratify=y, random_state=0)
    pipe = make_tabular_pipeline(MLPClassifier(max_iter=30 if args.small else 300, random_state=0))
    grid = {
        "estimator__hidden_layer_sizes": [(16,), (64,)],
        "estimator__alpha": [1e-4, 1e-2],
        "estimator__learning_rate_init": [1e-3, 1e-2],
    }
    search = GridSearchCV(pipe, grid, cv=3).fit(X_tr, y_tr)
    print(f"best: {search.best_params_} (cv accuracy {search.best_score_:.3f})")
    print(
        f"held-out accuracy: {search.score(X_te, y_te):.3f}; "
        f"predictions look like {search.predict(X_te.head(3)).tolist()}"
    )


if __name__ == "__main__":
    main()
