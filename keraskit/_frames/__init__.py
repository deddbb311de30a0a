"""DataFrames to network inputs: the tabular estimators' encoding (NumPy and pandas only)."""

from .encoding import FrameEncoding, encode, learn_encoding, plain_columns

__all__ = ["FrameEncoding", "encode", "learn_encoding", "plain_columns"]
