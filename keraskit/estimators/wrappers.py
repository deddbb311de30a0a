"""Bring your own Keras model: ``KerasClassifier`` and ``KerasRegressor``.

scikeras's constructor and behaviour (a scikeras user changes only the import) on top of
keraskit's habits: atomic fits, reproducible ``random_state`` without process-wide side
effects, a fast predict path, pickling without monkeypatching Keras.

Training is Keras' own ``Model.fit`` (so batch-level callbacks, metrics, validation and
class weights behave exactly as in Keras); prediction skips ``Model.predict``'s per-call
overhead: small inputs to dense models run in NumPy, the rest through one compiled function.
"""

from __future__ import annotations

import copy
import inspect
import random
from collections import defaultdict
from contextlib import contextmanager

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import validate_parameter_constraints
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from .._config import before_tensorflow
from ._base import BaseKerasEstimator, _Runtime
from ._persistence import FORMAT_VERSION, model_from_bytes, model_to_bytes

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
_FIT_PARAMS = ("batch_size", "validation_batch_size", "verbose", "validation_split", "shuffle")
#: Bare keyword arguments that scikeras hands to ``compile`` and ``fit`` (not to the model).
_BARE_COMPILE = ("weighted_metrics", "loss_weights", "steps_per_execution", "jit_compile")
_BARE_FIT = ("validation_freq", "validation_steps", "steps_per_epoch")


def r_squared(y_true, y_pred):
    """Coefficient of determination as a Keras metric (scikeras's ``r_squared``).

    Parameters
    ----------
    y_true, y_pred : tensor
        Targets and predictions of one batch.

    Returns
    -------
    r2 : tensor
        ``1 - SS_res / SS_tot`` per output, averaged over outputs.
    """
    from keras import ops

    y_true = ops.cast(y_true, y_pred.dtype)
    ss_res = ops.sum(ops.square(y_true - y_pred), axis=0)
    ss_tot = ops.sum(ops.square(y_true - ops.mean(y_true, axis=0)), axis=0)
    return ops.mean(1.0 - ss_res / (ss_tot + 1e-7))


def _register_keraskit_objects():
    """Make ``r_squared`` serializable in ``.keras`` files (safe loading needs the name)."""
    import keras

    if "keraskit>r_squared" not in keras.saving.get_custom_objects():
        keras.saving.register_keras_serializable(package="keraskit", name="r_squared")(r_squared)


def _accepts(fn, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def _camel(name):
    return "".join(part.capitalize() for part in name.split("_"))


@contextmanager
def _seeded(random_state, offset=0):
    """Seed Python's, NumPy's and TensorFlow's global generators for a block, then restore.

    Keras draws initializer and dropout seeds from Python's ``random`` and shuffles with
    TensorFlow's global seed; both are put back afterwards, so a seeded fit leaves no trace
    on later (seeded or unseeded) work. Op determinism is never switched on.
    """
    before_tensorflow()  # every fit and initialize starts here, before TensorFlow runs
    if random_state is None:
        yield
        return
    import tensorflow as tf
    from tensorflow.python.eager import context

    # continuing fits (warm start, partial_fit) get a new seed per epoch already trained, so
    # that their batches are not shuffled identically at every call
    seed = (int(check_random_state(random_state).randint(2**31 - 1)) + offset) % (2**31 - 1)
    # Keras' numpy data paths shuffle with NumPy's legacy global generator: save and seed it
    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    ctx = context.context()
    tf_seed = context.global_seed()
    op_seeds = getattr(ctx, "_rng", None)  # the op-seed sequence of a user's global seed
    op_state = op_seeds.getstate() if op_seeds is not None else None
    random.seed(seed)
    np.random.seed(seed % (2**32))  # noqa: NPY002
    tf.random.set_seed(seed)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)  # noqa: NPY002
        tf.random.set_seed(tf_seed)
        if op_state is not None and getattr(ctx, "_rng", None) is not None:
            ctx._rng.setstate(op_state)  # continue the user's sequence where it was


class _Runner:
    """Inference of one Keras model through one compiled function (no ``Model.predict``).

    The function reads the model's live variables, so predictions follow any later change
    to ``model_`` (``fit``, ``set_weights``, ``load_weights``). keraskit's NumPy fast path is
    not used here: a hand-built model may hold layers whose inference NumPy cannot mirror
    (shared or frozen layers, custom activations, Monte Carlo dropout).
    """

    def __init__(self, model):
        import tensorflow as tf

        self.model = model
        self.single = len(model.outputs) == 1 and len(model.inputs) == 1
        if self.single:
            spec = tf.TensorSpec((None, *model.inputs[0].shape[1:]), model.inputs[0].dtype)
            self.fn = tf.function(lambda x: model(x, training=False), input_signature=[spec])

    def __call__(self, X, predict_kwargs):
        if not self.single or predict_kwargs:
            out = self.model.predict(X, **{"verbose": 0, **predict_kwargs})
            return out if isinstance(out, np.ndarray) else np.asarray(out)
        from ._training import PREDICT_CHUNK

        parts = [
            self.fn(X[start : start + PREDICT_CHUNK]).numpy()
            for start in range(0, X.shape[0], PREDICT_CHUNK)
        ]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


