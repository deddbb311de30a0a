"""Data augmentation as Keras layers: active only in training, seeded, saved with the model.

Every layer here is a stock Keras layer except ``RandomAmplitude`` (registered under the
``keraskit`` package so that ``safe_mode`` loading accepts it). Seeds come from the
estimator's ``random_state`` through the layers' seed-generator state, set at each fit.
"""

from __future__ import annotations

from .._tensorflow import keras

ops = keras.ops


_FLIP_MODES = {
    "horizontal": "horizontal",
    "vertical": "vertical",
    "both": "horizontal_and_vertical",
}


@keras.saving.register_keras_serializable(package="keraskit")
class RandomAmplitude(keras.layers.Layer):
    """Multiply each training sample by a random factor in ``[1 - factor, 1 + factor]``.

    Parameters
    ----------
    factor : float
        Half-width of the uniform scaling range.
    seed : int, default=None
        Initial seed of the layer's seed generator.
    **kwargs : dict
        Keras ``Layer`` arguments (``name``, ``dtype``).
    """

    def __init__(self, factor, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = float(factor)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        """Scale ``inputs`` in training, pass them through otherwise."""
        if not training:
            return inputs
        shape = (ops.shape(inputs)[0],) + (1,) * (len(inputs.shape) - 1)
        scale = keras.random.uniform(
            shape,
            1.0 - self.factor,
            1.0 + self.factor,
            seed=self.seed_generator,
            dtype=inputs.dtype,
        )
        return inputs * scale

    def compute_output_shape(self, input_shape):
        """Same shape as the input."""
        return input_shape

    def get_config(self):
        """Serializable configuration."""
        return {**super().get_config(), "factor": self.factor, "seed": self.seed}


def _shift_signal(x, fraction, dtype, seed):
    """Random circular-free shift along the time axis (zero fill) of ``(batch, L, C)``."""
    length, channels = x.shape[1], x.shape[2]
    h = keras.layers.Reshape((length, 1, channels), dtype=dtype)(x)
    h = keras.layers.RandomTranslation(
        (-fraction, fraction),
        (0.0, 0.0),
        fill_mode="constant",
        seed=seed,
        dtype=dtype,
        name="shift",
    )(h)
    return keras.layers.Reshape((length, channels), dtype=dtype)(h)


def apply(x, augmentation, rank, dtype):
    """Add the augmentation layers named in ``augmentation`` after input ``x``.

    Parameters
    ----------
    x : KerasTensor
        The model input, ``(batch, L, C)`` (rank 1) or ``(batch, H, W, C)`` (rank 2).
    augmentation : tuple of (str, object)
        ``(name, value)`` pairs with non-default values, e.g. ``(("flip", "horizontal"),)``.
    rank : int
        1 for signals, 2 for images.
    dtype : str
        Layer dtype.

    Returns
    -------
    h : KerasTensor
        The augmented tensor (identity at inference).
    """
    L = keras.layers
    for seed, (name, value) in enumerate(augmentation):
        common = dict(seed=seed, dtype=dtype, name=name)
        if name == "flip":
            x = L.RandomFlip(_FLIP_MODES[value], **common)(x)
        elif name == "rotation":
            x = L.RandomRotation(value / 360.0, fill_mode="constant", **common)(x)
        elif name == "translation":
            x = L.RandomTranslation(value, value, fill_mode="constant", **common)(x)
        elif name == "zoom":
            x = L.RandomZoom(value, value, fill_mode="constant", **common)(x)
        elif name == "contrast":
            x = L.RandomContrast(value, **common)(x)
        elif name == "shift":
            x = _shift_signal(x, value, dtype, seed)
        elif name == "scale":
            x = RandomAmplitude(value, **common)(x)
        elif name == "noise_std":
            x = L.GaussianNoise(value, seed=seed, dtype=dtype, name="noise")(x)
        else:  # pragma: no cover - the estimator validates names first
            raise ValueError(f"unknown augmentation {name!r}")
    return x
