"""DataFrame in, model-ready features out: ``make_tabular_pipeline``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

_NUMERIC = [
    "number",
    "boolean",
    "Int64",
    "Int32",
    "Int16",
    "Int8",
    "UInt64",
    "UInt32",
    "UInt16",
    "UInt8",
    "Float64",
    "Float32",
    "bool",
]
_CATEGORICAL = ["object", "string", "category"]


def _as_float(X):
    """Numeric and nullable columns (``Int64``, ``Float64``, ``boolean``) as float, NA as NaN."""
    if isinstance(X, pd.DataFrame):
        return X.astype("float64")
    return np.asarray(X, dtype=np.float64)


def _as_object(X):
    """Categorical columns as plain objects with NaN for every kind of missing value."""
    if isinstance(X, pd.DataFrame):
        X = X.astype(object)
        return X.where(X.notna(), np.nan)
    X = np.asarray(X, dtype=object)
    return np.where(pd.isna(X), np.nan, X)


def make_tabular_pipeline(
    estimator,
    *,
    numeric=None,
    categorical=None,
    scale=True,
    numeric_strategy="median",
    categorical_strategy="most_frequent",
):
    """A scikit-learn Pipeline that turns a mixed pandas DataFrame into features for ``estimator``.

    Numeric columns (including the nullable ``Int64``, ``Float64`` and ``boolean`` dtypes)
    are imputed and standardized; categorical columns (``object``, ``string``,
    ``category``) are imputed and one-hot encoded, categories unseen in ``fit`` being
    ignored at predict time. Columns are chosen by dtype unless given.

    Parameters
    ----------
    estimator : estimator
        Any scikit-learn estimator; keraskit's networks are the point.
    numeric : list of str, callable or None, default=None
        Numeric columns, or a selector; ``None`` selects numeric dtypes.
    categorical : list of str, callable or None, default=None
        Categorical columns, or a selector; ``None`` selects object, string and category
        dtypes.
    scale : bool, default=True
        Standardize the numeric columns (neural networks train badly on raw scales).
    numeric_strategy : str, default='median'
        ``SimpleImputer`` strategy for numbers.
    categorical_strategy : str, default='most_frequent'
        ``SimpleImputer`` strategy for categories.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Steps ``"preprocess"`` (a ``ColumnTransformer``) and ``"estimator"``; grid-search
        the estimator with ``estimator__<param>`` names. ``set_output(transform="pandas")``
        works.

    Examples
    --------
    >>> import pandas as pd
    >>> from keraskit import MLPClassifier
    >>> from keraskit.pipelines import make_tabular_pipeline
    >>> df = pd.DataFrame({"age": [20, None, 40, 31], "city": ["a", "b", None, "a"]})
    >>> pipe = make_tabular_pipeline(MLPClassifier(max_iter=5, random_state=0))
    >>> pipe.fit(df, ["x", "y", "x", "y"]).predict(df).shape
    (4,)
    """
    numeric_steps = [
        ("to_float", FunctionTransformer(_as_float, feature_names_out="one-to-one")),
        ("impute", SimpleImputer(strategy=numeric_strategy)),
    ]
    if scale:
        numeric_steps.append(("scale", StandardScaler()))
    categorical_steps = [
        ("to_object", FunctionTransformer(_as_object, feature_names_out="one-to-one")),
        ("impute", SimpleImputer(strategy=categorical_strategy)),
        ("one_hot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
    ]
    columns = ColumnTransformer(
        [
            (
                "numeric",
                Pipeline(numeric_steps),
                numeric if numeric is not None else make_column_selector(dtype_include=_NUMERIC),
            ),
            (
                "categorical",
                Pipeline(categorical_steps),
                categorical
                if categorical is not None
                else make_column_selector(dtype_include=_CATEGORICAL),
            ),
        ],
        verbose_feature_names_out=False,
    )
    return Pipeline([("preprocess", columns), ("estimator", estimator)])
