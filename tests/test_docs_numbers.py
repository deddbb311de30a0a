"""The README's claims held to the code and to the benchmark's recorded results.

The README's benchmark table must be ``benchmarks/RESULTS.txt``'s, its prose numbers the
table's or the tests' own, and its list of what a fused search cannot fuse what the code
refuses, the way ``test_docstrings.py`` holds the docstrings to the signatures.
"""

import inspect
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import test_fused_members
import test_model_selection
from keras import callbacks

from keraskit import AutoencoderTransformer, CNNClassifier, KerasClassifier, MLPClassifier
from keraskit._engine.data import SMALL_SPARSE
from keraskit._engine.population import fusable

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
FLAT = " ".join(README.split())  # the README's words, line breaks aside
RESULTS = (ROOT / "benchmarks" / "RESULTS.txt").read_text()


def _table(text):
    """The benchmark table's rows (from its header on), cells stripped."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| what "))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        if not line.startswith("|--"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_readme_table_is_the_recorded_one():
    readme, recorded = _table(README), _table(RESULTS)
    assert len(readme) > 20
    assert readme == recorded


def test_the_one_row_prediction_time_in_the_prose_is_the_tables():
    (row,) = [r for r in _table(README) if r[0] == "2. predict_proba, one row (ms)"]
    measured = row[3].split()[0]  # the keraskit column: "0.093 (0.31x)"
    assert f"({measured} ms for one row, row 2)" in README


def _short(x):
    return f"{x:.0e}".replace("e-0", "e-")  # 1e-12, 1e-6


def test_the_fused_tolerances_in_the_prose_are_the_tests():
    weights = inspect.signature(test_fused_members._check_members).parameters["tol"].default
    scores = inspect.signature(test_model_selection.assert_same_results).parameters["atol"].default
    weights, scores = _short(weights), _short(scores)
    assert f"within {weights} in float64 in the tests" in FLAT
    assert f"agree to {weights} on weights and losses, and the searches' scores to {scores}" in FLAT


def _digits_like():
    rng = np.random.RandomState(0)
    return rng.rand(40, 16), np.arange(40) % 3


#: What the README says a fused search cannot fuse, with an estimator of each kind.
NOT_FUSED = {
    "`lbfgs`": MLPClassifier((4,), solver="lbfgs"),
    "fits with Keras callbacks": MLPClassifier((4,), callbacks=[callbacks.TerminateOnNaN()]),
    "printing per epoch (`verbose`": MLPClassifier((4,), verbose=True),
    "`progress_bar`": MLPClassifier((4,), progress_bar=True),
    "distribution strategies": MLPClassifier((4,), distribution="mirrored"),
    "mixed precision": MLPClassifier((4,), mixed_precision="bfloat16"),
    "CNNs": CNNClassifier(conv_filters=(2,), dense_layer_sizes=(4,)),
    "input noise or an activity penalty": AutoencoderTransformer((4,), noise_std=0.1),
}


@pytest.mark.parametrize("phrase", list(NOT_FUSED))
def test_what_the_readme_says_cannot_be_fused_is_not(phrase):
    assert phrase in FLAT, phrase
    est = NOT_FUSED[phrase]
    X, y = _digits_like()
    if isinstance(est, CNNClassifier):
        X = X.reshape(40, 4, 4)
    refused = not est.can_fuse() or not fusable(est.plan_fit(X, y))
    assert refused, phrase


def test_large_sparse_data_and_the_wrappers_are_not_fused_and_a_plain_mlp_is():
    X, y = _digits_like()
    assert "sparse data of more than 2**22 values (a smaller sparse matrix is" in FLAT
    assert fusable(MLPClassifier((4,)).plan_fit(sp.csr_matrix(X), y))
    large = sp.random(4097, 1024, density=1e-4, format="csr", random_state=0)
    assert large.shape[0] * large.shape[1] > SMALL_SPARSE
    assert not fusable(MLPClassifier((4,)).plan_fit(large, np.arange(4097) % 3))
    assert "the Keras wrappers" in README and not hasattr(KerasClassifier, "plan_fit")
    assert fusable(MLPClassifier((4,)).plan_fit(X, y))
    assert re.search(r"What cannot be fused trains as scikit-learn would train it", README)
