"""keraskit's own file format: an estimator saved without pickle, loaded without running code.

A zip archive of ``keraskit.json`` (parameters and state as JSON), ``arrays.npz`` (read
with ``allow_pickle=False``) and ``model.keras`` (loaded with Keras' ``safe_mode``). Only
classes in ``registry`` can be named by a file.
"""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile

import numpy as np
import pandas as pd
from sklearn.preprocessing import LabelBinarizer

from .._version import __version__
from .keras_bytes import model_from_bytes, model_to_bytes, model_weights
from .registry import estimator_classes, record_classes
from .versions import FORMAT_VERSION

#: Members a keraskit file may hold; anything else (a pickle, a script) is refused.
_MEMBERS = {"keraskit.json", "arrays.npz", "model.keras"}


class _Encoder:
    """JSON encoding of estimator state; numpy arrays go to an ``.npz`` (no pickle)."""

    def __init__(self, dataclass_names):
        self.arrays = {}
        self.dataclass_names = dataclass_names

    def encode(self, value, where):
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, np.generic):
            return {"__scalar__": [value.dtype.str, value.item()]}
        if isinstance(value, np.dtype):  # a wrapper's X_dtype_, y_dtype_
            return {"__dtype__": value.str}
        if isinstance(value, tuple | list):
            items = [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
            return {"__tuple__": items} if isinstance(value, tuple) else items
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {"__dict__": {k: self.encode(v, f"{where}.{k}") for k, v in value.items()}}
        if isinstance(value, dict):  # e.g. class_weight={0: 1, 1: 5}
            return {
                "__items__": [
                    [self.encode(k, where), self.encode(v, f"{where}[{k!r}]")]
                    for k, v in value.items()
                ]
            }
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                return {"__objects__": [self.encode(v, where) for v in value.tolist()]}
            name = f"a{len(self.arrays)}"
            self.arrays[name] = value
            return {"__array__": name}
        if dataclasses.is_dataclass(value) and type(value).__name__ in self.dataclass_names:
            fields = {
                f.name: self.encode(getattr(value, f.name), f"{where}.{f.name}")
                for f in dataclasses.fields(value)
            }
            return {"__dataclass__": type(value).__name__, "fields": fields}
        if isinstance(value, pd.DataFrame):
            return {
                "__frame__": {
                    "columns": list(map(str, value.columns)),
                    "rows": self.encode(value.to_numpy(), where),
                }
            }
        if isinstance(value, LabelBinarizer):
            return {"__labelbinarizer__": self.encode(dict(vars(value)), where)}
        if isinstance(value, type) and keras_class_name(value) is not None:
            return {"__keras_class__": keras_class_name(value)}
        kind = (
            f"the class {value.__qualname__}"
            if isinstance(value, type)
            else (f"a {type(value).__name__}")
        )
        raise TypeError(
            f"{where} holds {kind}, which keraskit cannot store without pickle (it stores "
            "Keras's own classes and classes registered with "
            "keras.saving.register_keras_serializable by name). Remove it (for example set "
            "callbacks=None) before save(), or use pickle or joblib."
        )


def _decode(value, arrays, dataclasses_by_name):
    def dec(v):
        return _decode(v, arrays, dataclasses_by_name)

    if isinstance(value, list):
        return [dec(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__scalar__" in value:
        dtype, item = value["__scalar__"]
        return np.array(item, dtype=np.dtype(dtype))[()]
    if "__tuple__" in value:
        return tuple(dec(v) for v in value["__tuple__"])
    if "__dtype__" in value:
        return np.dtype(value["__dtype__"])
    if "__dict__" in value:
        return {k: dec(v) for k, v in value["__dict__"].items()}
    if "__items__" in value:
        return {dec(k): dec(v) for k, v in value["__items__"]}
    if "__objects__" in value:
        out = np.empty(len(value["__objects__"]), dtype=object)
        out[:] = [dec(v) for v in value["__objects__"]]
        return out
    if "__array__" in value:
        return arrays[value["__array__"]]
    if "__dataclass__" in value:
        cls = dataclasses_by_name.get(value["__dataclass__"])
        if cls is None:
            raise ValueError(f"unknown record type {value['__dataclass__']!r}")
        fields = {k: dec(v) for k, v in value["fields"].items()}
        known = {f.name for f in dataclasses.fields(cls)}
        record = cls(**{k: v for k, v in fields.items() if k in known})
        # fields of an older format stay as attributes, for the estimator's upgrade to move
        record.__dict__.update({k: v for k, v in fields.items() if k not in known})
        return record
    if "__frame__" in value:
        frame = value["__frame__"]
        history = pd.DataFrame(dec(frame["rows"]), columns=frame["columns"])
        history.index = pd.RangeIndex(1, len(history) + 1, name="epoch")
        return history
    if "__keras_class__" in value:
        return keras_class(value["__keras_class__"])
    if "__labelbinarizer__" in value:
        binarizer = LabelBinarizer()
        for k, v in dec(value["__labelbinarizer__"]).items():
            setattr(binarizer, k, v)
        return binarizer
    raise ValueError(f"unknown encoded value with keys {sorted(value)}")


#: Keras's public namespaces whose classes a file may name (``"callbacks.EarlyStopping"``).
KERAS_NAMESPACES = (
    "callbacks", "losses", "metrics", "optimizers", "layers", "initializers", "regularizers",
    "constraints",
)  # fmt: skip


def keras_class_name(cls):
    """How a file names a Keras class: ``{"keras": "callbacks.EarlyStopping"}`` for Keras's
    own, ``{"registered": "package>Name"}`` for a registered one, else ``None``."""
    # imported when an estimator holding a class is saved; a class there is Keras's already
    import keras

    for namespace in KERAS_NAMESPACES:
        if getattr(getattr(keras, namespace), cls.__name__, None) is cls:
            return {"keras": f"{namespace}.{cls.__name__}"}
    name = keras.saving.get_registered_name(cls)
    if keras.saving.get_registered_object(name) is cls and ">" in name:
        return {"registered": name}
    return None


def keras_class(named):
    """The class a file names (:func:`keras_class_name`), looked up, never imported."""
    # loading a file that names a Keras class: Keras is what it names
    import keras

    if "keras" in named:
        namespace, _, name = named["keras"].partition(".")
        cls = (
            getattr(getattr(keras, namespace), name, None)
            if namespace in KERAS_NAMESPACES
            else None
        )
    else:
        cls = keras.saving.get_registered_object(named["registered"])
    if not isinstance(cls, type):
        raise ValueError(
            f"the file names the Keras class {named}, which is not a class of Keras or "
            "registered in this program (register it before keraskit.load)."
        )
    return cls


#: Attributes a file never holds: caches, the output config (saved apart), and
#: scikit-learn's callbacks with a running fit's callback context (callbacks are objects of
#: any class, which a file that runs no code cannot bring back; set them again after loading).
UNSAVED = (
    "_runtime",
    "model_",  # a wrapper's Keras model: the archive's model.keras
    "_sklearn_output_config",
    "_skl_callbacks",
    "_callback_fit_ctx",
    "_skl_callbacks_to_teardown",
    "_parent_callback_ctx",
    # metadata-routing requests (set_fit_request ...): a setting of the program using the
    # estimator, set again there after loading
    "_metadata_request",
)


def save_estimator(est, path):
    """Write a fitted (or unfitted) keraskit estimator to ``path`` without pickle.

    Parameters
    ----------
    est : BaseKerasEstimator
        The estimator.
    path : str or path-like
        Destination file (a zip archive: JSON, an ``.npz`` of arrays, a ``.keras`` model).
    """
    estimators, dataclasses_by_name = estimator_classes(), record_classes()
    name = type(est).__name__
    if name not in estimators:
        raise TypeError(f"{name} is not a keraskit estimator that save() knows.")
    encoder = _Encoder(dataclasses_by_name)
    # _weights go to the npz too: a .keras archive does not keep seed-generator states
    params = _file_params(est)
    # parameters travel once, as parameters (the loaded estimator is built from them)
    state = {k: v for k, v in vars(est).items() if k not in UNSAVED and k not in params}
    document = {
        "format": FORMAT_VERSION,
        "keraskit_version": __version__,
        "class": name,
        "params": encoder.encode(params, "params"),
        "state": encoder.encode({k: state[k] for k in state}, "state"),
        "output_config": encoder.encode(
            getattr(est, "_sklearn_output_config", None), "output config"
        ),
    }
    arrays = io.BytesIO()
    np.savez(arrays, **encoder.arrays)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("keraskit.json", json.dumps(document))
        archive.writestr("arrays.npz", arrays.getvalue())
        if hasattr(est, "model_"):  # fitted (the ready-made estimators build it here)
            archive.writestr("model.keras", model_to_bytes(est.model_))


def _file_params(est):
    """The parameters a file records: ``get_params``, less what only code can rebuild.

    A wrapper's ``model`` (a function, a class or a Keras model) is not stored: the fitted
    Keras model is, and the loaded wrapper takes it as its ``model`` (see
    ``BaseWrapper._attach_network``).
    """
    params = est.get_params(deep=False)
    if getattr(est, "_model_from_file", False):
        params["model"] = None
    return params


def load_estimator(path):
    """Read an estimator written by :func:`save_estimator`, refusing anything unsafe.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    est : BaseKerasEstimator
        The estimator, fitted if it was saved fitted.
    """
    estimators, dataclasses_by_name = estimator_classes(), record_classes()
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{path} is not a keraskit file (not a zip archive).") from exc
    with archive:
        names = set(archive.namelist())
        unexpected = sorted(names - _MEMBERS)
        if unexpected or "keraskit.json" not in names:
            raise ValueError(
                f"Refusing to load {path}: a keraskit file holds only {sorted(_MEMBERS)}, "
                f"this one has {unexpected or sorted(names)}. It was not written by keraskit "
                "or was tampered with."
            )
        document = json.loads(archive.read("keraskit.json"))
        arrays = dict(np.load(io.BytesIO(archive.read("arrays.npz")), allow_pickle=False))
        model_bytes = archive.read("model.keras") if "model.keras" in names else None
    if document.get("format", 0) > FORMAT_VERSION:
        raise ValueError(
            f"{path} was written by a newer keraskit (format {document['format']}); "
            "upgrade keraskit to read it."
        )
    cls = estimators.get(document.get("class"))
    if cls is None:
        raise ValueError(f"Refusing to load {path}: unknown class {document.get('class')!r}.")
    params = _decode(document["params"], arrays, dataclasses_by_name)
    unknown = set(params) - set(cls().get_params(deep=False))
    if getattr(cls, "_model_from_file", False):
        # a wrapper's routed and model-function arguments: plain values, kept in a dict
        unknown = set()
    if unknown:
        raise ValueError(f"Refusing to load {path}: unknown parameters {sorted(unknown)}.")
    est = cls(**params)
    for key, value in _decode(document["state"], arrays, dataclasses_by_name).items():
        setattr(est, key, value)
    upgrade = getattr(est, "_upgrade_loaded_state", None)
    if upgrade is not None:  # state written by an older format, brought up to date
        upgrade()
    config = _decode(document.get("output_config"), arrays, dataclasses_by_name)
    if config:
        est._sklearn_output_config = config
    if model_bytes is not None:
        _attach_model(est, model_bytes, path)
    return est


def _attach_model(est, data, path):
    """Load the ``.keras`` member and hand it to the estimator, refusing altered files."""
    try:
        # the wrappers keep their compiled state (loss, optimizer) to train on
        model = model_from_bytes(data, compile=getattr(est, "_model_from_file", False))
    except Exception as exc:  # Keras refuses Lambda layers and unknown classes in safe_mode
        raise ValueError(
            f"Refusing to load {path}: its Keras model could not be loaded safely "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    weights = model_weights(model)
    stored = getattr(est, "_weights", None)
    if stored is not None:  # the npz copy also carries seed states; both must agree
        same = len(stored[0]) == len(weights[0]) and all(
            np.array_equal(a, b) for a, b in zip(stored[0], weights[0], strict=True)
        )
        if not same:
            raise ValueError(
                f"Refusing to load {path}: the model's weights differ from the weights "
                "stored beside them (the file was altered)."
            )
        weights = (list(stored[0]), list(stored[1]))
    try:
        est._attach_network(model, weights)
    except ValueError as exc:
        raise ValueError(f"Refusing to load {path}: {exc}") from exc
