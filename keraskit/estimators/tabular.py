"""TabularClassifier and TabularRegressor: a DataFrame in, a pack of networks trained as one.

The frame is encoded inside the estimator (``keraskit._frames``: robust scaling with
smooth clipping, missing-value indicators, piecewise-linear numeric encodings, one-hot
categories). A pack of MLPs, each with its own initial weights, shuffling, held-out rows
and drawn learning rate, weight decay and dropout (TabPack's idea), trains as stacked
networks on keraskit's fused engine (one per input view: with and without the bins); each
member keeps the weights of its best validation epoch. The prediction is a blend of the
members chosen on held-out outputs.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    _check_y,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from .._engine.records import EpochHooks
from .._frames import FrameEncoding, encode, learn_encoding, plain_columns
from .._io.registry import register_estimator, register_records
from .._io.safe_file import save_estimator
from ._sk_callbacks import CallbackSupportMixin, FitTasks, with_callbacks
from ._state import atomic_fit
from .mlp import MLPClassifier, MLPRegressor

register_records(FrameEncoding)

#: Members of the default pack on a CPU and on a GPU (a GPU computes a wider stack at the
#: cost of a narrow one).
PACK_SIZES = {"CPU": 8, "GPU": 32}


class _PackHooks(EpochHooks):
    """The pack's epochs, told once each: scikit-learn's callbacks, the bar, the time budget.

    Every member calls the hooks at its own epoch's end; the first call for an epoch
    speaks for the pack (the callbacks' epoch task is opened and closed then). A stop asked
    at epoch ``n`` stops every member at the end of its epoch ``n``: groups that train in
    other threads may lag, and still end where the first one did.
    """

    def __init__(self, tasks, deadline, bar):
        self.tasks, self.deadline, self.bar = tasks, deadline, bar
        self.epoch, self.stop_at = 0, None
        self.lock = threading.Lock()

    def end_epoch(self, n_iter, weights):
        with self.lock:
            if n_iter > self.epoch:
                self.epoch = n_iter
                self.tasks.begin_epoch()
                if self.tasks.end_epoch(n_iter, None) and self.stop_at is None:
                    self.stop_at = n_iter
                if self.bar is not None:
                    self.bar.update({})
            late = self.deadline is not None and time.monotonic() > self.deadline
            if late and self.stop_at is None:
                self.stop_at = n_iter
            return self.stop_at is not None and n_iter >= self.stop_at


_PARAMS = """\
    pack_size : int or 'auto', default='auto'
        Members of the pack. ``'auto'``: 8 on a CPU, 32 when TensorFlow sees a GPU (a
        GPU computes a wider stack at about the cost of a narrow one).
    width : int, default=128
        Units of each hidden layer of every member.
    depth : int, default=2
        Hidden layers of every member.
    max_epochs : int, default=200
        Most epochs a member trains; each stops earlier once its validation loss has not
        improved for ``n_iter_no_change`` epochs, and keeps its best epoch's weights.
    time_budget : float or None, default=None
        Seconds of training after which the whole pack stops at the end of an epoch
        (every member keeping its best epoch so far). ``None``: no limit.
    n_bins : int, default=16
        Most piecewise-linear bins per numeric column (quantiles of the training rows);
        0 or 1 turns the encoding off. Half of the pack sees the bins, half does not, and
        the blend weighs the two.
    batch_size : int or 'auto', default='auto'
        Rows per step; ``'auto'``: 128, 256 above 8,192 training rows, 512 above 16,384.
    validation_fraction : float, default=0.2
        Share of the rows each member holds out (its own draw, stratified for
        classifiers) to choose its best epoch, so that the pack as a whole learns from
        every row. With ``X_val``/``y_val`` in ``fit`` every member trains on all of ``X``
        and is judged on them instead.
    n_iter_no_change : int, default=16
        Epochs without a better validation loss after which a member stops.
    blend : {'greedy', 'mean'}, default='greedy'
        How members combine. ``'greedy'``: choices made on validation outputs by adding
        one at a time, with replacement, while the loss falls (Caruana et al., 2004); on
        held-out rows, the two halves' shares (with and without bins, each the mean of its
        members) are chosen on out-of-fold outputs; with ``X_val``, single members are
        chosen on it. ``'mean'``: every member weighs the same (TabM's way).
"""

_COMMON_TAIL = """\
    random_state : int, RandomState instance or None, default=None
        Seeds the validation split and every member's initial weights, shuffling and
        drawn settings: an int gives the same pack bit for bit.
    progress_bar : bool, default=False
        A live bar over the pack's epochs (rich).
"""

_ATTRIBUTES = """\
    n_iter_ : int
        Epochs the longest-training member ran.
    history_ : pandas.DataFrame
        Per epoch (the index, from 1), the mean ``loss`` and ``val_loss`` of the members
        still training.
    pack_ : list of dict
        Per member, in order: its drawn ``learning_rate_init``, ``alpha`` and
        ``dropout``, its ``random_state``, ``n_iter``, ``best_epoch``, best
        ``validation_loss``, its ``blend_weight`` (0 for members the blend left out) and
        whether it saw the piecewise-linear ``bins``. ``pd.DataFrame(est.pack_)`` shows
        the pack.
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen in ``fit``, when ``X`` had string column names.
"""

_SEE_ALSO = """\
    Every member is a :class:`keraskit.MLPRegressor`/:class:`keraskit.MLPClassifier`
    network (ReLU, Adam, L2 ``alpha``, dropout), trained with the others as one stacked
    network on keraskit's fused engine. Members draw their learning rate (log-uniform,
    5e-4 to 3e-3), weight decay (log-uniform, 1e-5 to 1e-3) and dropout (0 to 0.25).
    Columns are read by dtype: numbers (nullable ``Int64``, ``Float64`` and ``boolean``
    included) are scaled by median and interquartile range, smoothly clipped, given a
    missing-value indicator where training had missing values, and encoded piecewise
    linearly over quantile bins; ``object``, ``string`` and ``category`` columns are
    one-hot encoded over values seen at least twice (at most 64), with missing values a
    category of their own, and rare or unseen values all zeros. An array is read as
    numbers. Dates and durations are refused: turn them into numbers first.
