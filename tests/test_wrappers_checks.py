"""scikit-learn's estimator checks over KerasClassifier and KerasRegressor.

Every check runs on the wrappers around a plain float32 user model; the four whose 1e-7
tolerance float32 rounding cannot meet are expected failures there, and run again, passing,
around a float64 model.
"""

import keras
import pytest
from sklearn.utils.estimator_checks import estimator_checks_generator, parametrize_with_checks

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


COMMON = dict(epochs=2, batch_size=256, verbose=0, optimizer="adam", optimizer__learning_rate=0.05)


def plain_classifier(meta):
    """A user's model as a tutorial writes it: float32, softmax over the classes."""
    return keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Flatten(),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )


def plain_regressor(meta):
    """A user's regression model: float32, one linear unit per output."""
    return keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Flatten(),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(meta["n_outputs_"]),
        ]
    )


PLAIN_CLASSIFIER = KerasClassifier(
    plain_classifier, loss="sparse_categorical_crossentropy", epochs=2, verbose=0
)
PLAIN_REGRESSOR = KerasRegressor(plain_regressor, loss="mse", epochs=2, verbose=0)


#: float32 arithmetic cannot meet these checks' 1e-7 relative tolerance, run after run: the
#: same row predicted at another position of a batch, or trained as a weighted row instead of
#: repeated rows, rounds differently in the last bit (measured: 1.3e-7 to 1.4e-7, and not
#: the same from one run to the next; on sparse data 1e-7 to 4.5e-7, a sparse matmul
#: summing in another order). The float64 models above pass all four every time.
FLOAT32_ROUNDING = (
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weight_equivalence_on_sparse_data",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
)


def _expected_failures(estimator):
    reason = "float32 rounding of the last bit against a 1e-7 tolerance (see FLOAT32_ROUNDING)"
    return dict.fromkeys(FLOAT32_ROUNDING, reason)


@parametrize_with_checks(
    [PLAIN_CLASSIFIER, PLAIN_REGRESSOR], expected_failed_checks=_expected_failures
)
def test_sklearn_compatible_wrapper_with_a_plain_user_model(estimator, check):
    check(estimator)


def _check_name(check):
    return getattr(check, "func", check).__name__  # the checks are partials


#: The checks float32 rounding cannot meet, run on the same wrappers around a float64
#: model: they pass, so the expected failures above are the model's arithmetic, not the
#: wrappers'. (Every other check runs on the float32 model above.)
FLOAT64_CASES = [
    (estimator, check)
    for wrapper in (KerasClassifier(simple_model, **COMMON), KerasRegressor(simple_model, **COMMON))
    for estimator, check in estimator_checks_generator(wrapper, mark=None)
    if _check_name(check) in FLOAT32_ROUNDING
]


@pytest.mark.parametrize(
    "estimator, check",
    FLOAT64_CASES,
    ids=[f"{type(e).__name__}-{_check_name(c)}" for e, c in FLOAT64_CASES],
)
def test_float64_model_meets_the_checks_float32_rounding_cannot(estimator, check):
    check(estimator)


def test_every_rounding_check_runs_in_float64():
    assert sorted({_check_name(c) for _, c in FLOAT64_CASES}) == sorted(FLOAT32_ROUNDING)
