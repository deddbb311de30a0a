"""Files written by keraskit 0.1.0 load with today's code and predict what they predicted then.

The fixtures (``tests/fixtures/release_0_1_0``, made by its ``make.py`` with release 0.1.0)
hold a pickle of every public estimator kind, a keraskit file of every estimator with
``save``, and the outputs of each inference method before they were written.
"""

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

import keraskit

HERE = Path(__file__).parent / "fixtures" / "release_0_1_0"
EXPECTED = dict(np.load(HERE / "expected.npz"))
NAMES = sorted({key.split("/")[0] for key in EXPECTED})
METHODS = ("predict", "predict_proba", "transform", "inverse_transform", "score_samples")


def _check_outputs(est, name):
    X = EXPECTED[f"{name}/X"]
    checked = 0
    for method in METHODS:
        key = f"{name}/{method}"
        if key not in EXPECTED:
            continue
        arg = est.transform(X) if method == "inverse_transform" else X
        got, expected = getattr(est, method)(arg), EXPECTED[key]
        if expected.dtype.kind in "iubUO":  # labels: exactly
            np.testing.assert_array_equal(got, expected, err_msg=key)
        elif expected.dtype == np.float64:
            # the same weights, to the last bit or two: OpenBLAS picks its matrix kernels by
            # CPU at run time (DYNAMIC_ARCH), and this machine's (AMD EPYC, no AVX-512)
            # rounds some float64 sums 1 ulp away from the fixtures' machine
            np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-16, err_msg=key)
        else:
            # the same weights give the same outputs up to the last bits of float32: a
            # convolution's kernels differ by CPU instruction set (the fixtures were made on
            # another machine), which moves float32 results by an ulp or two
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=key)
        checked += 1
    assert checked >= 1


#: Public classes added after release 0.1.0: it never wrote a file of theirs.
NEWER_THAN_THE_FIXTURES = {"TabularClassifier", "TabularRegressor"}


def test_the_fixtures_cover_every_public_estimator_kind_of_the_release():
    kinds = set()
    for name in NAMES:
        with open(HERE / f"{name}.pkl", "rb") as f:
            kinds.add(type(pickle.load(f)).__name__)
    public = {name for name in keraskit.__all__ if name[0].isupper()}
    assert kinds == public - NEWER_THAN_THE_FIXTURES
    assert NEWER_THAN_THE_FIXTURES <= public  # a stale entry would hide a missing fixture


@pytest.mark.parametrize("name", NAMES)
def test_an_old_pickle_predicts_as_before(name):
    with open(HERE / f"{name}.pkl", "rb") as f:
        est = pickle.load(f)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        _check_outputs(est, name)
    # and it travels on in today's format
    _check_outputs(pickle.loads(pickle.dumps(est)), name)


@pytest.mark.parametrize("name", [n for n in NAMES if (HERE / f"{n}.keraskit").exists()])
def test_an_old_saved_file_predicts_as_before(name, tmp_path):
    est = keraskit.load(HERE / f"{name}.keraskit")
    _check_outputs(est, name)
    est.save(tmp_path / "again.keraskit")
    _check_outputs(keraskit.load(tmp_path / "again.keraskit"), name)


def test_an_old_pickle_keeps_training():
    with open(HERE / "mlp_regressor_partial_fit.pkl", "rb") as f:
        est = pickle.load(f)
    X = EXPECTED["mlp_regressor_partial_fit/X"]
    before = est.predict(X)
    t = est.t_
    est.partial_fit(X, X.sum(axis=1))
    assert est.t_ == t + len(X)  # sklearn's count of samples seen goes on
    assert not np.array_equal(est.predict(X), before)


@pytest.mark.parametrize("how", ["pickle", "file"])
def test_an_old_estimator_moves_its_optimizer_state_and_best_weights_to_resume(how):
    # before format 3, Progress held them; a later partial_fit still continues from them
    def load(name):
        if how == "file":
            return keraskit.load(HERE / f"{name}.keraskit")
        with open(HERE / f"{name}.pkl", "rb") as f:
            return pickle.load(f)

    best = load("mlp_classifier_early_stopping")
    assert best._resume.best_weights is not None
    assert not hasattr(best._progress, "best_weights")
    est, fresh = load("mlp_regressor_partial_fit"), load("mlp_regressor_partial_fit")
    assert est._resume.optimizer_state is not None
    assert not hasattr(est._progress, "optimizer_state")
    fresh._resume.optimizer_state = None  # the same fit without the saved Adam moments
    X = EXPECTED["mlp_regressor_partial_fit/X"]
    for e in (est, fresh):
        e.partial_fit(X, X.sum(axis=1))
    assert not np.allclose(est.predict(X), fresh.predict(X), rtol=1e-9)