class BaseWrapper(BaseEstimator):
    """Base of :class:`KerasClassifier` and :class:`KerasRegressor`; not used directly."""

    def __init__(
        self,
        model=None,
        *,
        warm_start=False,
        random_state=None,
        optimizer="rmsprop",
        loss=None,
        metrics=None,
        batch_size=None,
        validation_batch_size=None,
        verbose=1,
        callbacks=None,
        validation_split=0.0,
        shuffle=True,
        run_eagerly=False,
        epochs=1,
        distribution=None,
        **kwargs,
    ):
        self.model = model
        self.warm_start = warm_start
        self.random_state = random_state
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.batch_size = batch_size
        self.validation_batch_size = validation_batch_size
        self.verbose = verbose
        self.callbacks = callbacks
        self.validation_split = validation_split
        self.shuffle = shuffle
        self.run_eagerly = run_eagerly
        self.epochs = epochs
        self.distribution = distribution
        # routed and model-function arguments live in one private dict: sklearn counts only
        # the signature's names as attributes set by __init__
        self._kwargs = dict(kwargs)

    # ------------------------------------------------------------- parameters
    def get_params(self, deep=True):
        """Parameters of the constructor plus every routed or model keyword argument.

        Parameters
        ----------
        deep : bool, default=True
            Ignored (no sub-estimators); kept for scikit-learn's API.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=False)
        params.update(self._kwargs)
        return params

    def __getattr__(self, name):
        # routed parameters read as attributes, as in scikeras (est.optimizer__learning_rate)
        kwargs = self.__dict__.get("_kwargs", {})
        if name in kwargs:
            return kwargs[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def set_params(self, **params):
        """Set parameters, including routed ones such as ``optimizer__learning_rate``.

        Parameters
        ----------
        **params : dict
            Parameter names and values. Names with a routing prefix (``model__``,
            ``fit__``, ``predict__``, ``compile__``, ``optimizer__``, ``loss__``,
            ``metrics__``, ``callbacks__``) and the model function's own arguments are
            accepted as they are.

        Returns
        -------
        self : object
            The estimator.
        """
        signature = set(super().get_params(deep=False))
        known = signature | set(self._kwargs)
        for name, value in params.items():
            if name in signature:
                setattr(self, name, value)
            elif name.split("__")[0] in ROUTING_PREFIXES or name in known:
                self._kwargs[name] = value
            else:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {type(self).__name__}. Pass "
                    f"it to the constructor (`{type(self).__name__}({name}=...)`) to route it "
                    "to the model function, or use a routing prefix such as 'model__'. "
                    "Valid parameters are: " + ", ".join(sorted(known)) + "."
                )
        return self

    def _routed(self, prefix):
        """``prefix__name`` parameters as ``{name: value}`` (they all live in ``_kwargs``)."""
        start = prefix + "__"
        return {k[len(start) :]: v for k, v in self._kwargs.items() if k.startswith(start)}

    def _user_params(self):
        """Bare keyword arguments given to the constructor (for the model function)."""
        bare_elsewhere = set(_BARE_COMPILE) | set(_BARE_FIT)
        return {k: v for k, v in self._kwargs.items() if "__" not in k and k not in bare_elsewhere}

    def _targets(self, y, X, reset, classes=None):
        """Check ``y`` against ``X`` with sklearn's errors, then encode it (``_prepare_y``)."""
        _require_y(self, y)
        check_consistent_length(X, y)
        return self._prepare_y(np.asarray(y), X, reset, classes)

    # --------------------------------------------------------------- building
    def _meta(self):
        names = (
            "n_features_in_",
            "X_shape_",
            "X_dtype_",
            "y_dtype_",
            "y_ndim_",
            "target_type_",
            "classes_",
            "n_classes_",
            "n_outputs_",
            "n_outputs_expected_",
        )
        return {n: getattr(self, n) for n in names if hasattr(self, n)}

    def _make(self, name, value, kwargs, module):
        """Instantiate an optimizer/loss/metric given as a string, class or instance."""
        import keras

        if isinstance(value, str):
            if not kwargs:
                return value
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
        if isinstance(value, type):
            return value(**kwargs)
        if kwargs and hasattr(value, "get_config"):
            config = {**value.get_config(), **kwargs}
            return type(value).from_config(config)
        if hasattr(value, "get_config") and isinstance(value, keras.optimizers.Optimizer):
            return type(value).from_config(value.get_config())  # never share optimizer state
        return value

    def _compile_kwargs(self, width=None, out_dtype=None):
        import keras

        kwargs = {k: v for k, v in self._kwargs.items() if k in _BARE_COMPILE}
        kwargs.update(self._routed("compile"))
        kwargs["optimizer"] = self._make(
            "optimizer", self.optimizer, self._routed("optimizer"), keras.optimizers
        )
        loss, routed = self._loss_or_default(width), self._routed("loss")
        keras_own = isinstance(loss, str) or (
            isinstance(loss, type) and loss.__module__.startswith("keras.")
        )
        if keras_own:
            # the weighted mean (sum of w * loss / sum of w), not Keras' sum / batch size:
            # then the scale of sample weights does not matter and integer weights act
            # exactly as repeated rows
            routed = {"reduction": "mean_with_sample_weight", **routed}
            if out_dtype == "float64":
                routed = {"dtype": out_dtype, **routed}  # a float64 model gets a float64 loss
        kwargs["loss"] = self._make("loss", loss, routed, keras.losses)
        if self.metrics is not None:
            metrics = (
                self.metrics if isinstance(self.metrics, (list, tuple, dict)) else [self.metrics]
            )
            routed = self._routed("metrics")
            if isinstance(metrics, dict):
                kwargs["metrics"] = metrics
            else:
                kwargs["metrics"] = [
                    self._make("metrics", m, routed, keras.metrics) for m in metrics
                ]
        kwargs.setdefault("run_eagerly", self.run_eagerly)
        return kwargs

    def _build(self):
        """A new Keras model for this fit, compiled (under the distribution strategy)."""
        with self._strategy_scope():
            return self._build_in_scope()

    def _strategy(self):
        """The strategy ``distribution`` asks for (``None`` for none), checked first."""
        from ._training import get_strategy

        validate_parameter_constraints(  # the ready-made estimators' constraint and wording
            {"distribution": BaseKerasEstimator._parameter_constraints["distribution"]},
            {"distribution": self.distribution},
            caller_name=type(self).__name__,
        )
        return get_strategy(self.distribution)

    def _strategy_scope(self):
        from ._training import strategy_scope

        return strategy_scope(self._strategy())

    def _match_strategy(self):
        """Move a model kept for a warm start to this fit's strategy, optimizer state included.

        A model unpickled, or built before ``distribution`` changed, lives under another
        strategy than the one this fit asks for; Keras would train it where it lives. The
        ``.keras`` round trip keeps weights and optimizer state, not the generator states
        of random layers (they restart from their seeds).
        """
        import tensorflow as tf

        from ._training import strategy_scope

        strategy = self._strategy()
        if self.model_.distribute_strategy is not (strategy or tf.distribute.get_strategy()):
            with strategy_scope(strategy):
                self.model_ = _load(model_to_bytes(self.model_))

    def _build_in_scope(self):
        import keras

        _register_keraskit_objects()
        spec = self.model
        if spec is None:
            raise ValueError(
                "model=None: pass a function that returns a Keras model, or a Keras model."
            )
        if isinstance(spec, keras.Model):
            model = keras.models.clone_model(spec)
            model.set_weights(spec.get_weights())  # start from the instance's weights
            if spec.compiled:  # the same settings, a fresh optimizer state
                model.compile_from_config(spec.get_compile_config())
        elif callable(spec):
            params = {**self._user_params(), **self._routed("model")}
            if not _accepts(spec, "**"):
                wanted = inspect.signature(spec).parameters
                params = {k: v for k, v in params.items() if k in wanted}
            if _accepts(spec, "meta"):
                params["meta"] = self._meta()
            if _accepts(spec, "compile_kwargs"):
                params["compile_kwargs"] = self._compile_kwargs()
            if _accepts(spec, "params"):
                params["params"] = self.get_params(deep=False)
            model = spec(**params)
            if not isinstance(model, keras.Model):
                raise TypeError(
                    f"The model function must return a keras.Model, got {type(model).__name__}."
                )
        else:
            raise TypeError(
                "model must be a function returning a Keras model or a keras.Model, got "
                f"{type(spec).__name__}."
            )
        if not model.compiled:  # a compiled model is used as it comes, as in scikeras
            single = len(model.outputs) == 1
            width = model.outputs[0].shape[-1] if single else None
            out_dtype = str(model.outputs[0].dtype) if single else None
            model.compile(**self._compile_kwargs(width, out_dtype))
        return model

    # ----------------------------------------------------------------- fitting
    def _validate_X(self, X, reset):
        X = validate_data(self, X, reset=reset, allow_nd=True, dtype=(np.float32, np.float64))
        if reset:
            self.X_shape_ = X.shape
            self.X_dtype_ = X.dtype
        elif X.shape[1:] != self.X_shape_[1:]:
            raise ValueError(
                f"X has shape {X.shape[1:]} per sample, but {type(self).__name__} was fitted "
                f"with samples of shape {self.X_shape_[1:]}."
            )
        return X

    def _fit_kwargs(self, extra, n_samples):
        kwargs = {k: getattr(self, k) for k in _FIT_PARAMS}
        kwargs.update({k: v for k, v in self._kwargs.items() if k in _BARE_FIT})
        kwargs.update(self._routed("fit"))
        kwargs.update(extra)
        callbacks = self._callbacks()
        callbacks += [copy.deepcopy(cb) for cb in kwargs.pop("callbacks", None) or []]
        kwargs["callbacks"] = callbacks
        for name in ("batch_size", "validation_batch_size"):
            if kwargs.get(name) == -1:  # scikeras: one batch of all the rows
                kwargs[name] = n_samples
        return kwargs

    def _callbacks(self):
        import keras

        if self.callbacks is None:
            return []
        items = self.callbacks
        if isinstance(items, dict):
            items = list(items.values())
        elif not isinstance(items, (list, tuple)):
            items = [items]
        routed = self._routed("callbacks")
        out = []
        for cb in items:
            if isinstance(cb, type) and issubclass(cb, keras.callbacks.Callback):
                wanted = inspect.signature(cb.__init__).parameters
                out.append(cb(**{k: v for k, v in routed.items() if k in wanted}))
            elif isinstance(cb, keras.callbacks.Callback):
                out.append(copy.deepcopy(cb))  # every fit (and every clone) starts fresh
            else:
                raise TypeError(
                    "callbacks must hold keras.callbacks.Callback instances or subclasses, "
                    f"got {cb!r}."
                )
        return out

    def _sample_weight(self, sample_weight, X, y):
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        class_weight = getattr(self, "class_weight", None)
        if class_weight is not None:
            cw = compute_sample_weight(class_weight, y)
            sw = cw if sw is None else sw * cw
        if sw is not None and sw.sum() <= 0:
            raise ValueError("sample_weight must have a positive sum.")
        return sw

    def fit(self, X, y, sample_weight=None, **kwargs):
        """Build (or, with ``warm_start``, keep) the model and train it for ``epochs`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training data; any number of dimensions after the first.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights (the loss is their weighted mean).
        **kwargs : dict
            Extra arguments for ``keras.Model.fit`` (as with the ``fit__`` prefix).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, self.warm_start, self.epochs, kwargs)

    def partial_fit(self, X, y, sample_weight=None, **kwargs):
        """Train one epoch, continuing from the current model if there is one.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        **kwargs : dict
            Extra arguments for ``keras.Model.fit``.

        Returns
        -------
        self : object
            The updated estimator.
        """
        _one_epoch_only(kwargs)
        return self._fit(X, y, sample_weight, True, 1, kwargs)

    def initialize(self, X, y=None):
        """Set up the model for ``X`` and ``y`` without training it.

        With a trained Keras model as ``model``, the estimator predicts with its weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Example inputs (their shape and type are recorded).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Example targets (classes, number of outputs).

        Returns
        -------
        self : object
            The initialized estimator.
        """
        saved = vars(self).copy()
        try:
            X = self._validate_X(X, reset=True)
            if y is not None:
                self._targets(y, X, reset=True)
            elif isinstance(self, ClassifierMixin):
                raise ValueError(f"{type(self).__name__}.initialize needs y to learn the classes.")
            with _seeded(self.random_state):
                self.model_ = self._build()
            if y is not None:
                self._check_outputs()
            self.history_ = defaultdict(list)
            self._runtime = _Runtime()
        except BaseException:
            vars(self).clear()
            vars(self).update(saved)
            raise
        return self

    def _fit(self, X, y, sample_weight, warm_start, epochs, extra, classes=None):
        saved = vars(self).copy()
        state = None
        try:
            keep = warm_start and hasattr(self, "model_")
            X = self._validate_X(X, reset=not keep)
            y_enc = self._targets(y, X, reset=not keep, classes=classes)
            sw = self._sample_weight(sample_weight, X, y)
            fit_kwargs = self._fit_kwargs(extra, X.shape[0])
            # precedence as in scikeras: fit(..., epochs=) > fit__epochs > epochs
            epochs = fit_kwargs.pop("epochs", epochs)
            fit_kwargs.pop("initial_epoch", None)
            done = self.current_epoch if keep else 0
            with _seeded(self.random_state, offset=done):
                if keep:
                    state = _snapshot(self.model_)
                    self._match_strategy()
                else:
                    self.model_ = self._build()
                    self.history_ = defaultdict(list)
                    self._check_outputs()
                y_enc = self._encode_for_loss(y_enc)
                history = self.model_.fit(
                    X,
                    y_enc,
                    sample_weight=sw,
                    epochs=done + epochs,
                    initial_epoch=done,
                    **fit_kwargs,
                )
            new = defaultdict(list, {k: list(v) for k, v in self.history_.items()})
            for key, values in history.history.items():
                new[key].extend(float(v) for v in values)
            self.history_ = new
            self._runtime = _Runtime()
        except BaseException:
            if state is not None:
                _restore(saved["model_"], state)
            vars(self).clear()
            vars(self).update(saved)
            raise
        return self

    def _check_outputs(self):
        """The model's output width must match the targets (clear error, not TensorFlow's)."""
        out = self.model_.outputs
        if len(out) != 1:
            return
        width = out[0].shape[-1]
        loss = getattr(self.model_, "loss", None)
        name = str(loss if isinstance(loss, str) else getattr(loss, "name", "")).lower()
        if width == 1 and "sparse_categorical" in name:
            raise ValueError(
                "The model ends in one output unit but is compiled with a sparse categorical "
                "cross-entropy, which needs one unit per class: use "
                "loss='binary_crossentropy' with one sigmoid unit, or n_classes_ units."
            )
        expected = self._expected_width()
        if expected is not None and width not in expected:
            raise ValueError(
                f"The model has {width} output unit(s), but the targets need "
                f"{' or '.join(map(str, sorted(expected)))}. Build the last layer from "
                "meta['n_outputs_'] (regression) or meta['n_classes_'] (classification)."
            )

    # ---------------------------------------------------------------- predict
    def _outputs(self, X, **kwargs):
        check_is_fitted(self, "model_")
        X = self._validate_X(X, reset=False)
        rt = self._runtime
        if rt.runner is None or rt.runner.model is not self.model_:
            rt.runner = _Runner(self.model_)
        kwargs = {**self._routed("predict"), **kwargs}
        for name in ("verbose", "batch_size"):  # they do not change the outputs
            kwargs.pop(name, None)
        return rt.runner(X, kwargs)

    def __repr__(self, N_CHAR_MAX=700):
        defaults = {
            name: p.default
            for name, p in inspect.signature(type(self).__init__).parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        shown = []
        for name, value in sorted(self.get_params(deep=False).items()):
            if name in defaults and _same(value, defaults[name]):
                continue
            shown.append(f"{name}={_short_repr(value)}")
        text = f"{type(self).__name__}({', '.join(shown)})"
        return text if len(text) <= N_CHAR_MAX else text[: N_CHAR_MAX - 4] + "...)"

    @property
    def current_epoch(self):
        """int: epochs trained so far (scikeras's ``current_epoch``)."""
        return len(getattr(self, "history_", {}).get("loss", []))

    # ------------------------------------------------------------ persistence
    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_runtime", None)
        model = state.pop("model_", None)
        if model is not None:
            state["_model_bytes"] = model_to_bytes(model)
        if "model" in state and _is_keras_model(state["model"]):
            state["model"] = _KerasBytes(model_to_bytes(state["model"]))
        state["_keraskit_format"] = FORMAT_VERSION
        return state

    def __setstate__(self, state):
        state = dict(state)
        version = state.pop("_keraskit_format", FORMAT_VERSION)
        if version > FORMAT_VERSION:
            raise ValueError(
                f"This estimator was saved by a newer keraskit (format {version}); upgrade."
            )
        state.setdefault("distribution", None)  # a parameter added in format 2
        data = state.pop("_model_bytes", None)
        if isinstance(state.get("model"), _KerasBytes):
            state["model"] = _load(state["model"].data)
        super().__setstate__(state)
        self._runtime = _Runtime()
        if data is not None:
            self.model_ = _load(data)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


def _one_epoch_only(kwargs):
    for name in ("epochs", "initial_epoch"):
        if name in kwargs:
            raise TypeError(
                f"partial_fit trains exactly one epoch and does not take {name!r}; use "
                "fit with warm_start=True for several."
            )


def _snapshot(model):
    """Values of every model and optimizer variable (seed states included)."""
    variables = list(model.variables)
    if getattr(model, "optimizer", None) is not None:
        variables += list(model.optimizer.variables)
    return [(v, np.array(v.numpy(), copy=True)) for v in variables]


def _restore(model, state):
    for v, value in state:
        v.assign(value)


def _require_y(est, y):
    if y is None:
        raise ValueError(f"{type(est).__name__} requires y to be passed, but the target y is None.")


def _same(a, b):
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # arrays and other objects without a plain truth value
        return a is b


def _short_repr(value):
    """Functions and Keras objects by name, so that the repr is stable across processes."""
    if inspect.isfunction(value) or inspect.isclass(value):
        return value.__qualname__
    if _is_keras_model(value):
        return f"<keras model {value.name!r}>"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_short_repr(v) for v in value)
        return (
            f"[{inner}]"
            if isinstance(value, list)
            else f"({inner}{',' if len(value) == 1 else ''})"
        )
    if type(value).__module__.startswith("keras"):
        return type(value).__name__ + "(...)"
    return repr(value)


