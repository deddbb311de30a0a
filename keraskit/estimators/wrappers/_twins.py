"""Compiled stand-ins ("twins") that train a wrapper's model: one trace per architecture.

Keras traces ``Model.fit``'s train function once per model object, and a wrapper builds a
new model for every fit, so every fit of a grid search (and of scikit-learn's estimator
checks) traced anew: 0.3-1 s each. A twin is a clone of the model, compiled alike, kept
per architecture and compile settings as the ready-made estimators keep their templates. A
fit loads its model's variables (weights, seed-generator states, optimizer state) into an
idle twin, trains the twin, and takes every variable back: the estimator keeps its own
model, trained exactly as if it had trained itself (same graph, same starting values).

Models whose architecture or compile settings cannot be written as a config (subclassed
models, unregistered custom objects), models of several inputs or outputs (their losses and
metrics have a structure of their own), models under a distribution strategy and eager
models train themselves, as before.
"""

from __future__ import annotations

import json
import os
import threading
import weakref
from collections import OrderedDict
from contextlib import contextmanager

import numpy as np

from ._seeding import untouched_rng

#: Architectures (with compile settings and input signature) whose twins are kept.
CACHE_SIZE = 32

_idle: OrderedDict = OrderedDict()  # key -> twins not training now
_refused: OrderedDict = OrderedDict()  # keys whose model would not clone (the newest)
_fresh = weakref.WeakKeyDictionary()  # twin -> its optimizer's values before any step
_lock = threading.Lock()


def twin_key(model, X):
    """What a twin must share with ``model`` to train for it; ``None`` if it cannot.

    Parameters
    ----------
    model : keras.Model
        A compiled model.
    X : array-like
        The training rows (their dtype and sample shape are in the trace).

    Returns
    -------
    key : tuple or None
    """
    # the model is built: TensorFlow and Keras are imported
    from ..._tensorflow import tf

    cls = type(model)
    if cls.__name__ not in ("Sequential", "Functional") or not cls.__module__.startswith("keras"):
        return None  # a subclass may override fit or train_step: it trains itself
    try:
        single = len(model.inputs) == 1 and len(model.outputs) == 1
    except (AttributeError, ValueError):  # a Sequential without an Input: built on fit
        return None
    if not single or not _one_loss(model.loss):
        return None  # losses and metrics per output: their structure is the model's own
    if getattr(model, "_run_eagerly", False) or model.distribute_strategy is not (
        tf.distribute.get_strategy()
    ):
        return None
    try:
        architecture = json.loads(model.to_json())
        # the compile settings are keyed apart (to_json serialized them already)
        settings = architecture.pop("compile_config", None) or model.get_compile_config()
        architecture = _anonymous(json.dumps(architecture, sort_keys=True))
        # names kept: metric names are history_'s keys (only the optimizer's is renamed)
        compiled = json.dumps(_settings_traced(settings), sort_keys=True)
    except (NotImplementedError, TypeError, ValueError, AttributeError):
        return None  # a subclassed model, or objects no config can name
    dtype = getattr(X, "dtype", None)
    loss_dtype = str(getattr(model.loss, "dtype", None))  # a config does not hold it
    return (
        type(model).__qualname__,
        architecture,
        compiled,
        loss_dtype,
        str(dtype),
        np.shape(X)[1:],
    )


def _settings_traced(settings):
    """A model's compile config without what its train function reads from variables.

    A float learning rate is an optimizer variable, read by the traced step rather than
    written into it, and is loaded with the optimizer's state at every fit: a grid search
    over ``optimizer__learning_rate`` trains every value on one twin. (A schedule is code
    in the graph: it stays in the key.)

    Parameters
    ----------
    settings : dict
        The serialized compile config, a fresh structure: edited in place.

    Returns
    -------
    settings : dict
    """
    optimizer = settings.get("optimizer")
    config = optimizer.get("config") if isinstance(optimizer, dict) else None
    if not isinstance(config, dict):
        return settings
    config["name"] = "optimizer"  # Keras numbers each new optimizer's name
    if _keras_own(optimizer) and isinstance(config.get("learning_rate"), float):
        # (a custom optimizer might keep the float itself and trace it into its step)
        config["learning_rate"] = "a variable"
    return settings


def _keras_own(optimizer):
    """Whether a serialized optimizer is one of Keras's own classes (they read their
    learning rate from its variable)."""
    own = str(optimizer.get("module", "")).startswith("keras.")
    return own and optimizer.get("registered_name") is None


def _one_loss(loss):
    """Whether ``loss`` is one loss (not a list or dict of them, whose items a config
    would bring back without their dtype)."""
    return not isinstance(loss, (list, tuple, dict))


