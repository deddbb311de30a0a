"""scikit-learn's own MLP tests, run against keraskit's MLPs.

The installed scikit-learn's ``sklearn/neural_network/tests/test_mlp.py`` is read at test
time, its import of the MLPs is pointed at keraskit, and its tests are collected here as
they are: nothing of it is copied into this repository. Only the tests that read or write
scikit-learn's private attributes are skipped, each with its reason below.
"""

from pathlib import Path

import pytest
import sklearn

SOURCE = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"

#: Tests of sklearn's file left out, and why: each touches sklearn's private internals.
PRIVATE = {
    "test_fit": "sets sklearn's private _coef_grads, _intercept_grads and velocities",
    "test_gradient": "calls sklearn's private _loss_grad_lbfgs",
    "test_learning_rate_warmstart": "reads sklearn's private _optimizer",
    "test_adaptive_learning_rate": "reads sklearn's private _optimizer",
    "test_n_iter_no_change": "reads sklearn's private _no_improvement_count",
    "test_n_iter_no_change_inf": "reads sklearn's private _no_improvement_count",
}


def _load():
    text = SOURCE.read_text()
    if text.count(IMPORT) != 1:
        raise RuntimeError(f"{SOURCE} no longer imports the MLPs as {IMPORT!r}")
    text = text.replace(IMPORT, "from keraskit import MLPClassifier, MLPRegressor")
    namespace = {"__name__": __name__, "__file__": str(SOURCE)}
    exec(compile(text, str(SOURCE), "exec"), namespace)  # noqa: S102 - sklearn's own tests
    return namespace


_TESTS = _load()
_missing = sorted(set(PRIVATE) - set(_TESTS))
if _missing:
    raise RuntimeError(f"sklearn's test_mlp.py has no {_missing}: update PRIVATE")
for _name, _value in _TESTS.items():
    if _name.startswith("test_") or _name.startswith("X_") or _name.startswith("y_"):
        if _name in PRIVATE:
            _value = pytest.mark.skip(reason=f"sklearn-private: {PRIVATE[_name]}")(_value)
        globals()[_name] = _value
    elif not _name.startswith("__") and _name not in globals():
        globals()[_name] = _value  # the data sets and helpers the tests read


@pytest.fixture
def global_random_seed():
    """scikit-learn's default global seed (its conftest's fixture, outside sklearn)."""
    return 42
