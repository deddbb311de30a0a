"""Ctrl-C during fit: the estimator keeps the last completed epoch, warns once, returns."""

import warnings

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits

from keraskit import MLPClassifier


class InterruptAt(keras.callbacks.Callback):
    """Raise KeyboardInterrupt at the start of an epoch, recording the weights before."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


class Record(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.kernels = []

    def on_epoch_end(self, epoch, logs=None):
        self.kernels.append(self.model.get_layer("logits").kernel.numpy().copy())


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


def test_interrupt_keeps_the_last_completed_epoch(data):
    X, y = data
    record = Record()
    est = MLPClassifier((8,), max_iter=50, random_state=0, callbacks=[record, InterruptAt(3)])
    with pytest.warns(UserWarning, match="interrupted by user after 3 completed") as caught:
        est.fit(X, y)
    assert len([w for w in caught if "interrupted" in str(w.message)]) == 1
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3
    assert est.predict(X).shape == (300,)


def test_interrupt_under_early_stopping_keeps_the_best_epoch(data):
    X, y = data
    est = MLPClassifier(
        (8,), max_iter=50, early_stopping=True, random_state=0, callbacks=[InterruptAt(6)]
    )
    with pytest.warns(UserWarning, match="interrupted"):
        est.fit(X, y)
    assert est.n_iter_ == 6
    assert est.best_validation_score_ == max(est.validation_scores_)


def test_interrupt_in_lbfgs_keeps_an_accepted_iterate(data):
    X, y = data

    class InterruptAfter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 4:
                raise KeyboardInterrupt

    est = MLPClassifier(
        (8,), solver="lbfgs", max_iter=100, random_state=0, callbacks=[InterruptAfter()]
    )
    with pytest.warns(UserWarning, match="interrupted by user after 5 L-BFGS"):
        est.fit(X, y)
    assert est.n_iter_ == 5 and np.isfinite(est.loss_)


def test_interrupt_outside_the_epoch_loop_propagates(data):
    """Only the training loop absorbs Ctrl-C: one raised before training propagates."""
    X, y = data

    class InterruptOnBegin(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            raise KeyboardInterrupt

    est = MLPClassifier((8,), max_iter=5, callbacks=[InterruptOnBegin()])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(KeyboardInterrupt):
            est.fit(X, y)
    assert not hasattr(est, "n_iter_")  # the failed fit left nothing behind
