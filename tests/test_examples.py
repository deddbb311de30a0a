"""Every example runs (with its --small flag) and prints its result."""

import pathlib
import subprocess
import sys

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, tmp_path):
    done = subprocess.run(
        [sys.executable, str(path), "--small"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # examples may write files (plots)
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip(), "an example must print what it shows"


def test_demo_runs_and_writes_learning_curves(tmp_path):
    # --quick: the same tour with a few epochs per network (the full one is make demo's)
    done = subprocess.run(
        [sys.executable, "-m", "keraskit", "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "keraskit MLPClassifier" in done.stdout and "sklearn MLPClassifier" in done.stdout
    assert "autoencoder MSE" in done.stdout
    assert "keraskit GridSearchCV" in done.stdout and "sklearn GridSearchCV" in done.stdout
    assert "keraskit's best score equals scikit-learn's" in done.stdout
    assert "keraskit TabularRegressor" in done.stdout and "HistGradientBoosting" in done.stdout
    plots = sorted((tmp_path / "keraskit_demo_output").glob("*.png"))
    assert len(plots) == 6 and all(p.stat().st_size > 5000 for p in plots)
