"""BaseKerasEstimator: what every keraskit estimator shares.

Parameter validation (``_parameter_constraints`` through sklearn's ``_fit_context``), data
validation (``validate_data``), the fit orchestration on the shared training engine, the fast
predict path, persistence and tags. TensorFlow is imported lazily, on the first fit or predict,
so that importing keraskit or building estimators costs nothing.
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context, is_classifier
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._engine.devices import DISTRIBUTIONS, MIXED_PRECISIONS
from .._engine.optimizers import FULL_BATCH_SOLVERS, OPTIMIZERS, SOLVERS, TRAITS
from .._engine.records import FitConfig, FitData, FitPlan, Progress, Resume, TrainSpec
from .._engine.schedules import SCHEDULES, effective_schedule
from .._io.keras_bytes import model_from_bytes, model_to_bytes, model_weights
from .._io.registry import register_records
from .._networks import specs
from . import _adoption, _validation_set
from ._persistence import PersistenceMixin
from ._sk_callbacks import SILENT, CallbackSupportMixin, FitTasks, with_callbacks
from ._state import Runtime, atomic_fit

_STOCHASTIC_ONLY = (
    "loss_curve_",
    "best_loss_",
    "validation_scores_",
    "best_validation_score_",
    "validation_loss_curve_",
)

# the records a saved estimator's state may hold (keraskit files name them by class)
register_records(
    specs.MLPSpec,
    specs.CNNSpec,
    specs.AutoencoderSpec,
    specs.ConvAutoencoderSpec,
    Progress,
    Resume,
    TrainSpec,
)


class BaseKerasEstimator(PersistenceMixin, CallbackSupportMixin, BaseEstimator):
    """Base class of keraskit estimators; not meant to be used directly.

    Subclasses provide ``_head`` (target handling), ``_check_architecture`` (their
    architecture parameters, checked), ``_arch_spec`` (the architecture as a spec of
    ``keraskit._networks.specs``), ``_random_settings`` when they add random layers, and
    declare their parameters in ``__init__``. The base class reads only the parameters all
    estimators share.
    """

    _parameter_constraints: dict = {
        "solver": [StrOptions(set(SOLVERS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions(set(SCHEDULES))],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "progress_bar": ["boolean"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_normalization": ["boolean"],
        "callbacks": [list, tuple, None],
        "mixed_precision": ["boolean", StrOptions(set(MIXED_PRECISIONS))],
        "distribution": [StrOptions(set(DISTRIBUTIONS)), None],
    }

    # ----------------------------------------------------------------- fitting
    @with_callbacks
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        """Fit the network to data ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. float32 input trains a float32 network, anything else float64.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values (class labels for classifiers).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights; the loss is their weighted average.
        X_val : array-like of shape (n_val_samples, n_features), default=None
            A fixed validation set (with ``y_val``), as in scikit-learn's
            ``HistGradientBoosting*``: it replaces the ``validation_fraction`` split, so the
            network trains on all of ``X``. Early stopping and ``validation_scores_`` use it,
            and its loss is recorded every epoch (``validation_loss_curve_``), with or
            without early stopping. Stochastic solvers only. In a ``Pipeline``,
            ``Pipeline(..., transform_input=["X_val"])`` transforms it as ``X``.
        y_val : array-like of shape (n_val_samples,) or (n_val_samples, n_outputs), \
                default=None
            Targets of ``X_val`` (classes among those of ``y``).
        sample_weight_val : array-like of shape (n_val_samples,), default=None
            Weights of the validation samples (in the validation loss and score).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        validation = _validation_set.from_fit_arguments(X_val, y_val, sample_weight_val)
        return self._fit(X, y, sample_weight, validation=validation)

    def _fit(self, X, y, sample_weight, incremental=False, prepare=None, validation=None):
        """Fit atomically: a failed call leaves a fitted estimator exactly as it was."""
        # opened outside the atomic section: a failed fit must keep the context that
        # scikit-learn tears the callbacks down with
        tasks = FitTasks.open(self, X, y, sample_weight, 1 if incremental else self.max_iter)
        with atomic_fit(self):
            if prepare is not None:
                prepare()
            outcome = None
            if not incremental and not hasattr(self, "_weights"):
                outcome = _adoption.find(self, X, y, sample_weight, validation)
            if outcome is not None:  # trained already, by a fused search
                _adoption.adopt(self, outcome)
            else:
                self._fit_unsafe(X, y, sample_weight, incremental, validation, tasks)
        tasks.end()
        return self

    def _fit_unsafe(self, X, y, sample_weight, incremental, validation=None, tasks=SILENT):
        # the engine imports TensorFlow: it is loaded on the first fit, not with keraskit
        from .._engine import cache, lbfgs, lone, population

        plan = self._plan(X, y, sample_weight, incremental, validation)
        if tasks.listening:  # (the shared silent hooks must not keep this fit's data)
            tasks.fitted_attributes = self._fitted_at_epoch(plan)
        if not incremental and population.lone_on_stack(plan):  # no trace for a new width
            weights, n_iter = population.train_alone(plan, tasks)
            self._set_fitted(plan, weights, n_iter)
            return self
        with cache.trainer_for_fit(plan.arch, plan.train_spec, plan.distribution) as trainer:
            if self.solver in FULL_BATCH_SOLVERS:
                weights, n_iter, loss = lbfgs.train_lbfgs(
                    trainer,
                    plan.weights,
                    plan.data,
                    plan.cfg,
                    plan.progress,
                    plan.callbacks,
                    tasks,
                )
                self._set_fitted(plan, weights, n_iter, lbfgs_loss=loss)
                return self
            weights, n_iter = lone.train(
                trainer,
                plan.weights,
                plan.data,
                plan.cfg,
                plan.progress,
                plan.resume,
                plan.score_fn,
                plan.callbacks,
                plan.rng,
                tasks,
            )
        self._set_fitted(plan, weights, n_iter)
        return self

    @staticmethod
    def _fitted_at_epoch(plan):
        """``(n_iter, weights) -> attributes`` that make a copy the network of an epoch."""
        return lambda n_iter, weights: {
            "_weights": weights,
            "_arch": plan.arch,
            "_runtime": Runtime(),
            "n_iter_": n_iter,
            "n_outputs_": plan.arch.n_outputs,
            "t_": plan.progress.t,
            "loss_": plan.progress.history[-1]["loss"] if plan.progress.history else np.nan,
            "loss_curve_": list(plan.progress.loss_curve),
        }

    # ------------------------------------------- the contract with fused searches
    def can_fuse(self):
        """Whether a fit of this estimator may train as a member of a fused group.

        A cheap look at the parameters, made before any planning: a stochastic solver, no
        Keras callbacks (they need a model of their own), no output per epoch and no
        distribution strategy, and an architecture the stacked trainer computes.

        Returns
        -------
        fusable : bool
        """
        return (
            self.solver not in FULL_BATCH_SOLVERS
            and not self.callbacks
            and not self.verbose
            and not self.progress_bar
            and self.distribution is None
            and self._stackable()
        )

    def _stackable(self):
        """Whether the architecture is one the stacked trainer computes (subclasses say)."""
        return False

    def plan_fit(self, X, y=None, sample_weight=None, *, X_val=None, y_val=None,
                 sample_weight_val=None):  # fmt: skip
        """Do everything ``fit`` does before training, and return it as a plan.

        The parameters are validated, then the data, the targets' encoding, the
        architecture, the initial weights drawn from ``random_state``, the validation split
        and the loop settings, in the order and from the random stream ``fit`` uses. A
        fused search plans its fits this way, trains the plans together and gives each
        result back with :meth:`fit_from_plan`. The estimator itself is left unfitted.

        Parameters
        ----------
        X, y, sample_weight, X_val, y_val, sample_weight_val
            As in :meth:`fit`.

        Returns
        -------
        plan : keraskit._engine.records.FitPlan
            What the training engine needs to train the network.
        """
        self._validate_params()
        validation = _validation_set.from_fit_arguments(
            X_val, y_val, sample_weight_val, self._head.supervised
        )
        return self._plan(X, y, sample_weight, validation=validation)

    def fit_from_plan(self, plan, weights, n_iter):
        """Become the estimator fitted by ``plan``, trained elsewhere to ``weights``.

        Parameters
        ----------
        plan : keraskit._engine.records.FitPlan
            A plan of :meth:`plan_fit`, whose bookkeeping the training updated.
        weights : tuple of (list of ndarray, list of ndarray)
            The trained weights.
        n_iter : int
            Epochs run.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._set_fitted(plan, weights, n_iter)
        return self

    def _plan(self, X, y, sample_weight, incremental=False, validation=None):
        """Everything a fit does before training, in order, as a ``FitPlan``."""
        # the engine imports TensorFlow (see _fit_unsafe)
        from .._engine import cache, template

        architecture = self._check_architecture()
        self._check_solver_options(incremental)
        first = not hasattr(self, "_weights") or not (self.warm_start or incremental)
        X, y = self._validate_fit_data(X, y, first)
        if not first and X.dtype != np.dtype(self._arch.dtype):
            X = X.astype(self._arch.dtype)  # continue in the network's dtype, as sklearn does
        Y = self._head.prepare(self, y, first, incremental)
        sw = self._fit_sample_weight(sample_weight, X, y)
        arch = self._network_spec(X, Y, first, architecture)
        rng = check_random_state(self.random_state)
        if first:
            shared = cache.get_template(arch, self.distribution)
            weights = template.initial_weights(shared, rng, self._init_factor())
            progress, resume = self._fresh_bookkeeping()
        else:
            weights, progress, resume = self._warm_state(arch, incremental)
        callbacks = [copy.deepcopy(cb) for cb in self.callbacks or ()]
        score_fn = None
        if validation is not None:
            data = FitData(X, Y, sw, *_validation_set.prepare(self, validation, X, Y))
        elif self.solver in FULL_BATCH_SOLVERS:
            data = FitData(X, Y, sw)
        else:
            data = self._split(X, Y, sw, rng)
        if data.X_val is not None:
            score_fn = self._head.score_fn(self, data.Y_val, data.sw_val)
        cfg = self._fit_config(data.n_train, incremental)
        return FitPlan(
            arch,
            self._train_spec(),
            weights,
            progress,
            resume,
            data,
            cfg,
            score_fn,
            callbacks,
            rng,
            self.distribution,
        )

    def _network_spec(self, X, Y, first, architecture):
        """The architecture spec of this fit: the subclass's spec in the right precision."""
        # the engine imports TensorFlow (see _fit_unsafe)
        from .._engine.distribute import resolve_precision

        if not first and self.mixed_precision is True:  # continue as resolved then (GPU or not)
            precision = self._arch.mixed_precision
        else:
            precision = resolve_precision(self.mixed_precision)
        # mixed precision keeps float32 weights and outputs, whatever the input's dtype
        dtype = "float32" if X.dtype == np.float32 or precision else "float64"
        arch = self._arch_spec(X, Y.shape[1], dtype, architecture)
        if precision is not None:
            arch = dataclasses.replace(arch, mixed_precision=precision)
        return arch

    def _validate_fit_data(self, X, y, reset):
        """Validate ``X`` and ``y`` for fitting (2-D or sparse ``X`` by default; a small
        sparse ``X`` is densified, see ``_engine.data.SMALL_SPARSE``)."""
        # a fit is starting: TensorFlow is imported for it (data.py imports it)
        from .._engine.data import densified_if_small

        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            accept_sparse=["csr", "csc"],
            dtype=(np.float64, np.float32),
            multi_output=True,
            y_numeric=not is_classifier(self),
        )
        return densified_if_small(X.tocsr() if sp.issparse(X) else X), y

    def _validate_predict_data(self, X):
        """Validate ``X`` for inference against what ``fit`` saw."""
        if self._plain_rows(X):
            return X
        return validate_data(
            self, X, reset=False, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32)
        )

    def _plain_rows(self, X, limit=4096):
        """Whether ``X`` is a small float ndarray that ``validate_data`` would return as is.

        Checking a handful of rows costs sklearn's ``validate_data`` about 0.1 ms (mostly
        looking for dataframes), more than the forward pass; such input skips it. Anything
        else (other types, dtypes or widths, non-finite values, fitted feature names) takes
        the full validation and gets its error messages and warnings.
        """
        return (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype in (np.float32, np.float64)
            and 0 < X.shape[0] <= limit
            and X.shape[1] == getattr(self, "n_features_in_", -1)
            and not hasattr(self, "feature_names_in_")
            and bool(np.isfinite(X).all())
        )

    def _init_factor(self):
        """sklearn's initialisation scale: 2 for logistic activations, else 6 (Glorot)."""
        return 2.0 if self.activation == "logistic" else 6.0

    def _hidden_sizes(self):
        """``hidden_layer_sizes`` as a tuple of ints, with sklearn's error for sizes <= 0."""
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if any(not isinstance(s, Integral) or s <= 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return tuple(int(s) for s in sizes)

    def _check_stochastic(self):
        if self.solver not in OPTIMIZERS:
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic."
            )
        return True

    def _uses_validation(self):
        return self.early_stopping and self.solver in OPTIMIZERS

    def _random_settings(self):
        """``{parameter: value}`` of the settings that make training random.

        Subclasses add their own (input noise, augmentation); the base class never names a
        subclass's parameter.
        """
        return {"dropout": self.dropout}

    def _check_solver_options(self, incremental):
        """Refuse what ``partial_fit`` and full-batch L-BFGS cannot do, before any work."""
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        if self.solver not in FULL_BATCH_SOLVERS:
            return
        for name in ("mixed_precision", "distribution"):
            value = getattr(self, name)
            if value not in (False, None):
                raise ValueError(
                    f"{name}={value!r} is not available with solver='lbfgs' (full-batch "
                    "L-BFGS needs exact float32/float64 gradients on one device); use a "
                    f"stochastic solver ('adam', 'sgd', ...) or {name}="
                    f"{'False' if name == 'mixed_precision' else 'None'}."
                )
        settings = {**self._random_settings(), "batch_normalization": self.batch_normalization}
        used = {k: v for k, v in settings.items() if v not in (0, 0.0, None, False, "auto")}
        if used:
            name, value = next(iter(used.items()))
            raise ValueError(
                f"{name}={value!r} makes the objective random or batch-dependent, which "
                "L-BFGS cannot minimise; turn it off with solver='lbfgs' or use a "
                "stochastic solver ('adam', 'sgd', ...)."
            )

    def _fit_sample_weight(self, sample_weight, X, y):
        if sample_weight is None:
            sw = np.ones(X.shape[0])
        else:
            sw = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True, copy=True
            )
        return sw

    def _train_spec(self):
        decay = self.alpha if TRAITS[self.solver].decoupled_weight_decay else 0.0
        return TrainSpec(
            loss=self._head.loss_name(self),
            solver=self.solver,
            momentum=float(self.momentum),
            nesterov=bool(self.nesterovs_momentum),
            beta_1=float(self.beta_1),
            beta_2=float(self.beta_2),
            epsilon=float(self.epsilon),
            weight_decay=float(decay),
        )

    def _warm_state(self, arch, incremental):
        if arch != self._arch:
            raise ValueError(
                "warm_start needs the same network as the previous fit: got "
                f"{arch}, previously {self._arch}. Set warm_start=False to start anew."
            )
        progress, resume = copy.deepcopy(self._progress), copy.copy(self._resume)
        if not incremental:  # a new fit gets a new optimizer, as in sklearn
            progress.learning_rate = self.learning_rate_init
            resume.optimizer_state = None
        if progress.early_stopping != self._uses_validation():
            progress, resume = self._fresh_bookkeeping()
        return self._weights, progress, resume

    def _fresh_bookkeeping(self):
        """``(Progress, Resume)`` of a fit that starts afresh."""
        return Progress(self._uses_validation(), self.learning_rate_init), Resume()

    def _split(self, X, Y, sw, rng):
        if not self._uses_validation():
            return FitData(X, Y, sw)
        stratify = self._head.stratify(self, Y)
        # split row indices, not the data: the same partition as splitting X itself, without
        # copying X (the training rows are gathered batch by batch)
        train, val = train_test_split(
            np.arange(X.shape[0]),
            random_state=rng,
            test_size=self.validation_fraction,
            stratify=stratify,
        )
        if len(val) < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        return FitData(X, Y, sw, X[val], Y[val], sw[val], rows=train, val_rows=val)

    def _fit_config(self, n_samples, incremental):
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is going "
                    "to be clipped",
                    stacklevel=4,
                )
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        return FitConfig(
            max_iter=self.max_iter,
            batch_size=batch_size,
            shuffle=self.shuffle,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            learning_rate_init=self.learning_rate_init,
            lr_schedule=effective_schedule(self.learning_rate, self.solver),
            power_t=self.power_t,
            alpha=0.0 if TRAITS[self.solver].decoupled_weight_decay else self.alpha,
            l1=self.l1,
            smoothing=self._head.smoothing(self),
            verbose=int(self.verbose),
            progress_bar=bool(self.progress_bar),
            incremental=incremental,
            max_fun=self.max_fun,
        )

    def _set_fitted(self, plan, weights, n_iter, lbfgs_loss=None):
        arch, progress = plan.arch, plan.progress
        self._arch = arch
        self._weights = weights
        self._progress, self._resume = progress, plan.resume
        self._runtime = Runtime()
        self.n_iter_ = n_iter
        self.n_outputs_ = arch.n_outputs
        self.t_ = progress.t
        if lbfgs_loss is not None:
            # as in sklearn, the stochastic solvers' bookkeeping does not exist for lbfgs
            for name in _STOCHASTIC_ONLY:
                self.__dict__.pop(name, None)
            self.loss_ = lbfgs_loss
        else:
            self.loss_curve_ = list(progress.loss_curve)
            self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else np.nan
            self.best_loss_ = progress.best_loss
            scores = progress.validation_scores
            self.validation_scores_ = None if scores is None else list(scores)
            self.best_validation_score_ = progress.best_validation_score
            self.validation_loss_curve_ = _validation_losses(progress.history)
        self.history_ = pd.DataFrame(progress.history)
        self.history_.index = pd.RangeIndex(1, len(self.history_) + 1, name="epoch")

    # -------------------------------------------------------------- inference
    def _weight_tensors(self):
        rt = self._runtime
        if rt.tensors is None:
            # only large inputs need weight tensors; TensorFlow runs for them already
            from .._tensorflow import tf

            rt.tensors = tuple([tf.constant(a) for a in part] for part in self._weights)
        return rt.tensors

    def _forward(self, X, part="model"):
        """Network outputs for ``X`` (the fast, stateless predict path)."""
        check_is_fitted(self)
        return self._run(self._validate_predict_data(X), part)

    def _run(self, X, part="model"):
        """Network (or sub-network) outputs for already validated ``X``."""
        # the engine imports TensorFlow: loaded on the first predict, not with keraskit
        from .._engine.cache import get_template

        template = get_template(self._arch)
        out = template.predict(self._weights, self._weight_tensors, X, part=part)
        if not np.isfinite(out).all():
            warnings.warn(
                "The network produced non-finite outputs (NaN or infinity): its weights or "
                "the input values are too large. Scale the input or refit with a smaller "
                "learning_rate_init.",
                RuntimeWarning,
                stacklevel=3,
            )
        return out.astype(np.result_type(X.dtype, out.dtype), copy=False)

    @property
    def model_(self):
        """keras.Model: a Keras model holding the fitted weights (for inspection and export).

        Changing it does not change the estimator's predictions.
        """
        check_is_fitted(self)
        rt = self._runtime
        if rt.model is None:
            # Keras is imported on first use, not with keraskit
            from .._networks.builders import build

            model = build(self._arch)
            trainable, non_trainable = self._weights
            for v, a in zip(model.trainable_variables, trainable, strict=True):
                v.assign(a)
            for v, a in zip(model.non_trainable_variables, non_trainable, strict=True):
                v.assign(a)
            rt.model = model
        return rt.model

    # ------------------------------------------------------------ persistence
    def _upgrade_loaded_state(self):
        """Move what an older format kept in ``Progress`` (before format 3) to ``Resume``.

        Called on unpickling and by ``load_estimator`` for a file's state.
        """
        progress = self.__dict__.get("_progress")
        if progress is None or "_resume" in self.__dict__:
            return
        legacy = progress.__dict__
        self._resume = Resume(
            **{
                f: legacy.pop(f, None)
                for f in ("optimizer_state", "optimizer_spec", "best_weights")
            }
        )

    def _pack_network(self, state):
        if "_weights" in state:
            # the model travels as a .keras archive; the weight arrays travel too, because
            # the archive does not keep seed-generator states (dropout, noise, augmentation)
            state["_keras_bytes"] = model_to_bytes(self.model_)

    def _unpack_network(self, state):
        return state.pop("_keras_bytes", None), "_weights" in state

    def _restore_network(self, packed):
        data, had_weights = packed
        self._upgrade_loaded_state()
        if data is not None:
            model = model_from_bytes(data)
            if not had_weights:  # written before the arrays travelled too
                self._weights = model_weights(model)
            self._runtime.model = model

    def _attach_network(self, model, weights):
        """Take the network of a loaded file: ``model`` and its ``weights``, checked.

        Parameters
        ----------
        model : keras.Model
            The loaded model.
        weights : tuple of (list of ndarray, list of ndarray)
            Trainable and non-trainable weights (seed states included).

        Raises
        ------
        ValueError
            If the weights do not fit the architecture recorded in the file.
        """
        # the engine imports TensorFlow, which loading a network has started already
        from .._engine.cache import get_template

        template = get_template(self._arch)
        expected = [
            [tuple(v.shape) for v in part] for part in (template.trainable, template.non_trainable)
        ]
        if [[a.shape for a in part] for part in weights] != expected:
            raise ValueError(
                "the model's weights do not match the architecture recorded beside them "
                "(the file was altered)."
            )
        self._weights = weights
        self._runtime = Runtime()
        self._runtime.model = model


def _validation_losses(history):
    """Per-epoch validation losses (``nan`` for epochs without), or ``None`` if none had any."""
    if not any("val_loss" in row for row in history):
        return None
    return [row.get("val_loss", np.nan) for row in history]
