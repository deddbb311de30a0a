"""scikit-learn's estimator checks over every public keraskit estimator, no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from keraskit import (
    AutoencoderTransformer,
    CNNClassifier,
    CNNRegressor,
    ConvAutoencoderTransformer,
    MLPClassifier,
    MLPRegressor,
)
from keraskit.model_selection import GridSearchCV, RandomizedSearchCV

# Small networks keep the ~100 fits of the checks fast; every other parameter is default.
ESTIMATORS = [
    MLPClassifier(hidden_layer_sizes=(16,)),
    MLPRegressor(hidden_layer_sizes=(16,)),
    CNNClassifier(conv_filters=(8,), dense_layer_sizes=(16,)),
    CNNRegressor(conv_filters=(8,), dense_layer_sizes=(16,)),
    AutoencoderTransformer(hidden_layer_sizes=(8,)),
    ConvAutoencoderTransformer(encoding_dim=2, conv_filters=(4,)),
    # the fused searches (one candidate, two folds: every check fit trains a population)
    GridSearchCV(MLPClassifier((16,), random_state=0), {"alpha": [1e-4]}, cv=2),
    RandomizedSearchCV(
        MLPRegressor(hidden_layer_sizes=(16,), random_state=0), {"alpha": [1e-4]}, n_iter=1, cv=2
    ),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
