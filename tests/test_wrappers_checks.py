"""scikit-learn's estimator checks over KerasClassifier and KerasRegressor, no expected failures."""

import keras
from sklearn.utils.estimator_checks import parametrize_with_checks

from keraskit import KerasClassifier, KerasRegressor


def simple_model(meta, hidden=16):
    """One hidden layer sized from ``meta``; float64 so that repeated rows and integer
    sample weights give the same fit to the checks' 1e-7 tolerance."""
    n_out = meta.get("n_classes_") if "classes_" in meta else meta["n_outputs_"]
    if "classes_" in meta and meta["target_type_"] != "multilabel-indicator":
        activation = "softmax"
    else:
        activation = "sigmoid" if "classes_" in meta else None
    return keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:], dtype="float64"),
            keras.layers.Flatten(dtype="float64"),
            keras.layers.Dense(hidden, activation="relu", dtype="float64"),
            keras.layers.Dense(n_out, activation=activation, dtype="float64"),
        ]
    )


COMMON = dict(epochs=10, batch_size=256, verbose=0, optimizer="adam", optimizer__learning_rate=0.05)


@parametrize_with_checks(
    [KerasClassifier(simple_model, **COMMON), KerasRegressor(simple_model, **COMMON)]
)
def test_sklearn_compatible_wrapper(estimator, check):
    check(estimator)
