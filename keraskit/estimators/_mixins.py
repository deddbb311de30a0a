"""The classifier and regressor halves shared by every keraskit estimator."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target

from ._base import BaseKerasEstimator
from ._heads import ClassifierHead, RegressorHead
from ._labels import learn


class KerasClassifierMixin(ClassifierMixin):
    """Classification API: labels, probabilities, class weights, ``partial_fit``."""

    _head = ClassifierHead

    def _fit_sample_weight(self, sample_weight, X, y):
        sw = super()._fit_sample_weight(sample_weight, X, y)
        if self.class_weight is not None:
            sw *= compute_sample_weight(self.class_weight, np.asarray(y).reshape(len(y), -1)[:, 0])
        return sw

    @available_if(BaseKerasEstimator._check_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Target labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array of shape (n_classes,), default=None
            Every class that will ever appear; required on the first call, ignored later
            unless it differs (an error).

        Returns
        -------
        self : object
            The updated estimator.
        """

        def define_classes():
            if _check_partial_fit_first_call(self, classes):
                if len(self.classes_) < 2 and not type_of_target(y).startswith("multilabel"):
                    raise ValueError(f"classes must hold at least 2 classes, got {self.classes_}.")
                self._label_binarizer = learn(y, self.classes_)

        return self._fit(X, y, sample_weight, incremental=True, prepare=define_classes)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted classes.
        """
        return ClassifierHead.labels(self, self._forward(X))

    def predict_proba(self, X):
        """Probability of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, columns in the order of ``classes_``.
        """
        return ClassifierHead.proba(self._forward(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def predict_log_proba(self, X):
        """Logarithm of the probability of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class KerasRegressorMixin(RegressorMixin):
    """Regression API: predictions, several outputs, ``partial_fit``."""

    _head = RegressorHead

    @available_if(BaseKerasEstimator._check_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict target values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions, 1-D when the network has one output.
        """
        out = self._forward(X)
        return out.ravel() if out.shape[1] == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
