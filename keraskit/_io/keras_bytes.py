"""Keras models to bytes and back, through the public ``.keras`` format only."""

from __future__ import annotations

import os
import tempfile

from .._config import before_tensorflow


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
    before_tensorflow()
    # Keras is imported on the first save or load: this module is imported with keraskit,
    # which must not start TensorFlow's 4-7 s import
    from .._tensorflow import keras

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        keras.saving.save_model(model, path)
        with open(path, "rb") as f:
            return f.read()


def model_weights(model):
    """A Keras model's ``(trainable, non_trainable)`` weights as numpy arrays.

    Parameters
    ----------
    model : keras.Model
        The model.

    Returns
    -------
    weights : tuple of (list of ndarray, list of ndarray)
    """
    return (
        [v.numpy() for v in model.trainable_variables],
        [v.numpy() for v in model.non_trainable_variables],
    )


def model_from_bytes(data, compile=False):
    """Load a model saved by :func:`model_to_bytes`, refusing unsafe content.

    Parameters
    ----------
    data : bytes
        A ``.keras`` archive.
    compile : bool, default=False
        Restore the compiled state too (optimizer, loss, metrics).

    Returns
    -------
    model : keras.Model
        Loaded with ``safe_mode=True`` (no Lambda layers or arbitrary code).
    """
    before_tensorflow()
    # as in model_to_bytes: Keras (and keraskit's own layers, which registering makes
    # loadable in safe mode) are imported on first use, not with keraskit
    from .._networks import augment  # noqa: F401
    from .._tensorflow import keras

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        with open(path, "wb") as f:
            f.write(data)
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