class _KerasBytes:
    """A Keras model given as ``model=`` travelling through pickle as ``.keras`` bytes."""

    def __init__(self, data):
        self.data = data


def _is_keras_model(obj):
    import sys

    keras = sys.modules.get("keras")
    return keras is not None and isinstance(obj, keras.Model)


def _load(data):
    _register_keraskit_objects()
    return model_from_bytes(data, compile=True)


class KerasClassifier(ClassifierMixin, BaseWrapper):
    """scikit-learn classifier around a Keras model you build (scikeras-compatible).

    Parameters
    ----------
    model : callable or keras.Model, default=None
        A function returning a Keras model (compiled or not), called at each fit with the
        arguments its signature names: routed ``model__<name>`` or bare keyword arguments,
        ``meta`` (``n_features_in_``, ``X_shape_``, ``n_classes_``, ``classes_``,
        ``target_type_``, ``n_outputs_``...), ``compile_kwargs``, ``params``. Or a Keras
        model, cloned (with its weights) at each fit and never trained in place.
    warm_start : bool, default=False
        Keep training the fitted model on the next ``fit`` instead of building a new one.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and shuffling. The global generators it needs
        are restored after each call, and op determinism is never switched on.
    optimizer : str, keras.optimizers.Optimizer or class, default="rmsprop"
        Used when the model comes uncompiled; ``optimizer__<name>`` arguments configure it.
    loss : str, keras.losses.Loss, class, callable or None, default=None
        ``None`` picks ``"binary_crossentropy"`` for one sigmoid output unit (or multilabel
        targets) and ``"sparse_categorical_crossentropy"`` otherwise. ``loss__<name>``
        arguments configure it. ``"categorical_crossentropy"`` gets one-hot targets.
    metrics : list or None, default=None
        Keras metrics (``metrics__<name>`` arguments configure them).
    batch_size : int or None, default=None
        Rows per gradient step (Keras' default, 32, when ``None``).
    validation_batch_size : int or None, default=None
        Rows per validation step.
    verbose : int, default=1
        Keras' verbosity during ``fit``.
    callbacks : list of keras.callbacks.Callback (instances or classes) or None, default=None
        Callbacks for ``fit``; instances are copied at each fit, classes are instantiated
        with ``callbacks__<name>`` arguments.
    validation_split : float, default=0.0
        Fraction of the (last) training rows held out for validation (as in Keras).
    shuffle : bool, default=True
        Shuffle the training rows at each epoch.
    run_eagerly : bool, default=False
        Run Keras' training step eagerly (debugging).
    epochs : int, default=1
        Epochs per ``fit``.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into the sample weights.
    distribution : {"mirrored"} or None, default=None
        ``"mirrored"`` builds, compiles and trains the model under
        ``tf.distribute.MirroredStrategy`` over all local GPUs (logical CPU devices on a
        machine without GPUs); ``batch_size`` is then the global batch, split over them.
    **kwargs : dict
        Routed parameters (``model__``, ``fit__``, ``predict__``, ``compile__``,
        ``optimizer__``, ``loss__``, ``metrics__``, ``callbacks__``) and the model function's
        own arguments. All are visible to ``get_params``/``set_params``.

    Attributes
    ----------
    model_ : keras.Model
        The fitted model.
    history_ : dict of str to list of float
        Keras' history across fits (``history_["val_loss"]``...).
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_classes_ : int
        Number of classes.
    n_features_in_ : int
        Size of the second dimension of ``X``.
    X_shape_ : tuple
        Shape of the ``X`` seen by ``fit``.
    target_type_ : str
        ``type_of_target`` of ``y``.
    n_outputs_ : int
        Number of target columns (1 for single-label classification).

    See Also
    --------
    KerasRegressor : The regressor.
    MLPClassifier : A ready-made network with scikit-learn's parameters.

    Examples
    --------
    >>> import keras
    >>> from keraskit import KerasClassifier
    >>> def build(meta, hidden=16):
    ...     return keras.Sequential([
    ...         keras.Input((meta["n_features_in_"],)),
    ...         keras.layers.Dense(hidden, activation="relu"),
    ...         keras.layers.Dense(meta["n_classes_"], activation="softmax"),
    ...     ])
    >>> clf = KerasClassifier(build, hidden=8, epochs=5, verbose=0)  # doctest: +SKIP
    """

    def __init__(
        self,
        model=None,
        *,
        warm_start=False,
        random_state=None,
        optimizer="rmsprop",
        loss=None,
        metrics=None,
        batch_size=None,
        validation_batch_size=None,
        verbose=1,
        callbacks=None,
        validation_split=0.0,
        shuffle=True,
        run_eagerly=False,
        epochs=1,
        class_weight=None,
        distribution=None,
        **kwargs,
    ):
        super().__init__(
            model,
            warm_start=warm_start,
            random_state=random_state,
            optimizer=optimizer,
            loss=loss,
            metrics=metrics,
            batch_size=batch_size,
            validation_batch_size=validation_batch_size,
            verbose=verbose,
            callbacks=callbacks,
            validation_split=validation_split,
            shuffle=shuffle,
            run_eagerly=run_eagerly,
            epochs=epochs,
            distribution=distribution,
            **kwargs,
        )
        self.class_weight = class_weight

    def _prepare_y(self, y, X, reset, classes=None):
        if y.ndim == 2 and y.shape[1] == 1:
            from sklearn.utils.validation import column_or_1d

            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        target_type = type_of_target(y)
        if target_type not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(
                f"{type(self).__name__} supports binary, multiclass and multilabel targets, "
                f"got {target_type}."
            )
        if reset:
            self.target_type_ = target_type
            self.y_dtype_ = y.dtype
            self.y_ndim_ = y.ndim
            if target_type == "multilabel-indicator":
                self.classes_ = np.arange(y.shape[1])
                self.n_outputs_ = y.shape[1]
            else:
                self.classes_ = np.unique(y if classes is None else np.asarray(classes))
                self.n_outputs_ = 1
                if classes is not None:  # the type of the whole problem, not of this batch
                    self.target_type_ = "binary" if len(self.classes_) <= 2 else "multiclass"
                if len(self.classes_) < 2:
                    raise ValueError(
                        "The number of classes has to be greater than one; got "
                        f"{len(self.classes_)} class: {self.classes_}."
                    )
            self.n_classes_ = len(self.classes_)
            self.n_outputs_expected_ = 1
        if target_type == "multilabel-indicator":
            if self.target_type_ != target_type or y.shape[1] != self.n_classes_:
                raise ValueError("y does not have the labels of the fitted classifier.")
            return y.astype(np.float32)
        if self.target_type_ == "multilabel-indicator":
            raise ValueError("The classifier was fitted on multilabel targets.")
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if len(unseen):
            raise ValueError(
                f"y contains classes not seen before: {unseen}; classes_ is {self.classes_}."
            )
        return np.searchsorted(self.classes_, y)

    def _loss_or_default(self, width=None):
        if self.loss is not None:
            return self.loss
        if getattr(self, "target_type_", None) == "multilabel-indicator" or width == 1:
            return "binary_crossentropy"
        return "sparse_categorical_crossentropy"

    def _expected_width(self):
        if self.target_type_ == "multilabel-indicator":
            return {self.n_classes_}
        return {1, self.n_classes_} if self.n_classes_ == 2 else {self.n_classes_}

    def _loss_name(self):
        loss = self.model_.loss
        name = loss if isinstance(loss, str) else getattr(loss, "name", None)
        name = name or getattr(loss, "__name__", "")
        return str(name).lower()

    def _encode_for_loss(self, codes):
        if self.target_type_ == "multilabel-indicator":
            return codes
        name = self._loss_name()
        width = self.model_.outputs[0].shape[-1] if len(self.model_.outputs) == 1 else None
        if "categorical" in name and "sparse" not in name:
            return np.eye(self.n_classes_, dtype=np.float32)[codes]
        if width == 1:
            return codes.astype(np.float32)[:, None]
        return codes

    def partial_fit(self, X, y, classes=None, sample_weight=None, **kwargs):
        """Train one epoch, continuing from the current model if there is one.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Targets.
        classes : array-like of shape (n_classes,), default=None
            Every class that will ever appear (first call only); by default the classes
            of this ``y``.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        **kwargs : dict
            Extra arguments for ``keras.Model.fit``.

        Returns
        -------
        self : object
            The updated estimator.
        """
        _one_epoch_only(kwargs)
        return self._fit(X, y, sample_weight, True, 1, kwargs, classes=classes)

    def predict_proba(self, X, **kwargs):
        """Probability of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Input data.
        **kwargs : dict
            Extra arguments for ``keras.Model.predict`` (as with ``predict__``).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            ``(n, 2)`` also for a model ending in one sigmoid unit.
        """
        out = self._outputs(X, **kwargs)
        out = out.reshape(out.shape[0], -1)
        if out.shape[1] == 1 and self.target_type_ != "multilabel-indicator":
            p = out[:, 0]
            return np.column_stack([1 - p, p])
        return out

    def predict(self, X, **kwargs):
        """Predict class labels (indicator rows for multilabel targets).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Input data.
        **kwargs : dict
            Extra arguments for ``keras.Model.predict``.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels.
        """
        proba = self.predict_proba(X, **kwargs)
        if self.target_type_ == "multilabel-indicator":
            return (proba > 0.5).astype(int)
        return self.classes_.take(proba.argmax(axis=1))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class KerasRegressor(RegressorMixin, BaseWrapper):
    """scikit-learn regressor around a Keras model you build (scikeras-compatible).

    Parameters
    ----------
    model : callable or keras.Model, default=None
        A function returning a Keras model (compiled or not), called at each fit with the
        arguments its signature names: routed ``model__<name>`` or bare keyword arguments,
        ``meta`` (``n_features_in_``, ``X_shape_``, ``n_outputs_``, ``target_type_``...),
        ``compile_kwargs``, ``params``. Or a Keras model, cloned (with its weights) at each
        fit and never trained in place.
    warm_start : bool, default=False
        Keep training the fitted model on the next ``fit`` instead of building a new one.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and shuffling, without lasting global effects.
    optimizer : str, keras.optimizers.Optimizer or class, default="rmsprop"
        Used when the model comes uncompiled; ``optimizer__<name>`` arguments configure it.
    loss : str, keras.losses.Loss, class, callable or None, default=None
        ``None`` means ``"mse"``; ``loss__<name>`` arguments configure it.
    metrics : list or None, default=None
        Keras metrics, e.g. ``[KerasRegressor.r_squared]``.
    batch_size : int or None, default=None
        Rows per gradient step (Keras' default, 32, when ``None``).
    validation_batch_size : int or None, default=None
        Rows per validation step.
    verbose : int, default=1
        Keras' verbosity during ``fit``.
    callbacks : list of keras.callbacks.Callback (instances or classes) or None, default=None
        Callbacks for ``fit``; instances are copied at each fit.
    validation_split : float, default=0.0
        Fraction of the (last) training rows held out for validation (as in Keras).
    shuffle : bool, default=True
        Shuffle the training rows at each epoch.
    run_eagerly : bool, default=False
        Run Keras' training step eagerly (debugging).
    epochs : int, default=1
        Epochs per ``fit``.
    distribution : {"mirrored"} or None, default=None
        ``"mirrored"`` builds, compiles and trains the model under
        ``tf.distribute.MirroredStrategy`` over all local GPUs (logical CPU devices on a
        machine without GPUs); ``batch_size`` is then the global batch, split over them.
    **kwargs : dict
        Routed parameters and the model function's own arguments (see
        :class:`KerasClassifier`).

    Attributes
    ----------
    model_ : keras.Model
        The fitted model.
    history_ : dict of str to list of float
        Keras' history across fits.
    n_features_in_ : int
        Size of the second dimension of ``X``.
    X_shape_ : tuple
        Shape of the ``X`` seen by ``fit``.
    n_outputs_ : int
        Number of target columns.

    See Also
    --------
    KerasClassifier : The classifier.
    MLPRegressor : A ready-made network with scikit-learn's parameters.
    """

    r_squared = staticmethod(r_squared)

    def _prepare_y(self, y, X, reset, classes=None):
        if y.dtype.kind not in "fiub":
            raise ValueError(
                f"Unknown label type: regression targets must be numeric, got {y.dtype}."
            )
        y = y.astype(np.float64)
        if not np.isfinite(y).all():
            raise ValueError("Input y contains NaN or infinity.")
        if y.ndim > 2:
            raise ValueError(f"y must be 1-D or 2-D, got {y.ndim} dimensions.")
        if reset:
            self.target_type_ = type_of_target(y)
            self.y_dtype_ = y.dtype
            self.y_ndim_ = y.ndim
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
            self.n_outputs_expected_ = 1
        elif (1 if y.ndim == 1 else y.shape[1]) != self.n_outputs_:
            raise ValueError(
                f"y has {y.shape[1:]} outputs; the regressor was fitted with {self.n_outputs_}."
            )
        return y.reshape(len(y), -1)

    def _loss_or_default(self, width=None):
        return "mse" if self.loss is None else self.loss

    def _expected_width(self):
        return {self.n_outputs_}

    def _encode_for_loss(self, y):
        return y

    def predict(self, X, **kwargs):
        """Predict targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Input data.
        **kwargs : dict
            Extra arguments for ``keras.Model.predict``.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions.
        """
        out = self._outputs(X, **kwargs)
        out = out.reshape(out.shape[0], -1)
        # without a y seen (initialize(X)), one output column comes back 1-D
        one_d = getattr(self, "y_ndim_", 1) == 1 and out.shape[1] == 1
        return out[:, 0] if one_d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
