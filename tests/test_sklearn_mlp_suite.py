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


def _load(source=SOURCE):
    text = source.read_text()
    if text.count(IMPORT) != 1:
        raise RuntimeError(f"{source} no longer imports the MLPs as {IMPORT!r}")
    text = text.replace(IMPORT, "from keraskit import MLPClassifier, MLPRegressor")
    namespace = {"__name__": __name__, "__file__": str(source)}
    exec(compile(text, str(source), "exec"), namespace)  # noqa: S102 - sklearn's own tests
    missing = sorted(set(PRIVATE) - set(namespace))
    if missing:
        raise RuntimeError(f"sklearn's test_mlp.py has no {missing}: update PRIVATE")
    return namespace


def _collect(source=SOURCE):
    """sklearn's tests, or the reason they cannot be run (never an error at collection:
    that would stop the whole run when scikit-learn changes its file)."""
    try:
        return _load(source), None
    except Exception as exc:  # any change in sklearn's file: reported by one test below
        return {}, f"{type(exc).__name__}: {exc}"


_TESTS, _PROBLEM = _collect()


def test_scikit_learns_mlp_test_file_loads():
    assert _PROBLEM is None, f"scikit-learn's MLP tests could not be loaded: {_PROBLEM}"


def test_a_changed_test_file_is_one_failure_not_a_collection_error(tmp_path):
    changed = tmp_path / "test_mlp.py"
    changed.write_text(SOURCE.read_text().replace(IMPORT, "from sklearn import neural_network"))
    tests, problem = _collect(changed)
    assert tests == {} and "no longer imports the MLPs" in problem
    changed.write_text(SOURCE.read_text().replace("def test_gradient(", "def test_gradients("))
    assert "has no ['test_gradient']: update PRIVATE" in _collect(changed)[1]
    changed.write_text("import sklearn.no_such_module\n" + SOURCE.read_text())
    assert _collect(changed)[1].startswith("ModuleNotFoundError")


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
