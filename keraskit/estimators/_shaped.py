"""Input rules of the convolutional estimators: 2-D rows, 1-D signals and 2-D images."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import validate_data


def _is_image_batch(shape):
    """Whether a 3-D ``(n, a, b)`` array looks like single-channel images."""
    a, b = shape[1], shape[2]
    return min(a, b) >= 5 and max(a, b) <= 4 * min(a, b)


class ShapedInputMixin:
    """Input rules of the convolutional estimators: rows, signals and images.

    Needs an ``input_shape`` parameter; sets ``input_shape_`` when fitting.
    """

    def _sample_shape(self, X):
        """Per-sample, channels-last shape the network sees for ``X``."""
        if self.input_shape is not None:
            shape = tuple(int(v) for v in self.input_shape)
            shape = shape + (1,) if len(shape) == 1 else shape
            if int(np.prod(X.shape[1:])) != int(np.prod(shape)):
                raise ValueError(
                    f"input_shape={tuple(self.input_shape)} needs {int(np.prod(shape))} "
                    f"values per sample; X has {int(np.prod(X.shape[1:]))} "
                    f"(shape {X.shape})."
                )
            return shape
        if X.ndim == 2:
            return (X.shape[1], 1)
        if X.ndim == 3:
            return X.shape[1:] + (1,) if _is_image_batch(X.shape) else X.shape[1:]
        if X.ndim == 4:
            return X.shape[1:]
        raise ValueError(
            f"{type(self).__name__} takes X of 2 to 4 dimensions (rows, signals or images), "
            f"got {X.ndim} dimensions (shape {X.shape})."
        )

    def _validate_predict_data(self, X):
        """Validate ``X`` for inference and shape it as the network's samples."""
        self._check_fitted_shape(X)
        X = validate_data(self, X, reset=False, allow_nd=True, dtype=(np.float64, np.float32))
        return self._to_samples(X, fitting=False)

    def _check_fitted_shape(self, X):
        """Name the expected shape when ``X`` cannot be the kind of ``X`` seen in ``fit``.

        scikit-learn's own check would only count "features" along the second axis, which
        says little about images and signals.
        """
        fitted = getattr(self, "_fit_sample_shape", None)  # absent from 0.1.0 pickles
        shape = getattr(X, "shape", None)
        if fitted is None or shape is None or len(shape) < 2 or shape[1] == fitted[0]:
            return
        expected = ", ".join(map(str, fitted))
        raise ValueError(  # sklearn's sentence first, then the shapes
            f"X has {shape[1]} features, but {type(self).__name__} is expecting {fitted[0]} "
            f"features as input: X has shape {tuple(shape)}, and {type(self).__name__} was "
            f"fitted on X of shape (n_samples, {expected}) (samples of shape "
            f"{self.input_shape_} as the network sees them). Pass X of shape "
            f"(n_samples, {expected})."
        )

    def _to_samples(self, X, fitting):
        shape = tuple(int(v) for v in self._sample_shape(X))
        if fitting:
            self.input_shape_ = shape
            self._fit_sample_shape = tuple(X.shape[1:])
        elif shape != self.input_shape_:
            raise ValueError(
                f"X has samples of shape {shape} (from X of shape {X.shape}), but "
                f"{type(self).__name__} was fitted on samples of shape {self.input_shape_}."
            )
        return X.reshape((X.shape[0],) + shape)
