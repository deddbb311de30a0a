"""Steps that hand images and signals held as 2-D rows to a CNN."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data


class ImageShaper(TransformerMixin, BaseEstimator):
    """Scale image (or signal) rows and, optionally, reshape them to images.

    Images often arrive flattened, one row per image, as a Pipeline passes them. This step
    scales the pixel values into [0, 1] (or by a given constant) and either keeps 2-D rows
    (``output='rows'``, the default: works with ``set_output(transform='pandas')``, and a
    CNN with ``input_shape=image_shape`` reshapes them) or returns ``(n, *image_shape)``
    arrays (``output='images'``) for a CNN without ``input_shape``.

    Parameters
    ----------
    image_shape : tuple of int
        Shape of one image, channels last, e.g. ``(8, 8, 1)``; its size must equal the
        number of features. One entry may be -1 (inferred, as in ``numpy.reshape``).
    scale : 'max', float or None, default='max'
        ``'max'`` divides by the largest absolute value seen in ``fit`` (16 for sklearn's
        digits, 255 for 8-bit images); a number divides by that number; ``None`` leaves
        values unchanged.
    output : {'rows', 'images'}, default='rows'
        2-D rows or images shaped ``(n, *image_shape)``.

    Attributes
    ----------
    scale_ : float
        The divisor applied.
    image_shape_ : tuple of int
        ``image_shape`` with any -1 resolved.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during fit, when ``X`` has string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from keraskit.pipelines import ImageShaper
    >>> X, _ = load_digits(return_X_y=True)
    >>> ImageShaper((8, 8, 1), output="images").fit_transform(X).shape
    (1797, 8, 8, 1)
    """

    _parameter_constraints: dict = {
        "image_shape": ["array-like"],
        "scale": [StrOptions({"max"}), Interval(Real, 0, None, closed="neither"), None],
        "output": [StrOptions({"rows", "images"})],
    }

    def __init__(self, image_shape, scale="max", output="rows"):
        self.image_shape = image_shape
        self.scale = scale
        self.output = output

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the scale and check the image shape against the number of features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Image rows.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted step.
        """
        X = validate_data(self, X, dtype=(np.float64, np.float32))
        self.image_shape_ = self._resolve_shape(X.shape[1])
        if self.scale == "max":
            peak = float(np.abs(X).max()) if X.size else 0.0
            self.scale_ = peak if peak > 0 else 1.0
        else:
            self.scale_ = 1.0 if self.scale is None else float(self.scale)
        return self

    def _resolve_shape(self, n_features):
        shape = tuple(int(v) for v in self.image_shape)
        if shape.count(-1) > 1 or any(v == 0 or v < -1 for v in shape):
            raise ValueError(
                f"image_shape must hold positive sizes and at most one -1, got {shape}."
            )
        known = int(np.prod([v for v in shape if v != -1]))
        if -1 not in shape:
            if known != n_features:
                raise ValueError(f"image_shape={shape} needs {known} features; X has {n_features}.")
            return shape
        if n_features % known:
            raise ValueError(
                f"image_shape={shape} needs a multiple of {known} features; X has {n_features}."
            )
        return tuple(n_features // known if v == -1 else v for v in shape)

    def transform(self, X):
        """Scale (and reshape, with ``output='images'``) image rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Image rows.

        Returns
        -------
        X_out : ndarray of shape (n_samples, n_features) or (n_samples, *image_shape)
            Scaled rows or images.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32)) / self.scale_
        if self.output == "images":
            return X.reshape((len(X),) + self.image_shape_)
        return X

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: ``pixel_<i>_<j>_<c>`` (or the input's).

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names; used as they are when given.

        Returns
        -------
        names : ndarray of str
            One name per output column.
        """
        check_is_fitted(self)
        if input_features is not None:
            return np.asarray(input_features, dtype=object)
        if hasattr(self, "feature_names_in_"):
            return self.feature_names_in_.copy()
        shape = self.image_shape_
        index = np.indices(shape).reshape(len(shape), -1).T
        return np.asarray(["pixel_" + "_".join(map(str, ij)) for ij in index], dtype=object)