"""


def _validation_loss(Y, sw, classifier):
    """``outputs -> loss`` on the validation rows: log loss, or the squared error."""
    Y = np.asarray(Y, dtype=np.float64).reshape(len(Y), -1)
    if sw is not None and not np.sum(sw) > 0:
        sw = None

    def log_loss(out):
        p = np.clip(np.asarray(out, dtype=np.float64), 1e-7, 1 - 1e-7)
        if Y.shape[1] == 1:
            losses = -(Y * np.log(p) + (1 - Y) * np.log1p(-p))[:, 0]
        else:
            losses = -(Y * np.log(p)).sum(axis=1)
        return float(np.average(losses, weights=sw))

    def squared(out):
        return float(np.average(((np.asarray(out) - Y) ** 2).sum(axis=1), weights=sw))

    return log_loss if classifier else squared


def _default_pack_size():
    """The device's default pack: see :data:`PACK_SIZES`."""
    from .._tensorflow import tf  # a fit imports TensorFlow, building an estimator does not

    return PACK_SIZES["GPU" if tf.config.list_logical_devices("GPU") else "CPU"]


def _batch_size(n_train):
    """Rows per step: 128 up to 8,192 training rows, 256 up to 16,384, then 512."""
    return int(min(n_train, 512 if n_train > 16384 else 256 if n_train > 8192 else 128))


