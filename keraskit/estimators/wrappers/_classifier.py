"""KerasClassifier: a scikit-learn classifier around a Keras model you build."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import type_of_target

from ..._io.registry import register_estimator
from .._labels import (
    SUPPORTED,
    as_labels,
    check_kind,
    codes,
    decode,
    indicators,
    is_multilabel,
    learn,
    one_hot,
)
from ._base import BaseWrapper, _one_epoch_only
from ._models import known_outputs


@register_estimator
class KerasClassifier(ClassifierMixin, BaseWrapper):
    """scikit-learn classifier around a Keras model you build (scikeras-compatible).

    Parameters
    ----------
    model : callable or keras.Model, default=None
        A function returning a Keras model (compiled or not), called at each fit with the
        arguments its signature names: routed ``model__<name>`` or bare keyword arguments,
        ``meta`` (``n_features_in_``, ``X_shape_``, ``n_classes_``, ``classes_``,
        ``target_type_``, ``n_outputs_``...), ``compile_kwargs``, ``params``. Or a Keras
        model, cloned (with its weights) at each fit and never trained in place.
    warm_start : bool, default=False
        Keep training the fitted model on the next ``fit`` instead of building a new one.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and shuffling. The global generators it needs
        are restored after each call, and op determinism is never switched on.
    optimizer : str, keras.optimizers.Optimizer or class, default="rmsprop"
        Used when the model comes uncompiled; ``optimizer__<name>`` arguments configure it.
    loss : str, keras.losses.Loss, class, callable or None, default=None
        ``None`` picks ``"binary_crossentropy"`` for one sigmoid output unit (or multilabel
        targets) and ``"sparse_categorical_crossentropy"`` otherwise. ``loss__<name>``
        arguments configure it. ``"categorical_crossentropy"`` gets one-hot targets.
    metrics : list or None, default=None
        Keras metrics (``metrics__<name>`` arguments configure them).
    batch_size : int or None, default=None
        Rows per gradient step (Keras' default, 32, when ``None``).
    validation_batch_size : int or None, default=None
        Rows per validation step.
    verbose : int, default=1
        Keras' verbosity during ``fit``.
    callbacks : list of keras.callbacks.Callback (instances or classes) or None, default=None
        Callbacks for ``fit``; instances are copied at each fit, classes are instantiated
        with ``callbacks__<name>`` arguments.
    validation_split : float, default=0.0
        Fraction of the (last) training rows held out for validation (as in Keras).
    shuffle : bool, default=True
        Shuffle the training rows at each epoch.
    run_eagerly : bool, default=False
        Run Keras' training step eagerly (debugging).
    epochs : int, default=1
        Epochs per ``fit``.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into the sample weights.
    distribution : {"mirrored"} or None, default=None
        ``"mirrored"`` builds, compiles and trains the model under
        ``tf.distribute.MirroredStrategy`` over all local GPUs (logical CPU devices on a
        machine without GPUs); ``batch_size`` is then the global batch, split over them.
    **kwargs : dict
        Routed parameters (``model__``, ``fit__``, ``predict__``, ``compile__``,
        ``optimizer__``, ``loss__``, ``metrics__``, ``callbacks__``) and the model function's
        own arguments. All are visible to ``get_params``/``set_params``.

    Attributes
    ----------
    model_ : keras.Model
        The fitted model.
    history_ : dict of str to list of float
        Keras' history across fits (``history_["val_loss"]``...).
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_classes_ : int
        Number of classes.
    n_features_in_ : int
        Size of the second dimension of ``X``.
    X_shape_ : tuple
        Shape of the ``X`` seen by ``fit``.
    target_type_ : str
        ``type_of_target`` of ``y``.
    n_outputs_ : int
        Number of target columns (1 for single-label classification).

    See Also
    --------
    KerasRegressor : The regressor.
    MLPClassifier : A ready-made network with scikit-learn's parameters.

    Examples
    --------
    >>> import keras
    >>> from keraskit import KerasClassifier
    >>> def build(meta, hidden=16):
    ...     return keras.Sequential([
    ...         keras.Input((meta["n_features_in_"],)),
    ...         keras.layers.Dense(hidden, activation="relu"),
    ...         keras.layers.Dense(meta["n_classes_"], activation="softmax"),
    ...     ])
    >>> clf = KerasClassifier(build, hidden=8, epochs=5, verbose=0)  # doctest: +SKIP
    """

    def __init__(
        self,
        model=None,
        *,
        warm_start=False,
        random_state=None,
        optimizer="rmsprop",
        loss=None,
        metrics=None,
        batch_size=None,
        validation_batch_size=None,
        verbose=1,
        callbacks=None,
        validation_split=0.0,
        shuffle=True,
        run_eagerly=False,
        epochs=1,
        class_weight=None,
        distribution=None,
        **kwargs,
    ):
        super().__init__(
            model,
            warm_start=warm_start,
            random_state=random_state,
            optimizer=optimizer,
            loss=loss,
            metrics=metrics,
            batch_size=batch_size,
            validation_batch_size=validation_batch_size,
            verbose=verbose,
            callbacks=callbacks,
            validation_split=validation_split,
            shuffle=shuffle,
            run_eagerly=run_eagerly,
            epochs=epochs,
            distribution=distribution,
            **kwargs,
        )
        self.class_weight = class_weight

    def _prepare_y(self, y, X, reset, classes=None):
        y = as_labels(y)
        target_type = type_of_target(y)
        if target_type not in SUPPORTED:
            raise ValueError(
                f"{type(self).__name__} supports binary, multiclass and multilabel targets, "
                f"got {target_type}."
            )
        if reset:
            self._learn_classes(y, classes)
        check_kind(self.target_type_, y)
        if is_multilabel(target_type):
            return indicators(self.classes_, self.target_type_, y).astype(np.float32)
        return codes(self.classes_, y, self._unknown_message)

    def _learn_classes(self, y, classes):
        """``classes_`` and the ``meta`` of a first fit (one class is allowed, as in
        scikeras and sklearn's MLP: it is always predicted, with probability one)."""
        binarizer = learn(y, classes)
        self.classes_, self.target_type_ = binarizer.classes_, binarizer.y_type_
        given = y if classes is None else np.asarray(classes)
        if given.dtype == object and not is_multilabel(self.target_type_):
            self.classes_ = self.classes_.astype(object)  # as scikeras keeps them
        self.y_dtype_, self.y_ndim_ = y.dtype, y.ndim
        self.n_classes_ = len(self.classes_)
        self.n_outputs_ = self.n_classes_ if is_multilabel(self.target_type_) else 1
        self.n_outputs_expected_ = 1

    def _unknown_message(self, missing):
        return (
            f"Found unknown categories {missing} in y: the classes of the first "
            f"fit (classes_) are {self.classes_.tolist()}."
        )

    def _loss_or_default(self, width=None):
        if self.loss is not None:
            return self.loss
        if getattr(self, "target_type_", None) == "multilabel-indicator" or width == 1:
            return "binary_crossentropy"
        return "sparse_categorical_crossentropy"

    def _expected_width(self):
        if self.target_type_ == "multilabel-indicator":
            return {self.n_classes_}
        return {1, self.n_classes_} if self.n_classes_ == 2 else {self.n_classes_}

    def _loss_name(self):
        loss = self.model_.loss
        name = loss if isinstance(loss, str) else getattr(loss, "name", None)
        name = name or getattr(loss, "__name__", "")
        return str(name).lower()

    def _encode_for_loss(self, codes):
        if self.target_type_ == "multilabel-indicator":
            return codes
        name = self._loss_name()
        outputs = known_outputs(self.model_)
        width = outputs[0].shape[-1] if len(outputs) == 1 else None
        if "categorical" in name and "sparse" not in name:
            return one_hot(codes, self.n_classes_)
        if width == 1:
            return codes.astype(np.float32)[:, None]
        return codes

    def partial_fit(self, X, y, classes=None, sample_weight=None, **kwargs):
        """Train one epoch, continuing from the current model if there is one.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Targets.
        classes : array-like of shape (n_classes,), default=None
            Every class that will ever appear (first call only); by default the classes
            of this ``y``.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        **kwargs : dict
            Extra arguments for ``keras.Model.fit``.

        Returns
        -------
        self : object
            The updated estimator.
        """
        _one_epoch_only(kwargs)
        return self._fit(X, y, sample_weight, True, 1, kwargs, classes=classes, incremental=True)

    def predict_proba(self, X, **kwargs):
        """Probability of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Input data.
        **kwargs : dict
            Extra arguments for ``keras.Model.predict`` (as with ``predict__``).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            ``(n, 2)`` also for a model ending in one sigmoid unit.
        """
        out = self._outputs(X, **kwargs)
        out = out.reshape(out.shape[0], -1)
        if self.n_classes_ == 1 and self.target_type_ != "multilabel-indicator":
            return np.ones((out.shape[0], 1), dtype=out.dtype)  # the one class seen
        if out.shape[1] == 1 and self.target_type_ != "multilabel-indicator":
            p = out[:, 0]
            return np.column_stack([1 - p, p])
        return out

    def predict(self, X, **kwargs):
        """Predict class labels (indicator rows for multilabel targets).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Input data.
        **kwargs : dict
            Extra arguments for ``keras.Model.predict``.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels.
        """
        proba = self.predict_proba(X, **kwargs)  # first: it checks that the model is fitted
        return decode(self.classes_, self.target_type_, proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # multilabel targets are indicator rows: any loss but a sparse categorical
        # cross-entropy (one class index per sample) takes them
        loss = self.loss if isinstance(self.loss, str) else getattr(self.loss, "__name__", "")
        tags.classifier_tags.multi_label = "sparse_categorical" not in str(loss).lower()
        return self._declares_poor_score(tags)
