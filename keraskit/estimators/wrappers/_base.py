"""BaseWrapper: what ``KerasClassifier`` and ``KerasRegressor`` share.

Here: checking the data of a fit against the first, training with Keras' own ``Model.fit``
(through a twin, ``_twins``) inside an atomic fit, the compiled predict path, pickling
through ``.keras`` bytes and the scikeras-style ``repr``. Each other job has a room of its
own, mixed in: parameters and routing (``_params``), building the user's model
(``_building``), compile arguments (``_compiling``), the distribution strategy
(``_strategy``) and Keras callbacks (``_callbacks``).
"""

from __future__ import annotations

import inspect
from collections import defaultdict

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from ..._io.keras_bytes import model_to_bytes
from .._persistence import PersistenceMixin
from .._sk_callbacks import CallbackSupportMixin, FitTasks, with_callbacks
from .._state import Runtime, atomic_fit
from .._validation_set import from_fit_arguments
from ._building import BuildMixin
from ._callbacks import KerasCallbacksMixin, _as_list, _hooks_predict
from ._compiling import CompileMixin
from ._models import (
    Runner,
    _KerasBytes,
    dense_if_small,
    is_keras_model,
    known_outputs,
    load_model,
    restore,
    snapshot,
)
from ._params import ParamsMixin
from ._routing import (
    BARE_FIT,
    FIT_PARAMS,
)
from ._seeding import seeded
from ._strategy import StrategyMixin
from ._twins import lent


