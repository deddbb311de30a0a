"""Safe files: save/load without pickle, and tampered files refused before any code runs."""

import io
import json
import pickle
import warnings
import zipfile

import numpy as np
import pytest
from _estimators import cases, fit
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

import keraskit

CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_save_and_load_round_trip(case, tmp_path):
    name, est, X, y = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = fit(clone(est), X, y)
    est.save(tmp_path / "model.kk")
    loaded = keraskit.load(tmp_path / "model.kk")
    assert type(loaded) is type(est) and loaded.get_params() == est.get_params()
    method = "transform" if y is None else "predict"
    np.testing.assert_array_equal(getattr(loaded, method)(X), getattr(est, method)(X))
    with zipfile.ZipFile(tmp_path / "model.kk") as archive:
        assert sorted(archive.namelist()) == ["arrays.npz", "keraskit.json", "model.keras"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    name, est, X, y = CASES[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = fit(clone(est), X, y)
    path = tmp_path_factory.mktemp("files") / "clf.kk"
    est.save(path)
    return path


def _rewrite(src, dst, replace=None, add=None):
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for item in old.namelist():
            data = old.read(item)
            new.writestr(item, replace(item, data) if replace else data)
        for item, data in (add or {}).items():
            new.writestr(item, data)


def test_a_pickle_inside_is_refused(saved, tmp_path):
    _rewrite(saved, tmp_path / "evil.kk", add={"payload.pkl": pickle.dumps({"x": 1})})
    with pytest.raises(ValueError, match="Refusing to load.*payload.pkl"):
        keraskit.load(tmp_path / "evil.kk")


def test_an_injected_lambda_layer_is_refused(saved, tmp_path):
    def inject(item, data):
        if item != "model.keras":
            return data
        inner_in, inner_out = io.BytesIO(data), io.BytesIO()
        with zipfile.ZipFile(inner_in) as old, zipfile.ZipFile(inner_out, "w") as new:
            for member in old.namelist():
                content = old.read(member)
                if member == "config.json":
                    config = json.loads(content)
                    layers = config["config"]["layers"]
                    layers[-1] = {
                        "module": "keras.layers",
                        "class_name": "Lambda",
                        "config": {
                            "name": layers[-1]["config"]["name"],
                            "function": {
                                "class_name": "__lambda__",
                                "config": {"code": "print('pwned')"},
                            },
                        },
                        "inbound_nodes": layers[-1]["inbound_nodes"],
                    }
                    content = json.dumps(config).encode()
                new.writestr(member, content)
        return inner_out.getvalue()

    _rewrite(saved, tmp_path / "lambda.kk", replace=inject)
    with pytest.raises(ValueError, match="could not be loaded safely"):
        keraskit.load(tmp_path / "lambda.kk")


def test_unknown_class_and_altered_weights_are_refused(saved, tmp_path):
    def rename(item, data):
        if item != "keraskit.json":
            return data
        document = json.loads(data)
        document["class"] = "os.system"
        return json.dumps(document).encode()

    _rewrite(saved, tmp_path / "class.kk", replace=rename)
    with pytest.raises(ValueError, match="unknown class 'os.system'"):
        keraskit.load(tmp_path / "class.kk")

    other = keraskit.MLPClassifier((5,), max_iter=1, random_state=0)
    _, _, X, y = CASES[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        other.fit(X, y)
    other.save(tmp_path / "other.kk")
    with zipfile.ZipFile(tmp_path / "other.kk") as archive:
        foreign_model = archive.read("model.keras")
    _rewrite(
        saved,
        tmp_path / "swapped.kk",
        replace=lambda item, data: foreign_model if item == "model.keras" else data,
    )
    with pytest.raises(ValueError, match="differ from the weights stored|do not match the arch"):
        keraskit.load(tmp_path / "swapped.kk")


def test_not_a_keraskit_file(tmp_path):
    (tmp_path / "x.kk").write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(ValueError, match="not a keraskit file"):
        keraskit.load(tmp_path / "x.kk")


def test_callbacks_cannot_be_saved_silently(tmp_path):
    import keras

    est = keraskit.MLPClassifier(callbacks=[keras.callbacks.TerminateOnNaN()])
    with pytest.raises(TypeError, match="callbacks=None"):
        est.save(tmp_path / "cb.kk")


def test_round_trips_keep_seed_states_class_weights_and_early_stopping(tmp_path):
    """Dropout seeds, dict class weights and early-stopping history survive save and pickle."""
    from keraskit import MLPClassifier

    _, _, X, y = CASES[0]
    est = MLPClassifier(
        (8,),
        dropout=0.3,
        early_stopping=True,
        class_weight={0: 1, 1: 2, 2: 1},
        max_iter=4,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    est.save(tmp_path / "es.kk")
    for restored in (keraskit.load(tmp_path / "es.kk"), pickle.loads(pickle.dumps(est))):
        assert restored.class_weight == {0: 1, 1: 2, 2: 1}
        assert restored._progress.validation_scores == est._progress.validation_scores
        assert restored._progress.best_validation_score == est._progress.best_validation_score
        for a, b in zip(restored._weights[1], est._weights[1], strict=True):  # seed states
            np.testing.assert_array_equal(a, b)
