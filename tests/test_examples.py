"""Every example runs (with its --small flag) and prints its result.

They run in this test process, as ``python example.py --small`` would run them (``runpy``
with ``__name__ == "__main__"``, the argument list, the working directory and the warning
filters set for the call and put back after it): a subprocess per example paid for
importing TensorFlow again, 5-7 s each. What an example needs a fresh process for (loky,
Dask or Ray workers) it starts itself. Each has ``LIMIT`` seconds, as the subprocesses had.
"""

import pathlib
import runpy
import signal
import sys
import warnings

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parent.parent / "examples").glob("*.py"))


#: Seconds an example may run before it fails (a cluster that never starts, say).
LIMIT = 300


def _run_as_script(path, argv, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # examples may write files (plots)
    monkeypatch.setattr(sys, "argv", [str(path), *argv])

    def too_long(signum, frame):
        raise TimeoutError(f"{path.name} ran for more than {LIMIT} s")

    previous = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(LIMIT)
    try:
        with warnings.catch_warnings():  # examples silence warnings for their own run
            runpy.run_path(str(path), run_name="__main__")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, tmp_path, monkeypatch, capsys):
    _run_as_script(path, ["--small"], monkeypatch, tmp_path)
    assert capsys.readouterr().out.strip(), "an example must print what it shows"


def test_demo_runs_and_writes_learning_curves(tmp_path, monkeypatch, capsys):
    # --quick: the same tour with a few epochs per network (the full one is make demo's)
    main = pathlib.Path(__file__).parent.parent / "keraskit" / "__main__.py"
    _run_as_script(main, ["--quick"], monkeypatch, tmp_path)
    out = capsys.readouterr().out
    assert "keraskit MLPClassifier" in out and "sklearn MLPClassifier" in out
    assert "autoencoder MSE" in out
    assert "keraskit GridSearchCV" in out and "sklearn GridSearchCV" in out
    assert "keraskit's best score equals scikit-learn's" in out
    assert "keraskit TabularRegressor" in out and "HistGradientBoosting" in out
    plots = sorted((tmp_path / "keraskit_demo_output").glob("*.png"))
    assert len(plots) == 6 and all(p.stat().st_size > 5000 for p in plots)