class _BaseTabular(CallbackSupportMixin, BaseEstimator):
    """Parameters, data handling, the pack's training and its blend (shared)."""

    _parameter_constraints: dict = {
        "pack_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "width": [Interval(Integral, 1, None, closed="left")],
        "depth": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "time_budget": [Interval(Real, 0, None, closed="neither"), None],
        "n_bins": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "blend": [StrOptions({"greedy", "mean"})],
        "random_state": ["random_state"],
        "progress_bar": ["boolean"],
    }

    #: Ranges the members' settings are drawn from (log-uniform rates and decays).
    _learning_rates = (5e-4, 3e-3)
    _alphas = (1e-5, 1e-3)
    _dropouts = (0.0, 0.25)

    # ----------------------------------------------------------------- fitting
    @with_callbacks
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        """Fit the pack to the frame ``X`` and targets ``y``.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Training rows: numeric, nullable (``Int64``, ``Float64``, ``boolean``),
            string, object and category columns, missing values anywhere. An array is read
            as numbers.
        y : array-like of shape (n_samples,) (or (n_samples, n_outputs) in regression)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the members' losses and in the validation loss.
        X_val, y_val : default=None
            A validation set for best-epoch selection and the blend, replacing the split
            of ``validation_fraction`` of ``X`` (the pack then trains on all of ``X``).
        sample_weight_val : array-like of shape (n_val_samples,), default=None
            Weights of the validation rows.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        tasks = FitTasks.open(self, X, y, sample_weight, self.max_epochs)
        with atomic_fit(self):
            self._fit_pack(X, y, sample_weight, (X_val, y_val, sample_weight_val), tasks)
        tasks.end()
        return self

    def _fit_pack(self, X, y, sample_weight, validation, tasks):
        """Validate, encode, train the pack and blend it."""
        X, y, sw = self._check_fit_data(X, y, sample_weight)
        rng = check_random_state(self.random_state)
        shared = self._user_validation(validation)
        encoding = learn_encoding(X, n_bins=self.n_bins)
        views = _views(encoding)
        E = _encoded(encoding, X)
        inputs = [_take(E, columns) for columns in views]  # one copy per view
        t, t_v = self._targets(y, None if shared is None else shared[1])
        if shared is None:  # each member holds out its own rows (out of fold for the blend)
            n_train = len(t) - int(np.ceil(self.validation_fraction * len(t)))
            fit_kw = [{}] * len(views)
        else:
            n_train = len(t)
            E_v = _encoded(encoding, shared[0])
            sw_v = self._validation_weights(y, shared[1], shared[2])
            fit_kw = [{"X_val": _take(E_v, columns), "y_val": t_v,
                       "sample_weight_val": sw_v} for columns in views]  # fmt: skip
        members = self._members(rng, max(n_train, 1))

        def plan(i):  # a member's plan (again, fresh, if its group fails as a whole)
            v = i % len(views)
            return self._scored(members[i].plan_fit(inputs[v], t, sw, **fit_kw[v]))

        plans = [plan(i) for i in range(len(members))]
        results = self._train(plans, tasks, plan)
        ok = [i for i, r in enumerate(results) if r.error is None]
        if not ok:
            raise results[0].error
        _warn_once(results)
        stacks = _stacks(views, plans, results, ok)
        if shared is None:
            weights = self._blend_out_of_fold(stacks, E, plans)
        else:
            weights = self._blend_on(stacks, E_v, plans[0].data)
        self._set_pack(encoding, stacks, weights, members, plans, results)
        return self

    def _user_validation(self, validation):
        """The user's validation set, validated, or ``None``."""
        X_val, y_val, sw_val = validation
        if X_val is None and y_val is None:
            if sw_val is not None:
                raise ValueError("sample_weight_val is given without X_val and y_val.")
            return None
        if X_val is None or y_val is None:
            raise ValueError("X_val and y_val must be given together.")
        X_val = self._check_X(X_val, reset=False)
        y_val = _check_y(y_val, multi_output=not self._classifier)
        check_consistent_length(X_val, y_val)
        sw_val = None if sw_val is None else _check_sample_weight(sw_val, X_val)
        return X_val, y_val, sw_val

    def _scored(self, plan):
        """The plan with its validation loss (log loss, squared error) as its score."""
        data = plan.data
        loss = _validation_loss(data.Y_val, data.sw_val, self._classifier)
        return dataclasses.replace(plan, score_fn=lambda out: -loss(out))

    def _blend_on(self, stacks, E_v, data):
        """Member weights chosen on a validation set every member saw."""
        from .._engine import packs  # imports TensorFlow (loaded by the fit already)

        outputs = np.concatenate([
            packs.pack_forward(arch, kernels, biases, _take(E_v, columns))
            for columns, arch, kernels, biases, _ in stacks
        ])  # fmt: skip
        if self.blend == "mean":
            return np.full(len(outputs), 1.0 / len(outputs))
        return packs.greedy_blend(
            outputs, _validation_loss(data.Y_val, data.sw_val, self._classifier)
        )

    def _blend_out_of_fold(self, stacks, E, plans):
        """Member weights from out-of-fold outputs: each half (with and without bins) is
        the mean of its members, and the halves' shares are chosen greedily (in tenths) on
        the rows both halves hold out somewhere."""
        from .._engine import packs  # imports TensorFlow (loaded by the fit already)

        sizes = [kernels[0].shape[0] for _, _, kernels, _, _ in stacks]
        if self.blend == "mean":
            return np.full(sum(sizes), 1.0 / sum(sizes))
        shares = np.ones(len(stacks)) / len(stacks)
        if len(stacks) > 1:
            folds = [_out_of_fold(packs, stack, E, plans) for stack in stacks]
            both = np.logical_and.reduce([covered for _, covered in folds])
            if both.any():
                data = plans[0].data
                Y = np.asarray(data.Y, dtype=np.float64).reshape(len(data.Y), -1)[both]
                loss = _validation_loss(Y, data.sw[both], self._classifier)
                outputs = np.stack([out[both] for out, _ in folds])
                shares = packs.greedy_blend(outputs, loss, max_rounds=10)
        return np.concatenate(
            [np.full(n, share / n) for n, share in zip(sizes, shares, strict=True)]
        )

    def _set_pack(self, encoding, stacks, weights, members, plans, results):
        """The fitted attributes: the encoding, the blended members' stacked weights, the
        pack's record."""
        self._encoding, self._packs = encoding, []
        order = [i for *_, index in stacks for i in index]
        at = 0
        for columns, arch, kernels, biases, index in stacks:
            w = weights[at : at + len(index)]
            at += len(index)
            chosen = np.flatnonzero(w > 0)
            if len(chosen):
                self._packs.append({
                    "columns": columns, "arch": arch, "blend": w[chosen],
                    "kernels": [k[chosen] for k in kernels],
                    "biases": [b[chosen] for b in biases],
                })  # fmt: skip
        by_member = dict(zip(order, weights, strict=True))
        self.pack_ = [self._member_record(members[i], plans[i], results[i], by_member[i])
                      for i in sorted(by_member)]  # fmt: skip
        binned = len(encoding.bin_columns) > 0
        for i, record in zip(sorted(by_member), self.pack_, strict=True):
            record["bins"] = binned and plans[i].arch.n_features == encoding.n_features_out
        self.n_iter_ = max(results[i].n_iter for i in order)
        self.history_ = _pack_history([plans[i].progress.history for i in order])

    def _members(self, rng, n_train):
        """The pack's members, unfitted: each its seed and its drawn settings."""
        size = _default_pack_size() if self.pack_size == "auto" else self.pack_size
        batch = _batch_size(n_train) if self.batch_size == "auto" else self.batch_size
        (lr0, lr1), (a0, a1), (d0, d1) = self._learning_rates, self._alphas, self._dropouts
        members = []
        for _ in range(size):
            settings = {
                "learning_rate_init": float(np.exp(rng.uniform(np.log(lr0), np.log(lr1)))),
                "alpha": float(np.exp(rng.uniform(np.log(a0), np.log(a1)))),
                "dropout": float(rng.uniform(d0, d1)),
                "random_state": int(rng.randint(np.iinfo(np.int32).max)),
            }
            members.append(self._member(batch, settings))
        return members

    def _member(self, batch_size, settings):
        """One member: an MLP with the pack's shape and its own settings."""
        return self._member_class(
            hidden_layer_sizes=(self.width,) * self.depth,
            batch_size=batch_size,
            max_iter=self.max_epochs,
            early_stopping=True,
            validation_fraction=self.validation_fraction,
            n_iter_no_change=self.n_iter_no_change,
            **self._member_params(),
            **settings,
        )

    def _member_params(self):
        return {}

    def _validation_weights(self, y_tr, y_v, sw_v):
        """The validation rows' weights (the classifier adds its class weights)."""
        return sw_v

    def _train(self, plans, tasks, replan):
        """Train the plans as one pack (stacked), or one by one where they cannot be
        (``replan(i)`` plans member ``i`` afresh: a failed group's plans were used)."""
        # the engine imports TensorFlow: on the first fit, not with keraskit
        from .._engine import population
        from .._engine.progress import ProgressBar

        deadline = None if self.time_budget is None else time.monotonic() + self.time_budget
        bar = ProgressBar(self.max_epochs, "pack epoch") if self.progress_bar else None
        hooks = _PackHooks(tasks, deadline, bar)
        try:
            stacked = all(population.stackable(p) for p in plans)
            results = (
                population.train_population(plans, hooks=hooks) if stacked else [None] * len(plans)
            )
            for i, result in enumerate(results):
                if result is None:  # too large for the stack (or its memory): one by one
                    if stacked:  # its failed group used (and changed) the plan
                        plans[i] = replan(i)
                    results[i] = population.train_one(plans[i], hooks)
        finally:
            if bar is not None:
                bar.close()
        return results

    @staticmethod
    def _member_record(member, plan, result, weight):
        scores = plan.progress.validation_scores or [np.nan]
        return {
            "learning_rate_init": member.learning_rate_init,
            "alpha": member.alpha,
            "dropout": member.dropout,
            "random_state": member.random_state,
            "n_iter": result.n_iter,
            "best_epoch": int(np.nanargmax(scores)) + 1 if np.isfinite(scores).any() else 0,
            "validation_loss": float(-np.nanmax(scores)) if np.isfinite(scores).any() else np.nan,
            "blend_weight": float(weight),
        }

    # ----------------------------------------------------------------- data
    def _check_fit_data(self, X, y, sample_weight):
        """Validated ``X`` (a frame stays a frame), ``y`` and sample weights."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X = self._check_X(X, reset=True)
        y = _check_y(y, multi_output=not self._classifier, y_numeric=not self._classifier)
        check_consistent_length(X, y)
        if self._classifier:
            self._check_labels(y)
        sw = None if sample_weight is None else _check_sample_weight(sample_weight, X)
        return X, y, sw

    def _check_X(self, X, reset):
        """A frame keeps its columns (names checked as scikit-learn checks them); anything
        else becomes a float array that may hold NaN."""
        if isinstance(X, pd.DataFrame):
            names = getattr(self, "feature_names_in_", None)
            if reset or names is None or X.columns.tolist() != names.tolist():
                # scikit-learn's checks and messages (the fast test above costs a
                # row's prediction microseconds, these a few hundred)
                validate_data(self, X, reset=reset, skip_check_array=True)
            _check_shape(X)
            return X
        return validate_data(
            self, X, reset=reset, dtype=np.float64, ensure_all_finite="allow-nan",
            ensure_min_samples=1 if not reset else 2,
        )  # fmt: skip

    # ----------------------------------------------------------------- predicting
    def _outputs(self, X):
        """The blended outputs of the pack on ``X``."""
        from .._engine import packs  # the first predict of a loaded estimator imports TF

        check_is_fitted(self, "n_iter_")
        X = self._check_X(X, reset=False)
        E = _encoded(self._encoding, X, dtype=np.dtype(self._packs[0]["arch"].dtype))
        total = 0.0
        for pack in self._packs:
            out = packs.pack_forward(
                pack["arch"], pack["kernels"], pack["biases"], _take(E, pack["columns"])
            )
            total = total + np.tensordot(pack["blend"].astype(out.dtype), out, axes=1)
        return total

    # ----------------------------------------------------------------- persistence
    def save(self, path):
        """Save the estimator to a file without pickle; read it back with :func:`keraskit.load`.

        Parameters
        ----------
        path : str or path-like
            Destination file (parameters as JSON, arrays in an ``.npz`` read without
            pickle).
        """
        save_estimator(self, path)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _views(encoding):
    """The encoded columns each half of the pack sees: all of them, and all but the
    piecewise-linear bins (``None``: every column). Members alternate between the two, and
    the blend takes whichever serves the frame; without bins there is one view."""
    plain = plain_columns(encoding)
    return [None] if len(plain) == encoding.n_features_out else [None, plain]


def _encoded(encoding, X, dtype=np.float32):
    """The encoded rows; infinities refused in scikit-learn's words (NaN is missing)."""
    E = encode(encoding, X, dtype=dtype)
    if not np.isfinite(E).all():
        raise ValueError("Input X contains infinity or a value too large for dtype('float64').")
    return E


