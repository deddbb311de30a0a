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

    @property
    def n_features_out(self):
        """Width of the encoded matrix."""
        numeric = len(self.centers) + int(np.sum(self.indicators))
        bins = sum(max(len(e) - 1, 0) for e in self.edges)
        return numeric + bins + sum(len(c) for c in self.categories)


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
    keep, at, i_num, i_cat = [], 0, 0, 0
    for kind in encoding.kinds:
        if kind == "numeric":
            width = 1 + int(encoding.indicators[i_num])
            bins = max(len(encoding.edges[i_num]) - 1, 0)
            i_num += 1
        else:
            width, bins = len(encoding.categories[i_cat]), 0
            i_cat += 1
        keep.extend(range(at, at + width))
        at += width + bins
    return np.asarray(keep, dtype=np.intp)


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


def _columns(X):
    """The frame's columns one by one (an array's too)."""
    if isinstance(X, pd.DataFrame):
        return [X.iloc[:, i] for i in range(X.shape[1])]
    return [X[:, i] for i in range(X.shape[1])]


def numbers(column):
    """A numeric column as float64, every kind of missing value as NaN."""
    if isinstance(column, pd.Series):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(column, dtype=np.float64)


def category_strings(column):
    """A categorical column as strings, every kind of missing value as ``NA_TOKEN``."""
    values = np.asarray(column, dtype=object)
    missing = pd.isna(values)
    out = values.astype(str).astype(object)
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
    """The values seen at least ``min_frequency`` times, the most frequent first."""
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


def _numeric_blocks(v, center, scale, indicator, edges):
    """One numeric column's features: smoothly clipped scale, NA indicator, PLE bins."""
    missing = np.isnan(v)
    z = (np.where(missing, center, v) - center) / scale
    blocks = [(z / np.sqrt(1 + (z / CLIP) ** 2))[:, None]]
    if indicator:
        blocks.append(missing[:, None].astype(np.float64))
    if len(edges):
        lo, width = edges[:-1], np.diff(edges)
        filled = np.where(missing, center, v)
        blocks.append(np.clip((filled[:, None] - lo) / width, 0.0, 1.0))
    return blocks


def _one_hot(values, kept):
    """One-hot columns of the kept categories; anything else is all zeros."""
    codes = pd.Categorical(values, categories=kept).codes
    out = np.zeros((len(values), len(kept)))
    rows = np.flatnonzero(codes >= 0)
    out[rows, codes[rows]] = 1.0
    return out


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
    blocks, i_num, i_cat = [], 0, 0
    for kind, column in zip(encoding.kinds, _columns(X), strict=True):
        if kind == "numeric":
            blocks += _numeric_blocks(
                numbers(column),
                encoding.centers[i_num],
                encoding.scales[i_num],
                encoding.indicators[i_num],
                encoding.edges[i_num],
            )
            i_num += 1
        else:
            blocks.append(_one_hot(category_strings(column), encoding.categories[i_cat]))
            i_cat += 1
    n = X.shape[0]
    if not blocks:
        return np.zeros((n, 0), dtype=dtype)
    return np.hstack(blocks).astype(dtype, copy=False)