def _anonymous(config):
    """A JSON config with every ``name`` numbered in order of appearance.

    Keras names every new model, layer and optimizer uniquely (``dense_7``,
    ``sequential_3``, ``rm_sprop_1``), so two builds of one architecture differ only by
    these names; the connections of a functional model refer to them, hence a renaming
    rather than a removal.
    """
    names = []

    def collect(node):
        if isinstance(node, dict):
            if isinstance(node.get("name"), str):
                names.append(node["name"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(json.loads(config))
    for i, name in enumerate(dict.fromkeys(names)):  # in order of appearance, each once
        config = config.replace(json.dumps(name), f'"#{i}"')
    return config


@contextmanager
def lent(model, X, y, enabled=True):
    """A model to call ``fit`` on for ``model``: an idle twin, loaded, or ``model`` itself.

    After the block, ``model`` holds every variable the twin ended with (its optimizer
    built if needed) and compiled metrics built and holding the twin's last values, as if
    it had trained itself; if the block raises, ``model`` is left as it was.

    Parameters
    ----------
    model : keras.Model
        The estimator's compiled model.
    X, y : array-like
        The training rows and their encoded targets (one row of each builds the model's
        compiled loss and metrics).
    enabled : bool, default=True
        ``False``: ``model`` trains itself (scikit-learn's callbacks look at it after
        every epoch).

    Yields
    ------
    trainer : keras.Model
    """
    key = twin_key(model, X) if enabled else None
    twin = None if key is None else _take(key, model)
    if twin is None:
        yield model
        return
    try:
        _copy_state(model, twin)
        yield twin
        _copy_state(twin, model)
        _copy_metrics(twin, model, X, y)
    finally:
        _give_back(key, twin)


def _take(key, model):
    """An idle twin of ``key``, or a new one (``None`` if the model will not clone)."""
    with _lock:
        if key in _refused:
            return None
        twins = _idle.get(key)
        if twins:
            _idle.move_to_end(key)
            return twins.pop()
    try:
        return _make_twin(model)
    except Exception:  # a model clone_model or its compile settings cannot rebuild
        with _lock:  # (not tried again for every fit)
            _refused[key] = None
            while len(_refused) > CACHE_SIZE:
                _refused.popitem(last=False)
        return None


def _give_back(key, twin):
    with _lock:
        twins = _idle.setdefault(key, [])
        if len(twins) < (os.cpu_count() or 1):  # one per thread that may train at once
            twins.append(twin)
        _idle.move_to_end(key)
        while len(_idle) > CACHE_SIZE:
            _idle.popitem(last=False)


def _make_twin(model):
    """A clone of ``model`` compiled from its compile config, its optimizer built."""
    from ..._tensorflow import keras  # as in twin_key

    with untouched_rng():  # the fit's draws are the same whether a twin is built or not
        twin = keras.models.clone_model(model)
        twin.compile(**_compile_settings(model))
        twin.optimizer.build(twin.trainable_variables)
    if len(twin.variables) != len(model.variables):
        raise ValueError("the clone's variables differ from the model's")
    _fresh[twin] = [v.numpy() for v in twin.optimizer.variables]
    return twin


def _compile_settings(model):
    """``model``'s compile arguments rebuilt from its compile config (fresh optimizer and
    metrics), with its loss's dtype.

    A loss's config leaves out its dtype: a float64 model's float64 loss (keraskit gives
    one, so that float64 models train in float64 throughout) would come back float32 and
    train differently in the last bits (measured: 1e-8 on the weights after 3 epochs).
    """
    from ..._tensorflow import keras  # as in twin_key

    settings = keras.saving.deserialize_keras_object(model.get_compile_config())
    loss = settings.get("loss")
    dtype = getattr(model.loss, "dtype", None)
    if isinstance(loss, keras.losses.Loss) and dtype is not None and loss.dtype != dtype:
        settings["loss"] = type(loss).from_config({**loss.get_config(), "dtype": dtype})
        if settings["loss"].dtype != dtype:  # a custom loss that drops the argument
            raise ValueError(f"the loss cannot be rebuilt in {dtype}")
    return settings


def _copy_state(src, dst):
    """Every variable of ``src`` (weights, seed states, optimizer state) into ``dst``.

    An optimizer that has not run yet (a new model's) hands over a fresh state: the
    twin's own, as it was when the twin was built, with ``src``'s learning rate (a twin
    serves every float learning rate, see ``_settings_traced``).
    """
    for target, value in zip(dst.variables, src.variables, strict=True):
        target.assign(value)
    src_opt, dst_opt = src.optimizer, dst.optimizer
    if not dst_opt.built:
        dst_opt.build(dst.trainable_variables)
    if src_opt.built:
        values = [v.value for v in src_opt.variables]
    else:  # a new model's optimizer has not run: the fresh state its twin keeps
        values = _fresh[dst]
    for target, value in zip(dst_opt.variables, values, strict=True):
        target.assign(value)
    if not src_opt.built and isinstance(src_opt.get_config().get("learning_rate"), float):
        # the variable's value (setting the attribute would track src's variable too)
        dst_opt.learning_rate.assign(src_opt.learning_rate)


def _copy_metrics(src, dst, X, y):
    """``dst``'s compiled loss and metrics built (on one row) and given ``src``'s values.

    Keras builds them on a model's first training step, which ``dst`` never took: without
    this its ``metrics`` would be empty after a fit.
    """
    from ..._tensorflow import keras  # as in twin_key

    row = X[:1].toarray() if hasattr(X, "toarray") else X[:1]
    target = keras.tree.map_structure(lambda a: a[:1], y)
    out = dst(row, training=False)
    dst.compute_loss(row, target, out)  # (their values are overwritten below)
    dst.compute_metrics(row, target, out)
    for target_var, value in zip(dst.metrics_variables, src.metrics_variables, strict=True):
        target_var.assign(value)
