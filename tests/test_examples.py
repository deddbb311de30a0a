"""Every example runs (with its --small flag) and prints its result."""

import pathlib
import runpy
import subprocess
import sys

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parent.parent / "examples").glob("*.py"))


#: Examples that start worker processes or clusters of their own run in a fresh
#: interpreter, as a user runs them; the others run in the test's process, where
#: TensorFlow has started already (a fresh interpreter pays its ~6 s start each time).
OWN_PROCESS = {"dask_cluster_search", "parallel_grid_search"}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, tmp_path, monkeypatch, capsys):
    if path.stem in OWN_PROCESS:
        done = subprocess.run(
            [sys.executable, str(path), "--small"],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,  # examples may write files (plots)
        )
        assert done.returncode == 0, done.stderr[-3000:]
        out = done.stdout
    else:
        monkeypatch.chdir(tmp_path)  # examples may write files (plots)
        monkeypatch.setattr(sys, "argv", [str(path), "--small"])
        runpy.run_path(str(path), run_name="__main__")
        out = capsys.readouterr().out
    assert out.strip(), "an example must print what it shows"


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
