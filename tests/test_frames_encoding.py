"""The tabular estimators' frame encoding and the pack's blend (no network trained)."""

import numpy as np
import pandas as pd
import pytest

from keraskit._frames import encode, learn_encoding, plain_columns
from keraskit._frames.encoding import CLIP, NA_TOKEN, category_strings


def test_numbers_are_robustly_scaled_smoothly_clipped_and_binned():
    x = np.arange(101, dtype=float)  # median 50, interquartile range 50
    frame = pd.DataFrame({"x": x})
    enc = learn_encoding(frame, n_bins=4)
    out = encode(enc, pd.DataFrame({"x": [50.0, 100.0, 1e9, 37.5]}), dtype=np.float64)
    z = np.array([0.0, 1.0, (1e9 - 50) / 50, -0.25])
    np.testing.assert_allclose(out[:, 0], z / np.sqrt(1 + (z / CLIP) ** 2))
    assert out[2, 0] < CLIP  # an outlier is bounded, not cut off
    huge = encode(enc, pd.DataFrame({"x": [-1e300, 1e300]}), dtype=np.float64)[:, 0]
    np.testing.assert_allclose(huge, [-CLIP, CLIP])  # no overflow to the median
    np.testing.assert_allclose(enc.edges[0], [0, 25, 50, 75, 100])
    # piecewise linear: 1 above a bin, 0 below it, linear inside
    np.testing.assert_allclose(out[3, 1:], [1.0, 0.5, 0.0, 0.0])
    np.testing.assert_allclose(out[1, 1:], [1.0, 1.0, 1.0, 1.0])


def test_missing_numbers_take_the_median_and_an_indicator():
    frame = pd.DataFrame({
        "a": pd.array([1, 2, None, 4, 5], dtype="Int64"),
        "b": [1.0, 2.0, 3.0, 4.0, 5.0],
    })  # fmt: skip
    enc = learn_encoding(frame, n_bins=0)
    out = encode(enc, frame, dtype=np.float64)
    assert list(enc.indicators) == [True, False]
    assert out.shape == (5, 3)  # a, b, then a's missing indicator
    np.testing.assert_array_equal(out[:, 2], [0, 0, 1, 0, 0])
    assert out[2, 0] == 0.0  # the median, scaled


def test_categories_one_hot_with_missing_as_a_category_and_rare_or_unseen_as_zeros():
    frame = pd.DataFrame({"c": pd.array(["a", "a", "b", "b", None, None, "rare"], "string")})
    enc = learn_encoding(frame, n_bins=0)
    assert enc.categories == [sorted([NA_TOKEN, "a", "b"])]
    out = encode(enc, pd.DataFrame({"c": ["a", None, "rare", "never seen"]}), np.float64)
    expected = np.zeros((4, 3))
    expected[0, enc.categories[0].index("a")] = 1
    expected[1, enc.categories[0].index(NA_TOKEN)] = 1
    np.testing.assert_array_equal(out, expected)


def test_every_kind_of_missing_value_is_one_category():
    values = pd.Series(["x", None, np.nan, pd.NA], dtype=object)
    assert list(category_strings(values)) == ["x", NA_TOKEN, NA_TOKEN, NA_TOKEN]


def test_plain_columns_drop_only_the_bins():
    frame = pd.DataFrame({
        "c": ["u", "v"] * 10,
        "x": np.arange(20.0),
        "k": pd.Categorical(["p", "q"] * 10),
    })  # fmt: skip
    enc = learn_encoding(frame, n_bins=4)
    full = encode(enc, frame, np.float64)
    plain = plain_columns(enc)
    assert full.shape[1] == enc.n_features_out == 2 + 1 + 4 + 2
    np.testing.assert_array_equal(plain, [0, 5, 6, 7, 8])  # x, then the one-hot columns
    without_bins = encode(learn_encoding(frame, n_bins=0), frame, np.float64)
    np.testing.assert_array_equal(full[:, plain], without_bins)


def test_dates_are_refused_by_name():
    with pytest.raises(TypeError, match="'when'"):
        learn_encoding(pd.DataFrame({"when": pd.to_datetime(["2024-01-01"])}))


def test_the_greedy_blend_keeps_the_members_that_lower_the_loss():
    from keraskit._engine.packs import greedy_blend

    y = np.array([[0.0], [1.0], [2.0]])
    good, bad = y + 0.1, y + 5.0
    weights = greedy_blend(np.stack([bad, good, -good + 2 * y]), lambda o: np.mean((o - y) ** 2))
    assert weights[0] == 0 and np.isclose(weights.sum(), 1)
    assert weights[1] > 0 and weights[2] > 0  # errors of opposite signs cancel


def test_a_few_rows_encode_as_many_rows_do():
    frame = pd.DataFrame({
        "n": pd.array([1, None, 3, 4] * 30, dtype="Int64"),
        "f": [0.5, np.nan, 2.5, 1.0] * 30,
        "b": pd.array([True, None, False, True] * 30, dtype="boolean"),
        "s": pd.array(["a", None, "b", "c"] * 30, dtype="string"),
        "k": pd.Categorical(["x", "y", None, "x"] * 30),
    })  # fmt: skip
    enc = learn_encoding(frame, n_bins=4)
    many = encode(enc, frame)
    few = np.vstack([encode(enc, frame.iloc[i : i + 3]) for i in range(0, 120, 3)])
    np.testing.assert_array_equal(few, many)
