"""KerasRegressor: a scikit-learn regressor around a Keras model you build."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.multiclass import type_of_target

from ..._io.registry import register_estimator
from ._base import BaseWrapper
from ._models import r_squared


@register_estimator
class KerasRegressor(RegressorMixin, BaseWrapper):
    """scikit-learn regressor around a Keras model you build (scikeras-compatible).

    Parameters
    ----------
    model : callable or keras.Model, default=None
        A function returning a Keras model (compiled or not), called at each fit with the
        arguments its signature names: routed ``model__<name>`` or bare keyword arguments,
        ``meta`` (``n_features_in_``, ``X_shape_``, ``n_outputs_``, ``target_type_``...),
        ``compile_kwargs``, ``params``. Or a Keras model, cloned (with its weights) at each
        fit and never trained in place.
    warm_start : bool, default=False
        Keep training the fitted model on the next ``fit`` instead of building a new one.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and shuffling, without lasting global effects.
    optimizer : str, keras.optimizers.Optimizer or class, default="rmsprop"
        Used when the model comes uncompiled; ``optimizer__<name>`` arguments configure it.
    loss : str, keras.losses.Loss, class, callable or None, default=None
        ``None`` means ``"mse"``; ``loss__<name>`` arguments configure it.
    metrics : list or None, default=None
        Keras metrics, e.g. ``[KerasRegressor.r_squared]``.
    batch_size : int or None, default=None
        Rows per gradient step (Keras' default, 32, when ``None``).
    validation_batch_size : int or None, default=None
        Rows per validation step.
    verbose : int, default=1
        Keras' verbosity during ``fit``.
    callbacks : list of keras.callbacks.Callback (instances or classes) or None, default=None
        Callbacks for ``fit``; instances are copied at each fit.
    validation_split : float, default=0.0
        Fraction of the (last) training rows held out for validation (as in Keras).
    shuffle : bool, default=True
        Shuffle the training rows at each epoch.
    run_eagerly : bool, default=False
        Run Keras' training step eagerly (debugging).
    epochs : int, default=1
        Epochs per ``fit``.
    distribution : {"mirrored"} or None, default=None
        ``"mirrored"`` builds, compiles and trains the model under
        ``tf.distribute.MirroredStrategy`` over all local GPUs (logical CPU devices on a
        machine without GPUs); ``batch_size`` is then the global batch, split over them.
    **kwargs : dict
        Routed parameters and the model function's own arguments (see
        :class:`KerasClassifier`).

    Attributes
    ----------
    model_ : keras.Model
        The fitted model.
    history_ : dict of str to list of float
        Keras' history across fits.
    n_features_in_ : int
        Size of the second dimension of ``X``.
    X_shape_ : tuple
        Shape of the ``X`` seen by ``fit``.
    n_outputs_ : int
        Number of target columns.

    See Also
    --------
    KerasClassifier : The classifier.
    MLPRegressor : A ready-made network with scikit-learn's parameters.
    """

    r_squared = staticmethod(r_squared)

    def _prepare_y(self, y, X, reset, classes=None):
        if y.dtype.kind not in "fiub":
            raise ValueError(
                f"Unknown label type: regression targets must be numeric, got {y.dtype}."
            )
        y = y.astype(np.float64)
        if not np.isfinite(y).all():
            raise ValueError("Input y contains NaN or infinity.")
        if y.ndim > 2:
            raise ValueError(f"y must be 1-D or 2-D, got {y.ndim} dimensions.")
        if reset:
            self.target_type_ = type_of_target(y)
            self.y_dtype_ = y.dtype
            self.y_ndim_ = y.ndim
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
            self.n_outputs_expected_ = 1
        elif (1 if y.ndim == 1 else y.shape[1]) != self.n_outputs_:
            raise ValueError(
                f"Detected ``y`` to have {1 if y.ndim == 1 else y.shape[1]} outputs, but the "
                f"regressor was fitted with {self.n_outputs_}."
            )
        return y.reshape(len(y), -1)

    def _loss_or_default(self, width=None):
        return "mse" if self.loss is None else self.loss

    def _expected_width(self):
        return {self.n_outputs_}

    def _encode_for_loss(self, y):
        return y

    def predict(self, X, **kwargs):
        """Predict targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Input data.
        **kwargs : dict
            Extra arguments for ``keras.Model.predict``.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions.
        """
        # regressors predict float64, as scikit-learn's do, whatever the model computes in
        out = self._outputs(X, **kwargs).astype(np.float64, copy=False)
        out = out.reshape(out.shape[0], -1)
        # without a y seen (initialize(X)), one output column comes back 1-D
        one_d = getattr(self, "y_ndim_", 1) == 1 and out.shape[1] == 1
        return out[:, 0] if one_d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return self._declares_poor_score(tags)