class BaseWrapper(
    PersistenceMixin,
    ParamsMixin,
    BuildMixin,
    CompileMixin,
    StrategyMixin,
    KerasCallbacksMixin,
    CallbackSupportMixin,
    BaseEstimator,
):
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

    def _targets(self, y, X, reset, classes=None):
        """Check ``y`` against ``X`` with sklearn's errors, then encode it (``_prepare_y``)."""
        _require_y(self, y)
        check_consistent_length(X, y)
        y = np.asarray(y)
        self._check_like_fit("y", y, reset)
        return self._prepare_y(y, X, reset, classes)

    def _check_like_fit(self, name, array, reset):
        """A later fit's (``partial_fit``, warm start) ``X`` or ``y`` as the first fit's.

        scikeras's rules and words: the same number of dimensions (and of target columns),
        and a dtype that casts safely to the first one's (``uint8`` after ``int64`` does,
        ``float64`` does not).
        """
        dtype = getattr(array, "dtype", None)
        if reset:
            self.__dict__[f"_{name}_like"] = (dtype, array.ndim, array.shape[1:])
            return
        seen = self.__dict__.get(f"_{name}_like")
        if seen is None or dtype is None:
            return  # fitted by an older keraskit, or no array dtype to compare
        seen_dtype, ndim, shape = seen
        cls = type(self).__name__
        if name == "y" and array.ndim != ndim:
            raise ValueError(
                f"y has {array.ndim} dimensions, but this {cls} expected {ndim} dimensions."
            )
        if name == "y" and array.shape[1:2] != shape[:1]:
            raise ValueError(
                f"y has {array.shape[1]} features (target columns), but this {cls} was "
                f"fitted with {shape[0]}."
            )
        numeric = seen_dtype is not None and {dtype.kind, seen_dtype.kind} <= set("biuf")
        if numeric and not np.can_cast(dtype, seen_dtype):  # (labels of any length cast)
            raise ValueError(
                f"Got {name} with dtype {dtype}, but this {cls} expected {seen_dtype} and "
                f"casting from {dtype} to {seen_dtype} is not safe!"
            )

    # --------------------------------------------------------------- building

    def _validate_X(self, X, reset, check_like_fit=False):
        # sparse rows stay sparse here: a large sparse X is never densified whole (Keras
        # converts each batch to a tf.SparseTensor, which Dense layers take); a small one
        # is densified for training (models.dense_if_small)
        if reset:
            self.__dict__.pop("_X_like", None)  # (an X of no array dtype records nothing)
        if check_like_fit and isinstance(X, np.ndarray) and X.dtype.kind in "fiub":
            self._check_like_fit("X", X, reset)
        X = validate_data(
            self,
            X,
            reset=reset,
            allow_nd=True,
            accept_sparse=["csr", "csc"],
            dtype=(np.float32, np.float64),
        )
        X = X.tocsr() if sp.issparse(X) else X
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
        kwargs = {k: getattr(self, k) for k in FIT_PARAMS}
        kwargs.update({k: v for k, v in self._kwargs.items() if k in BARE_FIT})
        kwargs.update(self._routed("fit"))
        kwargs.update(extra)
        kwargs["callbacks"] = self._callbacks() + _as_list(kwargs.pop("callbacks", None))
        for name in ("batch_size", "validation_batch_size"):
            if kwargs.get(name) == -1:  # scikeras: one batch of all the rows
                kwargs[name] = n_samples
        return kwargs

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

    @with_callbacks
    def fit(
        self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None, **kwargs
    ):
        """Build (or, with ``warm_start``, keep) the model and train it for ``epochs`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training data; any number of dimensions after the first.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights (the loss is their weighted mean).
        X_val : array-like of shape (n_val_samples, ...), default=None
            A validation set (with ``y_val``), checked and encoded as ``X`` and ``y``, and
            given to ``keras.Model.fit`` as ``validation_data``: ``history_["val_loss"]``,
            and what ``EarlyStopping(monitor="val_loss")`` watches. Unlike the other
            ``Model.fit`` arguments, it can be requested through metadata routing
            (``set_fit_request(X_val=True, y_val=True)``).
        y_val : array-like of shape (n_val_samples,) or (n_val_samples, n_outputs), \
                default=None
            Targets of ``X_val``.
        sample_weight_val : array-like of shape (n_val_samples,), default=None
            Weights of the validation samples.
        **kwargs : dict
            Extra arguments for ``keras.Model.fit`` (as with the ``fit__`` prefix).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        validation = from_fit_arguments(X_val, y_val, sample_weight_val)
        return self._fit(
            X, y, sample_weight, self.warm_start, self.epochs, kwargs, validation=validation
        )

    @with_callbacks
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
        return self._fit(X, y, sample_weight, True, 1, kwargs, incremental=True)

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
        with atomic_fit(self):
            X = self._validate_X(X, reset=True)
            if y is not None:
                self._targets(y, X, reset=True)
            elif isinstance(self, ClassifierMixin):
                raise ValueError(f"{type(self).__name__}.initialize needs y to learn the classes.")
            with seeded(self.random_state):
                self.model_ = self._build()
            if y is not None:
                self._check_outputs()
            self.history_ = defaultdict(list)
            self._runtime = Runtime()
        return self

    def _validation_data(self, validation):
        """``validation_data`` for ``Model.fit`` from the user's checked validation set."""
        try:
            X_val = self._validate_X(validation.X, reset=False)
        except ValueError as exc:
            raise ValueError(f"X_val does not match X: {exc}") from exc
        try:
            y_val = self._targets(validation.y, X_val, reset=False)
        except ValueError as exc:
            raise ValueError(f"y_val does not match y: {exc}") from exc
        y_val = self._encode_for_loss(y_val)
        if validation.sample_weight is None:
            return X_val, y_val
        sw_val = _check_sample_weight(
            validation.sample_weight, X_val, dtype=np.float64, ensure_non_negative=True
        )
        return X_val, y_val, sw_val

    def _fit(
        self,
        X,
        y,
        sample_weight,
        warm_start,
        epochs,
        extra,
        classes=None,
        validation=None,
        incremental=False,
    ):
        kept = []  # the variables of a kept model (warm start), to put back if the fit fails

        def undo():
            for state in kept:
                restore(state)

        # opened outside the atomic section (see _sk_callbacks): a failed fit tears down
        tasks = self._open_tasks(X, y, sample_weight, epochs, extra, incremental)
        with atomic_fit(self, undo=undo):
            keep = warm_start and hasattr(self, "model_")
            X = self._validate_X(X, reset=not keep, check_like_fit=True)
            y_enc = self._targets(y, X, reset=not keep, classes=classes)
            sw = self._sample_weight(sample_weight, X, y)
            fit_kwargs = self._fit_kwargs(extra, X.shape[0])
            if tasks.listening:
                fit_kwargs["callbacks"].append(tasks.keras_callback())
            # precedence as in scikeras: fit(..., epochs=) > fit__epochs > epochs; a
            # partial_fit trains one epoch whatever they say
            routed_epochs = fit_kwargs.pop("epochs", epochs)
            epochs = epochs if incremental else routed_epochs
            # scikeras's epoch count: partial_fit continues it; fit starts at initial_epoch
            # (default 0), so a warm-started fit keeps the model but starts a new history
            initial = fit_kwargs.pop("initial_epoch", 0)
            done = (self.current_epoch if keep else 0) if incremental else initial
            with seeded(self.random_state, offset=done):
                if keep:
                    kept.append(self._keep_model(new_history=not incremental and initial == 0))
                else:
                    self.model_ = self._build()
                    self.history_ = defaultdict(list)
                    self._check_outputs()
                y_enc = self._encode_for_loss(y_enc)
                if validation is not None:
                    fit_kwargs["validation_data"] = self._validation_data(validation)
                history = self._keras_fit(X, y_enc, sw, done, epochs, fit_kwargs, tasks)
            self._extend_history(history.history)
            self._runtime = Runtime()
        tasks.end()
        return self

    def _keras_fit(self, X, y_enc, sw, done, epochs, fit_kwargs, tasks):
        """``Model.fit`` of epochs ``done`` to ``done + epochs``, on a twin traced once per
        architecture unless scikit-learn's callbacks look at ``model_`` after every epoch."""
        X_fit = dense_if_small(X, self.model_)
        with lent(self.model_, X_fit, y_enc, enabled=not tasks.listening) as trainer:
            return trainer.fit(
                X_fit, y_enc, sample_weight=sw, epochs=done + epochs, initial_epoch=done,
                **fit_kwargs,
            )  # fmt: skip

    def _open_tasks(self, X, y, sample_weight, epochs, extra, incremental=False):
        """scikit-learn's callback tasks of a fit of ``epochs`` epochs (silent if none listen)."""
        # the epochs this fit runs (fit(..., epochs=) > fit__epochs > epochs): the tasks'
        # number of subtasks
        planned = epochs if incremental else {**self._routed("fit"), **extra}.get("epochs", epochs)
        tasks = FitTasks.open(self, X, y, sample_weight, planned)
        if tasks.listening:
            # a copy of the estimator shares the model being trained: the network as it
            # stands after the epoch
            tasks.fitted_attributes = lambda n_iter, weights: {"_runtime": Runtime()}
        return tasks

    def _keep_model(self, new_history):
        """Continue with ``model_`` (a warm start); return its snapshot for ``undo``."""
        if self.__dict__.pop("_model_shared", False):  # a copy's (see __copy__)
            self.model_ = load_model(model_to_bytes(self.model_))
        state = snapshot(self.model_)
        self._match_strategy()
        if new_history:
            self.history_ = defaultdict(list)
        return state

    def _extend_history(self, epochs):
        """A new ``history_`` with this fit's epochs after the earlier ones."""
        new = defaultdict(list, {k: list(v) for k, v in self.history_.items()})
        for key, values in epochs.items():
            new[_full_metric_name(key)].extend(float(v) for v in values)
        self.history_ = new

    def _check_outputs(self):
        """The model's output width must match the targets (clear error, not TensorFlow's)."""
        out = known_outputs(self.model_)
        if len(out) != 1:
            return
        width = out[0].shape[-1]
        loss = getattr(self.model_, "loss", None)
        name = str(loss if isinstance(loss, str) else getattr(loss, "name", "")).lower()
        multilabel = getattr(self, "target_type_", None) == "multilabel-indicator"
        if multilabel and "sparse_categorical" in name:
            # (a categorical cross-entropy trains on the indicator rows as scikeras's does)
            raise ValueError(
                f"Multilabel targets are indicator rows, but the model is compiled with "
                f"{name!r}, which takes one class index per sample: use "
                "loss='binary_crossentropy' (or loss=None) with one sigmoid unit per label."
            )
        one_class = getattr(self, "n_classes_", None) == 1  # any single unit predicts it
        if width == 1 and "sparse_categorical" in name and not one_class:
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
            rt.runner = Runner(self.model_)
        kwargs = {**self._routed("predict"), **kwargs}
        for name in ("verbose", "batch_size"):  # they do not change the outputs
            kwargs.pop(name, None)
        # callbacks that listen to predictions (the constructor's too, as in scikeras) get
        # them through Model.predict; the others leave the fast path alone
        listening = [cb for cb in self._callbacks() if _hooks_predict(cb)]
        listening += _as_list(kwargs.pop("callbacks", None))
        if listening:
            kwargs["callbacks"] = listening
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
    #: The file format stores the fitted Keras model (compiled) instead of ``model``.
    _model_from_file = True

    def save(self, path):
        """Save the estimator to a file without pickle; read it back with :func:`keraskit.load`.

        The fitted Keras model is stored as a ``.keras`` archive (loaded with
        ``safe_mode=True``, its optimizer state and compile settings included), the
        parameters and fitted attributes as JSON and arrays. A model function cannot be
        stored without code: the loaded estimator's ``model`` is the loaded Keras model, so
        it predicts, scores and continues training (``warm_start``, ``partial_fit``); a
        new fit starts from the saved weights. Classes given as parameters (``callbacks=
        [keras.callbacks.EarlyStopping]``, a loss class) are stored by name when they are
        Keras's own or registered with ``keras.saving.register_keras_serializable``, and
        looked up, never imported, on loading. Other Python objects (callback or loss
        instances, unregistered classes) cannot be stored: ``save`` names them; use pickle
        or joblib for those estimators (only with files you trust).

        Parameters
        ----------
        path : str or path-like
            Destination file.
        """
        super().save(path)

    def _attach_network(self, model, weights):
        """Take the Keras model of a loaded file (see :meth:`save`).

        Parameters
        ----------
        model : keras.Model
            The loaded, compiled model.
        weights : tuple of (list of ndarray, list of ndarray)
            Its weights (already in the model).
        """
        self.model_ = model
        if self.model is None:  # a twin: training model_ in place never changes model
            self.model = load_model(model_to_bytes(model))
        self._runtime = Runtime()

    def __copy__(self):
        """A shallow copy sharing ``model_``, without the pickle round trip.

        ``copy.copy`` would otherwise serialise the model (tens of milliseconds);
        scikit-learn's callbacks copy the estimator at every epoch, and the copy is meant to
        predict with the model as it stands. The copy trains a model of its own: its first
        warm-started fit or ``partial_fit`` takes a private copy of ``model_`` first (the
        original's later training still shows in the copy's predictions until then; use
        ``copy.deepcopy`` for an independent estimator).
        """
        new = super().__copy__()
        new._model_shared = True
        return new

    def _pack_network(self, state):
        model = state.pop("model_", None)
        if model is not None:
            state["_model_bytes"] = model_to_bytes(model)
        if "model" in state and is_keras_model(state["model"]):
            state["model"] = _KerasBytes(model_to_bytes(state["model"]))

    def _unpack_network(self, state):
        if isinstance(state.get("model"), _KerasBytes):
            state["model"] = load_model(state["model"].data)
        return state.pop("_model_bytes", None)

    def _restore_network(self, packed):
        if packed is not None:
            self.model_ = load_model(packed)

    def _declares_poor_score(self, tags):
        """How well a fit scores is the user's model's and ``epochs``' doing, not the
        wrapper's: scikit-learn's minimum-score checks do not apply."""
        for part in (tags.classifier_tags, tags.regressor_tags):
            if part is not None:
                part.poor_score = True
        return tags


def _full_metric_name(key):
    """``history_``'s key for a metric as scikeras stores it: Keras's full name (``mae`` is
    ``mean_absolute_error``), with ``val_`` kept; other keys as they are."""
    from ..._tensorflow import keras  # called after a fit: Keras is imported

    prefix, name = ("val_", key[4:]) if key.startswith("val_") else ("", key)
    if name == "loss" or not name.isidentifier():
        return key
    try:
        metric = keras.metrics.get(name)
    except (ValueError, TypeError):  # a custom metric's own name
        return key
    if isinstance(metric, type):
        return key
    full = getattr(metric, "name", None) or getattr(metric, "__name__", None)
    return prefix + full if isinstance(full, str) else key


def _one_epoch_only(kwargs):
    for name in ("epochs", "initial_epoch"):
        if name in kwargs:
            raise TypeError(
                f"partial_fit trains exactly one epoch and does not take {name!r}; use "
                "fit with warm_start=True for several."
            )


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
    if is_keras_model(value):
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