def _take(E, columns):
    return E if columns is None else E[:, columns]


def _check_shape(X):
    """scikit-learn's errors for a frame without rows or columns."""
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(
            f"Found array with {X.shape[0]} sample(s) and {X.shape[1]} feature(s) "
            f"(shape={X.shape}) while a minimum of 1 is required."
        )


def _warn_once(results):
    """The members' warnings (a member of a group keeps its own), each message once."""
    seen = set()
    for result in results:
        for message, category in result.warnings:
            if message not in seen:
                seen.add(message)
                warnings.warn(message, category, stacklevel=5)


def _stacks(views, plans, results, ok):
    """Per view, the trained members' stacked dense weights:
    ``(columns, arch, kernels, biases, member indexes)``."""
    from .._engine import packs  # imports TensorFlow (loaded by the fit already)

    stacks = []
    for v, columns in enumerate(views):
        index = [i for i in ok if i % len(views) == v]
        if index:
            arch = plans[index[0]].arch
            kernels, biases = packs.stack_dense(arch, [results[i].weights for i in index])
            stacks.append((columns, arch, kernels, biases, index))
    return stacks


def _out_of_fold(packs, stack, E, plans):
    """A view's mean output on each row over the members that held the row out, and
    which rows some member held out."""
    columns, arch, kernels, biases, index = stack
    outputs = packs.pack_forward(arch, kernels, biases, _take(E, columns))
    total, count = np.zeros(outputs.shape[1:]), np.zeros(len(E))
    for j, i in enumerate(index):
        rows = plans[i].data.val_rows
        total[rows] += outputs[j][rows]
        count[rows] += 1
    return total / np.maximum(count, 1)[:, None], count > 0


