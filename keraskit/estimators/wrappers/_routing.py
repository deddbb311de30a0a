"""Parameter routing of the wrappers: ``model__``/``fit__``/``optimizer__``... prefixes.

scikeras's conventions: a prefixed parameter goes to one consumer (the model function,
``Model.fit``, ``compile``, the optimizer, loss, metrics or callbacks); bare keyword
arguments go to the model function; optimizers, losses and metrics given by name, class or
instance are instantiated with their routed arguments.
"""

from __future__ import annotations

import inspect

#: Prefixes of routed parameters (``optimizer__learning_rate``, ``model__dropout``, ...).
ROUTING_PREFIXES = (
    "model",
    "fit",
    "compile",
    "predict",
    "optimizer",
    "loss",
    "metrics",
    "callbacks",
)
#: ``Model.fit`` arguments that are constructor parameters.
FIT_PARAMS = ("batch_size", "validation_batch_size", "verbose", "validation_split", "shuffle")
#: Bare keyword arguments that scikeras hands to ``compile`` and ``fit`` (not to the model).
BARE_COMPILE = ("weighted_metrics", "loss_weights", "steps_per_execution", "jit_compile")
BARE_FIT = ("validation_freq", "validation_steps", "steps_per_epoch")


def accepts(fn, name):
    """Whether ``fn`` takes a keyword argument ``name`` (or ``**kwargs``)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def _camel(name):
    return "".join(part.capitalize() for part in name.split("_"))


def routed(kwargs, prefix):
    """``prefix__name`` entries of ``kwargs`` as ``{name: value}``."""
    start = prefix + "__"
    return {k[len(start) :]: v for k, v in kwargs.items() if k.startswith(start)}


def user_params(kwargs):
    """Bare keyword arguments of the constructor that go to the model function."""
    bare_elsewhere = set(BARE_COMPILE) | set(BARE_FIT) | {"build_fn"}  # build_fn: the model
    return {k: v for k, v in kwargs.items() if "__" not in k and k not in bare_elsewhere}


def route(est, params, signature):
    """Set ``params`` on a wrapper: its own parameters as attributes, the rest routed.

    Parameters
    ----------
    est : BaseWrapper
        The wrapper; routed and bare parameters go to ``est._kwargs``.
    params : dict
        Parameter names and values.
    signature : set of str
        The constructor's own parameter names.

    Raises
    ------
    ValueError
        For a name that is neither a parameter, routed, nor known already.
    """
    known = signature | set(est._kwargs)
    for name, value in params.items():
        if name in signature:
            setattr(est, name, value)
        elif name.split("__")[0] in ROUTING_PREFIXES or name in known:
            est._kwargs[name] = value
        else:
            cls = type(est).__name__
            raise ValueError(
                f"Invalid parameter {name!r} for estimator {cls}. Pass "
                f"it to the constructor (`{cls}({name}=...)`) to route it "
                "to the model function, or use a routing prefix such as 'model__'. "
                "Valid parameters are: " + ", ".join(sorted(known)) + "."
            )


def make_keras_object(name, value, kwargs, module):
    """Instantiate an optimizer/loss/metric given as a string, class or instance.

    Parameters
    ----------
    name : str
        The parameter (``'optimizer'``, ``'loss'``, ``'metrics'``), for errors.
    value : str, type or object
        What the user gave.
    kwargs : dict
        Routed arguments (``optimizer__learning_rate=...``).
    module : module
        ``keras.optimizers``, ``keras.losses`` or ``keras.metrics``.

    Returns
    -------
    obj : str or object
        A name Keras resolves itself (no arguments), or a new instance.
    """
    if isinstance(value, str):
        return value if not kwargs else _from_name(name, value, kwargs, module)
    if isinstance(value, type):
        return value(**kwargs)
    if kwargs and callable(value) and not hasattr(value, "get_config"):
        raise TypeError(
            f"{name}={getattr(value, '__name__', value)!r} does not accept parameters because "
            f"it's not a class, so {name}__ arguments {sorted(kwargs)} cannot be applied; "
            "pass its class (or a name Keras knows) instead."
        )
    if kwargs and hasattr(value, "get_config"):
        config = {**value.get_config(), **kwargs}
        return type(value).from_config(config)
    if hasattr(value, "get_config") and isinstance(value, getattr(module, "Optimizer", ())):
        return type(value).from_config(value.get_config())  # never share optimizer state
    return value


def make_keras_objects(name, value, kwargs, module, make=None):
    """:func:`make_keras_object` for one value, or for each item of a list, tuple or dict.

    Each item gets the routed arguments meant for all (``loss__from_logits``) and, over
    them, its own (``loss__0__from_logits`` for a list's first item, ``loss__out1__...``
    for a dict's ``"out1"``), as scikeras routes them.

    Parameters
    ----------
    name, value, kwargs, module
        As in :func:`make_keras_object`.
    make : callable, default=None
        ``make(item, kwargs)`` for one item (default: :func:`make_keras_object`).

    Returns
    -------
    obj : object, or a list, tuple or dict of them
    """
    make = make or (lambda item, own: make_keras_object(name, item, own, module))
    # optimizer__x__y routes further (to an item), never to the object as a keyword "x__y"
    shared = {k: v for k, v in kwargs.items() if "__" not in k}
    if not isinstance(value, list | tuple | dict):
        return make(value, shared)

    def own(key):
        start = f"{key}__"
        return {**shared, **{k[len(start) :]: v for k, v in kwargs.items() if k.startswith(start)}}

    if isinstance(value, dict):
        return {key: make(item, own(key)) for key, item in value.items()}
    return type(value)(make(item, own(i)) for i, item in enumerate(value))


def _from_name(name, value, kwargs, module):
    obj = module.get(value)
    if hasattr(obj, "get_config") and not isinstance(obj, type):
        return type(obj).from_config({**obj.get_config(), **kwargs})
    wanted = _camel(getattr(obj, "__name__", value)).lower()
    classes = [c for c in vars(module).values() if isinstance(c, type)]
    cls = next((c for c in classes if c.__name__.lower() == wanted), None)
    if cls is None:
        raise ValueError(
            f"{name}={value!r} does not name a Keras class, so {name}__ arguments "
            f"{sorted(kwargs)} cannot be applied; pass a class or an instance."
        )
    return cls(**kwargs)
