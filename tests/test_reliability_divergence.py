"""A NaN or infinite loss stops training with a warning naming the learning rate."""

import warnings

import numpy as np
import pytest
from _estimators import cases, fit
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_huge_learning_rate_diverges_safely(case):
    _, est, X, y = case
    est = clone(est).set_params(solver="sgd", learning_rate_init=1e6, max_iter=30)
    X = (X * 1e3).astype(np.float32)
    y = None if y is None else (y * 1e3 if "Regressor" in type(est).__name__ else y)
    with pytest.warns(ConvergenceWarning, match="diverged.*learning_rate_init"):
        fit(est, X, y)
    assert est.n_iter_ < 30
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no silent NaN: outputs are finite
        method = "transform" if y is None else "predict"
        assert np.isfinite(np.asarray(getattr(est, method)(X), dtype=float)).all()


def test_divergence_with_keras_callbacks_keeps_a_finite_optimizer_state():
    from keras.callbacks import Callback
    from sklearn.datasets import load_digits

    from keraskit import MLPClassifier

    class Explode(Callback):
        """Sets an absurd learning rate after the second epoch: the third diverges."""

        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.optimizer.learning_rate.assign(1e30)

    X, y = load_digits(return_X_y=True)
    est = MLPClassifier((8,), solver="sgd", max_iter=10, random_state=0, callbacks=[Explode()])
    with pytest.warns(ConvergenceWarning, match="diverged at iteration 3"):
        est.fit(X / 16.0, y)
    state = est._progress.optimizer_state  # what a later partial_fit continues from
    assert all(np.isfinite(a).all() for a in state)
    assert np.isfinite(est.predict_proba(X / 16.0)).all()
