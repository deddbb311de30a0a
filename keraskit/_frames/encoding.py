"""A DataFrame's columns as one float matrix, learned from the training frame.

Numeric columns (NumPy numbers, the nullable ``Int*``/``Float*``/``boolean`` dtypes) are
centred on their median and divided by their interquartile range, then smoothly clipped
(``x / sqrt(1 + (x / 3) ** 2)``, RealMLP's way of taming outliers without cutting them
off); a missing value takes the median, and a column that had missing values in training
gains a 0/1 indicator. Each numeric column with enough distinct values also gets a
piecewise-linear encoding (PLE, Gorishniy et al. 2022, TabM's numeric embedding) over
quantile bins: one feature per bin, 0 below it, 1 above it, linear inside. The network's
first layer then learns a per-bin slope: any shape of effect (an hour of the day, an age),
which a plain scaled column gives an MLP only with effort.

Categorical columns (``object``, ``string``, ``category``) are one-hot encoded over their
frequent values, the missing value being a category of its own; rare and unseen values
encode as all zeros, so a surprise at predict time never fails. Everything is NumPy and
pandas: the encoding of one row takes microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: The category a missing value becomes.
NA_TOKEN = "<NA>"
#: ``x / sqrt(1 + (x / CLIP) ** 2)``: the smooth clipping of scaled numbers.
CLIP = 3.0


@dataclass
class FrameEncoding:
    """What the encoding learned from a training frame.

    The encoded matrix is laid out in blocks: the scaled numeric columns, their missing
    indicators, their piecewise-linear bins, then the one-hot categories.

    Parameters
    ----------
    kinds : list of str
        Per input column, ``'numeric'`` or ``'categorical'``.
    centers, scales : ndarray of shape (n_numeric,)
        Median and robust scale of each numeric column.
    indicators : ndarray of shape (n_numeric,) of bool
        Whether a numeric column had missing values in training (it gains an indicator).
    edges : list of ndarray
        Per numeric column, the piecewise-linear bins' edges (empty: no bins).
    categories : list of list of str
        Per categorical column, the values that get a one-hot column.
    """

    kinds: list
    centers: np.ndarray
    scales: np.ndarray
    indicators: np.ndarray
    edges: list
    categories: list

    def __post_init__(self):
        # every bin as a (numeric column, lower edge, width) triple: one vectorized step
        self.bin_columns = np.concatenate(
            [np.full(max(len(e) - 1, 0), i, dtype=np.intp) for i, e in enumerate(self.edges)]
            or [np.empty(0, np.intp)]
        )
        self.bin_lo = np.concatenate([e[:-1] for e in self.edges if len(e)] or [np.empty(0)])
        self.bin_width = np.concatenate([np.diff(e) for e in self.edges if len(e)] or [np.empty(0)])
        self.numeric = np.flatnonzero(np.asarray(self.kinds) == "numeric")
        self.categorical = np.flatnonzero(np.asarray(self.kinds) == "categorical")
        # each kept category's one-hot column, over all categorical columns
        self.offsets = np.cumsum([0] + [len(c) for c in self.categories])
        self.lookup = [
            {c: at + i for i, c in enumerate(kept)}
            for at, kept in zip(self.offsets, self.categories, strict=False)
        ]

    @property
    def n_features_out(self):
        """Width of the encoded matrix."""
        numeric = len(self.centers) + int(np.sum(self.indicators))
        return numeric + len(self.bin_columns) + sum(len(c) for c in self.categories)


def plain_columns(encoding):
    """Indexes of the encoded columns that are not piecewise-linear bins.

    Parameters
    ----------
    encoding : FrameEncoding
        A learned encoding.

    Returns
    -------
    columns : ndarray of int
        The scaled numbers, indicators and one-hot columns, in the encoded order.
    """
    head = len(encoding.centers) + int(np.sum(encoding.indicators))
    tail = head + len(encoding.bin_columns)
    return np.r_[np.arange(head), np.arange(tail, encoding.n_features_out)].astype(np.intp)


def column_kinds(X):
    """``'numeric'`` or ``'categorical'`` for each column of a DataFrame (or 2-D array).

    Raises
    ------
    TypeError
        For dtypes the encoding cannot read (dates, durations, intervals, complex).
    """
    if not isinstance(X, pd.DataFrame):
        return ["numeric"] * X.shape[1]
    kinds, refused = [], []
    for name, dtype in X.dtypes.items():
        if pd.api.types.is_bool_dtype(dtype) or (
            pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
        ):
            kinds.append("numeric")
        elif isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype):
            kinds.append("categorical")
        else:
            refused.append(f"{name!r} ({dtype})")
    if refused:
        raise TypeError(
            "Columns of numeric, boolean, string, object or category dtype are expected; "
            f"got {', '.join(refused)}. Convert dates and durations to numbers first."
        )
    return kinds


#: Up to this many rows, categories are looked up in a dict (pandas' vectorized lookup
#: costs a fixed ~50 microseconds, which a row's prediction cannot afford).
SMALL_ROWS = 64


def _columns(X):
    """The frame's columns as arrays (an array's columns too).

    pandas' own column access builds a Series per column (about 15 microseconds each,
    more than a row's whole encoding); ``DataFrame._get_column_array`` hands the stored
    array over (about 1 microsecond). The public path serves pandas versions without it.
    """
    if not isinstance(X, pd.DataFrame):
        return [X[:, i] for i in range(X.shape[1])]
    get = getattr(X, "_get_column_array", None)
    if get is None:  # pragma: no cover - a pandas without the private accessor
        return [X.iloc[:, i].array for i in range(X.shape[1])]
    return [get(i) for i in range(X.shape[1])]


def numbers(column):
    """A numeric column (array, extension array or Series) as float64, missing as NaN."""
    if isinstance(column, pd.Series):
        column = column.array
    if isinstance(column, np.ndarray):  # NumPy-backed: NaN is already NaN
        return column.astype(np.float64, copy=False)
    if isinstance(column, pd.api.extensions.ExtensionArray) and not isinstance(
        column, pd.arrays.NumpyExtensionArray
    ):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)  # nullable: NA -> NaN
    return np.asarray(column, dtype=np.float64)


def category_strings(column):
    """Categorical columns as strings, every kind of missing value as ``NA_TOKEN``.

    Parameters
    ----------
    column : array-like of shape (n_samples,) or (n_samples, n_columns)
        Values of one or several categorical columns.

    Returns
    -------
    strings : ndarray of object
        The same shape, each value as ``str``.
    """
    values = np.asarray(column, dtype=object)
    missing = pd.isna(values)
    out = values.astype(str).astype(object)
    if missing.any():
        out[missing] = NA_TOKEN
    return out


def _robust_scale(v):
    """Median and interquartile range of the non-missing values (fallbacks for flat columns)."""
    v = v[~np.isnan(v)]
    if v.size == 0:
        return 0.0, 1.0
    q25, q50, q75 = np.quantile(v, [0.25, 0.5, 0.75])
    scale = q75 - q25
    if scale <= 0:
        scale = (v.max() - v.min()) / 2
    return float(q50), float(scale) if scale > 0 else 1.0


def _bin_edges(v, n_bins):
    """Quantile edges of the non-missing values; none for fewer than 3 distinct edges."""
    v = v[~np.isnan(v)]
    if v.size == 0 or n_bins < 2:
        return np.empty(0)
    edges = np.unique(np.quantile(v, np.linspace(0, 1, n_bins + 1)))
    return edges if len(edges) >= 3 else np.empty(0)


def _frequent(values, max_categories, min_frequency):
    """The ``max_categories`` most frequent values seen at least ``min_frequency`` times,
    sorted."""
    counts = pd.Series(values).value_counts(sort=True)
    kept = counts[counts >= min_frequency].index[:max_categories]
    return sorted(str(k) for k in kept)


def learn_encoding(X, n_bins=16, max_categories=64, min_frequency=2):
    """Learn the encoding of a training frame.

    Parameters
    ----------
    X : pandas.DataFrame or ndarray of shape (n_samples, n_features)
        The training rows (an array is read as numbers).
    n_bins : int, default=16
        Most piecewise-linear bins per numeric column (0 or 1: none).
    max_categories : int, default=64
        Most one-hot columns per categorical column.
    min_frequency : int, default=2
        Fewest training rows a category needs to get a column of its own.

    Returns
    -------
    encoding : FrameEncoding
    """
    kinds = column_kinds(X)
    centers, scales, indicators, edges, categories = [], [], [], [], []
    for kind, column in zip(kinds, _columns(X), strict=True):
        if kind == "numeric":
            v = numbers(column)
            center, scale = _robust_scale(v)
            centers.append(center)
            scales.append(scale)
            indicators.append(bool(np.isnan(v).any()))
            edges.append(_bin_edges(v, n_bins))
        else:
            categories.append(_frequent(category_strings(column), max_categories, min_frequency))
    return FrameEncoding(
        kinds=kinds,
        centers=np.asarray(centers, dtype=np.float64),
        scales=np.asarray(scales, dtype=np.float64),
        indicators=np.asarray(indicators, dtype=bool),
        edges=edges,
        categories=categories,
    )


def _one_hot(encoding, strings):
    """One-hot columns of the kept categories of every categorical column; anything else
    (rare, unseen) is all zeros."""
    n = len(strings)
    out = np.zeros((n, encoding.offsets[-1]), dtype=np.float32)
    if n <= SMALL_ROWS:  # a dict per column (pandas' vectorized lookup costs ~50 us)
        for k, index in enumerate(encoding.lookup):
            for r, value in enumerate(strings[:, k]):
                j = index.get(value)
                if j is not None:
                    out[r, j] = 1.0
        return out
    for k, kept in enumerate(encoding.categories):
        codes = pd.Index(kept, dtype=object).get_indexer(strings[:, k])
        rows = np.flatnonzero(codes >= 0)
        out[rows, encoding.offsets[k] + codes[rows]] = 1.0
    return out


def _split_kinds(encoding, X):
    """The numeric columns as one float64 matrix (NaN for missing), and the categorical
    columns as one matrix of strings."""
    columns = _columns(X)
    n = X.shape[0]
    V = np.empty((n, len(encoding.numeric)))
    for k, j in enumerate(encoding.numeric):
        V[:, k] = numbers(columns[j])
    C = np.empty((n, len(encoding.categorical)), dtype=object)
    for k, j in enumerate(encoding.categorical):
        C[:, k] = np.asarray(columns[j], dtype=object)
    return V, category_strings(C)


def encode(encoding, X, dtype=np.float32):
    """Encode rows with a learned encoding.

    Parameters
    ----------
    encoding : FrameEncoding
        What :func:`learn_encoding` learned.
    X : pandas.DataFrame or ndarray of shape (n_samples, n_features)
        Rows with the training frame's columns, in its order.
    dtype : numpy dtype, default=float32
        The matrix's dtype.

    Returns
    -------
    features : ndarray of shape (n_samples, encoding.n_features_out)
    """
    V, categorical = _split_kinds(encoding, X)
    missing = np.isnan(V)
    filled = np.where(missing, encoding.centers, V)
    Z = (filled - encoding.centers) / encoding.scales
    # sqrt(1 + (z / CLIP) ** 2), without overflow for huge z
    blocks = [Z / np.hypot(1.0, Z / CLIP), missing[:, encoding.indicators]]
    if len(encoding.bin_columns):
        bins = filled[:, encoding.bin_columns].astype(dtype)
        bins -= encoding.bin_lo.astype(dtype)
        bins /= encoding.bin_width.astype(dtype)
        blocks.append(np.clip(bins, 0.0, 1.0, out=bins))
    blocks.append(_one_hot(encoding, categorical))
    return np.hstack([b.astype(dtype, copy=False) for b in blocks])
