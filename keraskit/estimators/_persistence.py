"""Keras models to bytes and back, through the public ``.keras`` format only."""

from __future__ import annotations

import os
import tempfile

#: Bumped when the pickled state of an estimator changes incompatibly.
FORMAT_VERSION = 1


def model_to_bytes(model):
    """Serialize a Keras model to the bytes of a ``.keras`` archive.

    Parameters
    ----------
    model : keras.Model
        The model to save.

    Returns
    -------
    data : bytes
    """
    import keras

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        keras.saving.save_model(model, path)
        with open(path, "rb") as f:
            return f.read()


def model_from_bytes(data):
    """Load a model saved by :func:`model_to_bytes`, refusing unsafe content.

    Parameters
    ----------
    data : bytes
        A ``.keras`` archive.

    Returns
    -------
    model : keras.Model
        Loaded with ``safe_mode=True`` (no Lambda layers or arbitrary code).
    """
    import keras

    from . import _augment  # noqa: F401  (registers keraskit's layers for safe loading)

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        with open(path, "wb") as f:
            f.write(data)
        return keras.saving.load_model(path, compile=False, safe_mode=True)