def _pack_history(histories):
    """Per epoch, the mean training and validation losses of the members still training."""
    frames = [pd.DataFrame(h, columns=["loss", "val_loss"]) for h in histories]
    history = pd.concat(frames).groupby(level=0).mean()
    history.index = pd.RangeIndex(1, len(history) + 1, name="epoch")
    return history


@register_estimator
class TabularClassifier(ClassifierMixin, _BaseTabular):
    __doc__ = f"""A pack of MLPs for a DataFrame, trained as one network: a classifier.

    The DataFrame goes in as it is (numbers, nullable integers, strings, categories,
    missing values); the encoding is learned inside. Probabilities are the blend of the
    members' probabilities.

    Parameters
    ----------
{_PARAMS}    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes in the members' losses and in the validation loss.
{_COMMON_TAIL}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
{_ATTRIBUTES}
    Notes
    -----
{_SEE_ALSO}
    Examples
    --------
    >>> import pandas as pd
    >>> from keraskit import TabularClassifier
    >>> X = pd.DataFrame({{"age": [22, 35, None, 58] * 10,
    ...                   "city": ["Oslo", "Rome", "Oslo", None] * 10}})
    >>> y = [0, 1, 0, 1] * 10
    >>> clf = TabularClassifier(pack_size=2, max_epochs=5, random_state=0).fit(X, y)
    >>> clf.predict_proba(X.head(1)).shape
    (1, 2)
    """

    _classifier = True
    _member_class = MLPClassifier
    _parameter_constraints: dict = {
        **_BaseTabular._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        *,
        pack_size="auto",
        width=128,
        depth=2,
        max_epochs=200,
        time_budget=None,
        n_bins=16,
        batch_size="auto",
        validation_fraction=0.2,
        n_iter_no_change=16,
        blend="greedy",
        class_weight=None,
        random_state=None,
        progress_bar=False,
    ):
        for name, value in locals().items():
            if name != "self":
                setattr(self, name, value)

    def _member_params(self):
        return {"class_weight": self.class_weight}

    def _validation_weights(self, y_tr, y_v, sw_v):
        """Class weights count in the validation loss as in the members' training loss."""
        if self.class_weight is None:
            return sw_v
        weights = compute_class_weight(self.class_weight, classes=self.classes_, y=y_tr)
        by_class = dict(zip(self.classes_, weights, strict=True))
        w = np.array([by_class.get(label, 1.0) for label in y_v], dtype=np.float64)
        return w if sw_v is None else w * sw_v

    def _check_labels(self, y):
        check_classification_targets(y)  # (y is 1-D already: binary or multiclass)

    def _targets(self, y, y_v):
        self.classes_ = np.unique(y)
        return y, y_v

    def predict_proba(self, X):
        """Class probabilities: the blend of the members' probabilities.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Rows with the training frame's columns.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self, "n_iter_")
        out = self._outputs(X)
        if out.shape[1] == 1:
            out = np.hstack([1 - out, out])
        return out

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Rows with the training frame's columns.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "n_iter_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


@register_estimator
class TabularRegressor(RegressorMixin, _BaseTabular):
    __doc__ = f"""A pack of MLPs for a DataFrame, trained as one network: a regressor.

    The DataFrame goes in as it is (numbers, nullable integers, strings, categories,
    missing values); the encoding is learned inside, and the targets are standardized
    inside (predictions come back in their units). Predictions are the blend of the
    members' predictions.

    Parameters
    ----------
{_PARAMS}{_COMMON_TAIL}
    Attributes
    ----------
{_ATTRIBUTES}
    Notes
    -----
{_SEE_ALSO}
    Examples
    --------
    >>> import pandas as pd
    >>> from keraskit import TabularRegressor
    >>> X = pd.DataFrame({{"rooms": pd.array([2, 3, None, 5] * 10, dtype="Int64"),
    ...                   "area": ["north", "south", "north", "east"] * 10}})
    >>> y = [100.0, 150.0, 120.0, 240.0] * 10
    >>> reg = TabularRegressor(pack_size=2, max_epochs=5, random_state=0).fit(X, y)
    >>> reg.predict(X.head(2)).shape
    (2,)
    """

    _classifier = False
    _member_class = MLPRegressor

    def __init__(
        self,
        *,
        pack_size="auto",
        width=128,
        depth=2,
        max_epochs=200,
        time_budget=None,
        n_bins=16,
        batch_size="auto",
        validation_fraction=0.2,
        n_iter_no_change=16,
        blend="greedy",
        random_state=None,
        progress_bar=False,
    ):
        for name, value in locals().items():
            if name != "self":
                setattr(self, name, value)

    def _targets(self, y_tr, y_v):
        """Standardized targets (the members learn ``(y - mean) / scale``)."""
        y_tr = np.asarray(y_tr, dtype=np.float64)
        self._y_mean = y_tr.mean(axis=0)
        scale = y_tr.std(axis=0)
        self._y_scale = np.where(scale > 0, scale, 1.0)
        scaled = (y_tr - self._y_mean) / self._y_scale
        if y_v is None:
            return scaled, None
        return scaled, (np.asarray(y_v, dtype=np.float64) - self._y_mean) / self._y_scale

    def predict(self, X):
        """Predicted values: the blend of the members' predictions, in the targets' units.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Rows with the training frame's columns.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        out = self._outputs(X).astype(np.float64) * self._y_scale + self._y_mean
        return out[:, 0] if out.shape[1] == 1 else out  # as scikit-learn's MLPRegressor

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


__all__ = ["TabularClassifier", "TabularRegressor"]
