"""The training engine: compiled once per architecture, shared by every fit of that shape.

A grid search fits hundreds of networks of a few shapes. Building and tracing a fresh Keras
model per fit costs hundreds of milliseconds and leaves graphs behind, so keraskit keeps, per
architecture signature, one *template* Keras model whose variables are loaded with each fit's
weights, and per (architecture, optimizer) signature one compiled function that runs a whole
epoch inside the TensorFlow graph. Prediction is stateless (``Model.stateless_call``): the
weights of the fitted estimator are passed in, so predicting never touches the template and
never retraces. Everything that varies between fits of one shape (data, sample weights,
learning rate, ``alpha``, ``l1``, label smoothing, batch size) is a tensor argument.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field

import keras
import numpy as np
import scipy.sparse as sp
import tensorflow as tf
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import shuffle as sk_shuffle

from .._config import before_tensorflow
from ._builders import CODE_LAYER, OUTPUT_LAYER, build, split_autoencoder
from ._fastpath import numpy_forward

# importing TensorFlow does not start its runtime; the first operation does, and a worker's
# thread share must be in place before that
before_tensorflow()

#: How many compiled architectures (and trainers) the process keeps; least recently used go.
CACHE_SIZE = 32
#: Rows per call of the inference function; bounds memory on large inputs.
PREDICT_CHUNK = 16384
#: Dense training data up to this size is copied into the graph once per fit; larger data
#: is fed in chunks of whole batches, so that memory stays near the size of the data.
IN_GRAPH_BYTES = 256 << 20
#: Approximate size of one chunk of training rows fed to the epoch function.
CHUNK_BYTES = 32 << 20


@dataclass(frozen=True)
class TrainSpec:
    """Training signature: everything that is compiled into the epoch function.

    Parameters
    ----------
    loss : str
        One of ``LOSSES``.
    solver : str
        Optimizer name.
    momentum, nesterov, beta_1, beta_2, epsilon : float or bool
        Optimizer constants (only the ones the solver uses matter).
    weight_decay : float
        Decoupled weight decay (``adamw`` only).
    """

    loss: str
    solver: str
    momentum: float = 0.9
    nesterov: bool = True
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    weight_decay: float = 0.0


def compiled(fn, input_signature):
    """``tf.function(fn, input_signature)``, traced once per architecture by design.

    keraskit compiles one function per architecture (bounded by ``CACHE_SIZE``), so a grid
    search over layer sizes traces the same Python code for each new shape; TensorFlow's
    "N out of the last M calls triggered tf.function retracing" warning, meant for
    functions re-created in a loop by mistake, would fire on every such search.
    """
    function = tf.function(fn, input_signature=input_signature)
    function._omit_frequent_tracing_warning = True  # our own object; see the docstring
    return function


def _skip_together(grads):
    """Make every replica's gradients non-finite when any replica's are (in replica context).

    Keras' loss-scale optimizer decides from the first replica's gradients whether a step
    overflowed, assuming they were summed already; a device's share of a batch overflowing
    alone would otherwise reach the weights through the sum as infinities.
    """
    ctx = tf.distribute.get_replica_context()
    finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads if g is not None])
    bad = ctx.all_reduce(tf.distribute.ReduceOp.SUM, tf.cast(tf.logical_not(finite), tf.float32))
    return [
        None if g is None else tf.where(bad > 0, tf.constant(np.nan, g.dtype), g) for g in grads
    ]


def _per_sample_loss(name, y, z, smoothing):
    """Per-sample loss from logits ``z`` (sklearn's definitions, numerically stable)."""
    if name == "log_loss":
        k = tf.cast(tf.shape(y)[1], y.dtype)
        y = y * (1 - smoothing) + smoothing / k
        return -tf.reduce_sum(y * tf.nn.log_softmax(z), axis=1)
    if name == "binary_log_loss":
        y = y * (1 - smoothing) + smoothing / 2
        return tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(y, z), axis=1)
    if name == "squared_error":
        # sklearn's gradient (delta = prediction - y) is that of the sum over outputs; its
        # reported loss averages over outputs (Trainer.report_scale)
        return 0.5 * tf.reduce_sum(tf.square(y - z), axis=1)
    if name == "poisson":
        # half Poisson deviance with log link, constant term included as in sklearn
        return tf.reduce_sum(tf.exp(z) - y * z + tf.math.xlogy(y, y) - y, axis=1)
    if name == "absolute_error":
        return tf.reduce_mean(tf.abs(y - z), axis=1)
    if name == "huber":
        r = tf.abs(y - z)
        return tf.reduce_mean(tf.where(r <= 1.0, 0.5 * tf.square(r), r - 0.5), axis=1)
    raise ValueError(f"unknown loss {name!r}")


LOSSES = ("log_loss", "binary_log_loss", "squared_error", "poisson", "absolute_error", "huber")


def make_optimizer(spec):
    """Build the Keras optimizer of a training spec, learning rate held in a variable.

    Parameters
    ----------
    spec : TrainSpec
        The training signature.

    Returns
    -------
    optimizer : keras.optimizers.Optimizer or None
        An unbuilt optimizer; ``None`` for ``lbfgs`` (scipy does the optimisation).
    """
    o = keras.optimizers
    adam_args = dict(beta_1=spec.beta_1, beta_2=spec.beta_2, epsilon=spec.epsilon)
    makers = {
        "sgd": lambda: o.SGD(
            0.1, momentum=spec.momentum, nesterov=spec.nesterov and spec.momentum > 0
        ),
        "adam": lambda: o.Adam(0.1, **adam_args),
        "adamw": lambda: o.AdamW(0.1, weight_decay=spec.weight_decay, **adam_args),
        "nadam": lambda: o.Nadam(0.1, **adam_args),
        "rmsprop": lambda: o.RMSprop(0.1, epsilon=spec.epsilon),
        "adagrad": lambda: o.Adagrad(0.1, epsilon=spec.epsilon),
    }
    return None if spec.solver == "lbfgs" else makers[spec.solver]()


class VariableGroup:
    """Read and write many variables in one compiled call each (one flat tensor per dtype).

    Reading or assigning a variable from Python costs about 0.1 ms; a network with batch
    normalization and an Adam optimizer has dozens, read and written on every fit.

    Parameters
    ----------
    variables : list of keras.Variable
        The variables, in the order of the arrays given to :meth:`load`.
    """

    def __init__(self, variables):
        self.variables = list(variables)
        self.shapes = [tuple(v.shape) for v in self.variables]
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.dtypes = [tf.as_dtype(v.dtype) for v in self.variables]
        kinds = list(dict.fromkeys(self.dtypes))
        self.groups = [[i for i, d in enumerate(self.dtypes) if d == k] for k in kinds]
        specs = [tf.TensorSpec((None,), k) for k in kinds]
        self._load = compiled(self._load_impl, input_signature=specs)
        self._read = compiled(self._read_impl, input_signature=[])

    def _load_impl(self, *flats):
        for flat, members in zip(flats, self.groups, strict=True):
            offset = 0
            for i in members:
                size = self.sizes[i]
                self.variables[i].assign(tf.reshape(flat[offset : offset + size], self.shapes[i]))
                offset += size
        return tf.constant(0)

    def _read_impl(self):
        return [
            tf.concat([tf.reshape(self.variables[i], [-1]) for i in members], axis=0)
            for members in self.groups
        ]

    def load(self, arrays):
        """Assign ``arrays`` (one per variable, in order) to the variables."""
        if not self.variables:
            return
        for i, a in enumerate(arrays):
            if np.shape(a) != self.shapes[i]:
                raise ValueError(
                    f"weight {i} has shape {np.shape(a)}, the variable {self.shapes[i]}"
                )
        flats = [
            np.concatenate(
                [np.ravel(np.asarray(arrays[i], dtype=self.dtypes[i].as_numpy_dtype)) for i in m]
            )
            for m in self.groups
        ]
        self._load(*flats)

    def read(self):
        """The variables' values as new numpy arrays, in order."""
        return self.unpack(self._read() if self.variables else [])

    def unpack(self, flats):
        """Arrays, in variable order, from the flat tensors of :meth:`_read_impl`."""
        out = [None] * len(self.variables)
        for flat, members in zip(flats, self.groups, strict=True):
            flat, offset = flat.numpy(), 0
            for i in members:
                out[i] = flat[offset : offset + self.sizes[i]].reshape(self.shapes[i]).copy()
                offset += self.sizes[i]
        return out


class Template:
    """One Keras model per architecture signature, with compiled inference.

    Parameters
    ----------
    spec : MLPSpec
        The architecture signature.
    strategy : tf.distribute.Strategy, default=None
        Create the variables under this strategy (mirrored on every device) for
        distributed training; ``None`` keeps them on TensorFlow's default device.
    """

    def __init__(self, spec, strategy=None):
        self.spec = spec
        self.strategy = strategy
        with strategy_scope(strategy):
            self.model = build(spec)
        self.logits_model = keras.Model(self.model.input, self.model.get_layer(OUTPUT_LAYER).input)
        self.dtype = tf.as_dtype(spec.dtype)
        self.lock = threading.RLock()
        self.trainable = list(self.model.trainable_variables)
        self.non_trainable = list(self.model.non_trainable_variables)
        self.penalized = [v for v in self.trainable if v.path.endswith("kernel")]
        index = {id(v): i for i, v in enumerate(self.trainable)}
        self.dense_pairs = [
            (index[id(layer.kernel)], index[id(layer.bias)])
            for layer in self.model.layers
            if isinstance(layer, keras.layers.Dense)
        ]
        self.parts = {"model": self.model}
        self.activity_l1 = float(getattr(spec, "activity_l1", 0.0))
        if CODE_LAYER in [layer.name for layer in self.model.layers]:
            self.parts["encoder"], self.parts["decoder"] = split_autoencoder(self.model)
            if self.activity_l1 > 0:  # the loss needs the code of the same forward pass
                code = self.model.get_layer(CODE_LAYER).output
                self.logits_model = keras.Model(
                    self.model.input, [self.logits_model.outputs[0], code]
                )
        self._part_fns = {name: self._compile_part(sub) for name, sub in self.parts.items()}
        self._numpy = {
            name: numpy_forward(sub, self.trainable, self.non_trainable)
            for name, sub in self.parts.items()
        }
        self._variables = VariableGroup(self.trainable + self.non_trainable)
        seeds = [v for v in self.non_trainable if v.path.endswith("seed_generator_state")]
        self._spread_seeds = None
        if strategy is not None and seeds:

            def spread():
                def on_replica():
                    return _offset_seeds(seeds)

                return strategy.run(on_replica)

            self._spread_seeds = compiled(spread, [])

    def _compile_part(self, sub):
        """Stateless, compiled inference of a (sub)model sharing the template's variables."""
        indexes = []
        for full, part in (
            (self.trainable, sub.trainable_variables),
            (self.non_trainable, sub.non_trainable_variables),
        ):
            where = {id(v): i for i, v in enumerate(full)}
            indexes.append([where[id(v)] for v in part])
        specs = [
            [tf.TensorSpec(tuple(v.shape), v.dtype) for v in variables]
            for variables in (sub.trainable_variables, sub.non_trainable_variables)
        ]
        x_spec = tf.TensorSpec(sub.inputs[0].shape, self.dtype)

        def run(trainable, non_trainable, X):
            return sub.stateless_call(trainable, non_trainable, X, training=False)[0]

        return (*indexes, compiled(run, input_signature=[*specs, x_spec]))

    def predict(self, weights, tensors, X, part="model"):
        """Outputs of the network with the given weights (no template state touched).

        Small inputs to dense networks run in NumPy (see ``_fastpath``), the rest through
        the compiled TensorFlow function.

        Parameters
        ----------
        weights : tuple of (list of ndarray, list of ndarray)
            Trainable and non-trainable weights, in the template's variable order.
        tensors : callable
            Returns the same weights as tensors (cached by the caller); called only when
            TensorFlow runs.
        X : ndarray or scipy sparse matrix
            Input rows, already validated; sparse rows are densified a chunk at a time.
        part : {'model', 'encoder', 'decoder'}, default='model'
            Which (sub)model to run; autoencoders have an encoder and a decoder.

        Returns
        -------
        outputs : ndarray of shape (n_samples, n_outputs)
        """
        if sp.issparse(X):
            X = X.tocsr()
        forward = self._numpy[part]
        if forward is not None and forward.worth_it(X.shape[0]):
            X = X.toarray() if sp.issparse(X) else X
            return forward(weights, np.asarray(X, dtype=self.dtype.as_numpy_dtype))
        t_idx, nt_idx, fn = self._part_fns[part]
        weights = tensors()
        trainable = [weights[0][i] for i in t_idx]
        non_trainable = [weights[1][i] for i in nt_idx]
        rows = chunk_rows(X)
        parts = [
            fn(trainable, non_trainable, chunk).numpy()
            for _, chunk in dense_chunks(X, rows, self.dtype.as_numpy_dtype)
        ]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def get_weights(self, flats=None):
        """Template variables as numpy copies: ``(trainable, non_trainable)``.

        Parameters
        ----------
        flats : list of tf.Tensor, default=None
            Values read in a compiled function (see ``read_flat``); ``None`` reads now.

        Returns
        -------
        weights : tuple of (list of ndarray, list of ndarray)
        """
        values = self._variables.read() if flats is None else self._variables.unpack(flats)
        n = len(self.trainable)
        return values[:n], values[n:]

    def read_flat(self):
        """Inside a compiled function: the variables' values as flat tensors, one per dtype."""
        return self._variables._read_impl()

    def set_weights(self, weights):
        """Load ``(trainable, non_trainable)`` numpy weights into the template variables."""
        trainable, non_trainable = weights
        if len(trainable) != len(self.trainable) or len(non_trainable) != len(self.non_trainable):
            raise ValueError("weights do not match the template's variables")
        self._variables.load(list(trainable) + list(non_trainable))
        if self._spread_seeds is not None:
            self._spread_seeds()


def _offset_seeds(seeds):
    """In replica context: add the replica's index to its own copy of each seed state.

    Seed states are mirrored variables updated per device, so every device would otherwise
    draw the same dropout, noise and augmentation randomness for its rows; the first
    device's copy (the one read back) keeps the estimator's seeds.
    """
    rid = tf.distribute.get_replica_context().replica_id_in_sync_group
    for v in seeds:
        v.assign(v + tf.stack([tf.cast(rid, v.dtype), tf.zeros((), v.dtype)]))
    return tf.constant(0)


class Trainer:
    """Compiled training and evaluation functions for one (architecture, training) signature.

    Stochastic solvers get a whole-epoch function (batches gathered in the graph from the
    rows it is given: all the data, or a chunk of whole batches for large or sparse data);
    ``lbfgs`` gets a loss and gradient over flat weights for ``scipy.optimize``.

    Parameters
    ----------
    template : Template
        The shared architecture template whose variables are trained.
    spec : TrainSpec
        The training signature.
    """

    def __init__(self, template, spec):
        self.template = template
        self.spec = spec
        self.strategy = template.strategy
        # Keras optimizers bind the strategy they are created under
        with strategy_scope(self.strategy):
            self.optimizer = make_optimizer(spec)
            if self.optimizer is not None and template.spec.mixed_precision == "float16":
                # dynamic loss scaling keeps float16 gradients from underflowing
                self.optimizer = keras.optimizers.LossScaleOptimizer(self.optimizer)
            if self.optimizer is not None:
                self.optimizer.build(template.trainable)
        n_outputs = template.spec.n_outputs
        self.report_scale = 1.0 / n_outputs if spec.loss == "squared_error" else 1.0
        dt, spec_of = template.dtype, tf.TensorSpec
        x = spec_of(template.model.inputs[0].shape, dt)
        y = spec_of((None, template.spec.n_outputs), dt)
        w = spec_of((None,), dt)
        scalars = [spec_of((), dt)] * 3  # alpha, l1, label smoothing
        idx = [spec_of((None,), tf.int32), spec_of((), tf.int32)]  # order, batch size
        # explicit signatures: one trace per trainer, whatever the data size or hyperparameters
        if self.optimizer is not None:
            self._optimizer_variables = VariableGroup(self.optimizer.variables)
            # Nadam's u_product starts at 1 and Adagrad's accumulators at 0.1: keep the
            # freshly built values to reset to, not zeros
            self._fresh_state = self.get_optimizer_state()
            self._epoch = compiled(self._epoch_impl, input_signature=[x, y, w, *idx, *scalars])
        else:
            flat = [spec_of((None,), dt)]
            self._assign_flat = compiled(self._assign_flat_impl, input_signature=flat)
            self._data_grad = compiled(self._data_grad_impl, input_signature=[x, y, w, scalars[0]])
            self._penalty_grad = compiled(self._penalty_grad_impl, input_signature=scalars[:2])
        self._evaluate = compiled(self._evaluate_impl, input_signature=[x, y, w, *scalars])

    def _penalty(self, alpha, l1):
        """``0.5 * alpha * ||W||^2 + l1 * ||W||_1`` over the kernels (not divided yet)."""
        t = self.template
        if not t.penalized:
            return tf.zeros((), t.dtype)
        l2 = tf.add_n([tf.reduce_sum(tf.square(v)) for v in t.penalized])
        l1_norm = tf.add_n([tf.reduce_sum(tf.abs(v)) for v in t.penalized])
        return 0.5 * alpha * l2 + l1 * l1_norm

    def _loss_parts(self, X, Y, sw, smoothing, training):
        """Weighted sum of per-sample losses, sum of weights, and logits."""
        t = self.template
        z = t.logits_model(X, training=training)
        code = None
        if t.activity_l1 > 0:
            z, code = z
        if len(z.shape) > 2:  # image or signal outputs (autoencoders): one row per sample
            z = tf.reshape(z, [tf.shape(z)[0], -1])
        per_sample = _per_sample_loss(self.spec.loss, Y, z, smoothing)
        if code is not None:
            per_sample += t.activity_l1 * tf.reduce_sum(tf.abs(code), axis=1)
        return tf.reduce_sum(sw * per_sample), tf.reduce_sum(sw), z

    def _batch_loss(self, X, Y, sw, alpha, l1, smoothing, training, share=None):
        """sklearn's batch objective and reported loss: (weighted losses + penalty) / weights.

        ``share=(rows, n_shares)`` gives one of ``n_shares`` parts that sum to the batch's
        values: the losses of ``rows`` (a slice) and ``1 / n_shares`` of the penalty, over
        the whole batch's weights (a device's part of a batch under a strategy).
        """
        if share is None:
            total, sw_sum, _ = self._loss_parts(X, Y, sw, smoothing, training)
            penalty = self._penalty(alpha, l1)
        else:
            rows, n_shares = share
            sw_sum = tf.reduce_sum(sw)
            total, _, _ = self._loss_parts(X[rows], Y[rows], sw[rows], smoothing, training)
            penalty = self._penalty(alpha, l1) / tf.cast(n_shares, self.template.dtype)
        objective = tf.math.divide_no_nan(total + penalty, sw_sum)
        reported = tf.math.divide_no_nan(total * self.report_scale + penalty, sw_sum)
        return objective, reported

    def _train_step(self, X, Y, sw, alpha, l1, smoothing, share=None):
        """One optimizer step on a batch (or, under a strategy, on this device's share)."""
        if self.strategy is not None and share is None:
            losses = self.strategy.run(self._replica_step, args=(X, Y, sw, alpha, l1, smoothing))
            return self.strategy.experimental_local_results(losses)[0]
        tvars = self.template.trainable
        with tf.GradientTape() as tape:
            objective, reported = self._batch_loss(X, Y, sw, alpha, l1, smoothing, True, share)
            scaled = self.optimizer.scale_loss(objective)  # float16 mixed precision only
        grads = tape.gradient(scaled, tvars)
        if share is not None and isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer):
            grads = _skip_together(grads)
        self.optimizer.apply(grads, tvars)
        return reported

    def _replica_step(self, X, Y, sw, alpha, l1, smoothing):
        """A step on one device's share of the (global) batch; gradients sum across devices.

        Every replica gets the whole batch and takes its contiguous slice of rows; the
        replicas' objectives sum to the one-device objective, and so do their gradients,
        which Keras' optimizer sums across devices.
        """
        ctx = tf.distribute.get_replica_context()
        n_replicas = ctx.num_replicas_in_sync
        n = tf.shape(X)[0]
        per = (n + n_replicas - 1) // n_replicas
        lo = tf.minimum(tf.cast(ctx.replica_id_in_sync_group, tf.int32) * per, n)
        share = (slice(lo, tf.minimum(lo + per, n)), n_replicas)
        reported = self._train_step(X, Y, sw, alpha, l1, smoothing, share)
        return ctx.all_reduce(tf.distribute.ReduceOp.SUM, reported)

    def _epoch_impl(self, X, Y, sw, perm, batch_size, alpha, l1, smoothing):
        n = tf.shape(perm)[0]
        n_batches = (n + batch_size - 1) // batch_size
        total = tf.zeros((), self.template.dtype)
        for i in tf.range(n_batches):
            idx = perm[i * batch_size : tf.minimum((i + 1) * batch_size, n)]
            xb, yb, swb = tf.gather(X, idx), tf.gather(Y, idx), tf.gather(sw, idx)
            loss = self._train_step(xb, yb, swb, alpha, l1, smoothing)
            total += loss * tf.cast(tf.shape(idx)[0], total.dtype)
        # the weights that end the epoch come back with its loss: one call, not two
        return total / tf.cast(n, total.dtype), self.template.read_flat()

    def _evaluate_impl(self, X, Y, sw, alpha, l1, smoothing):
        total, sw_sum, z = self._loss_parts(X, Y, sw, smoothing, False)
        outputs = self.template.model.get_layer(OUTPUT_LAYER)(z)
        return total, sw_sum, self._penalty(alpha, l1), outputs

    def _assign_flat_impl(self, flat):
        offset = 0
        for v in self.template.trainable:
            size = int(np.prod(v.shape))
            v.assign(tf.reshape(flat[offset : offset + size], v.shape))
            offset += size
        return flat[:0]

    def _flat_grad(self, value, tape):
        tvars = self.template.trainable
        grads = tape.gradient(value, tvars)  # None for variables the value does not use
        grads = [
            tf.zeros(v.shape, v.dtype) if g is None else g
            for g, v in zip(grads, tvars, strict=True)
        ]
        return tf.concat([tf.reshape(g, [-1]) for g in grads], axis=0)

    def _data_grad_impl(self, X, Y, sw, smoothing):
        with tf.GradientTape() as tape:
            total, sw_sum, _ = self._loss_parts(X, Y, sw, smoothing, True)
        return total, sw_sum, self._flat_grad(total, tape)

    def _penalty_grad_impl(self, alpha, l1):
        with tf.GradientTape() as tape:
            penalty = self._penalty(alpha, l1)
        return penalty, self._flat_grad(penalty, tape)

    def reset_optimizer(self):
        """Put the optimizer back in its freshly built state for a new fit."""
        self.set_optimizer_state(self._fresh_state)

    def get_optimizer_state(self):
        """The optimizer's variables as numpy copies (to continue with ``partial_fit``)."""
        return self._optimizer_variables.read()

    def set_optimizer_state(self, state):
        """Load optimizer variables saved by :meth:`get_optimizer_state`."""
        if len(state) != len(self.optimizer.variables):
            raise ValueError("optimizer state does not match the optimizer's variables")
        self._optimizer_variables.load(state)


_templates: OrderedDict = OrderedDict()
_trainers: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()


def _cached(cache, key, make):
    with _cache_lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    value = make()
    with _cache_lock:
        value = cache.setdefault(key, value)
        cache.move_to_end(key)
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
    return value


def get_template(spec, distribution=None):
    """The shared template of an architecture, built on first use.

    Parameters
    ----------
    spec : MLPSpec
        Architecture signature.
    distribution : {'mirrored'} or None, default=None
        Build the variables for this distribution strategy (training only; prediction
        uses the template without one).

    Returns
    -------
    template : Template
    """
    return _cached(
        _templates, (spec, distribution), lambda: Template(spec, get_strategy(distribution))
    )


def get_trainer(arch_spec, train_spec, distribution=None):
    """The shared trainer of an (architecture, training, distribution) signature.

    Parameters
    ----------
    arch_spec : MLPSpec
        Architecture signature.
    train_spec : TrainSpec
        Training signature.
    distribution : {'mirrored'} or None, default=None
        Distribution strategy of the training.

    Returns
    -------
    trainer : Trainer
        Built on first use.
    """
    return _cached(
        _trainers,
        (arch_spec, train_spec, distribution),
        lambda: Trainer(get_template(arch_spec, distribution), train_spec),
    )


_strategies: dict = {}


def get_strategy(distribution):
    """The process's strategy for ``distribution`` (created once; ``None`` for none).

    ``'mirrored'`` mirrors over every local GPU, or over the logical CPU devices on a
    machine without GPUs (one unless the process configured more).

    Parameters
    ----------
    distribution : {'mirrored'} or None

    Returns
    -------
    strategy : tf.distribute.MirroredStrategy or None
    """
    if distribution is None:
        return None
    if distribution != "mirrored":
        raise ValueError(f"distribution must be 'mirrored' or None, got {distribution!r}.")
    with _cache_lock:
        if distribution not in _strategies:
            devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
            _strategies[distribution] = tf.distribute.MirroredStrategy([d.name for d in devices])
        return _strategies[distribution]


def strategy_scope(strategy):
    """``strategy.scope()``, or a context that does nothing for ``strategy=None``."""
    return contextlib.nullcontext() if strategy is None else strategy.scope()


def resolve_precision(mixed_precision):
    """The compute dtype of the estimator parameter ``mixed_precision``, or ``None``.

    Parameters
    ----------
    mixed_precision : bool or {'float16', 'bfloat16'}
        ``True`` picks ``'float16'`` when TensorFlow sees a GPU, ``'bfloat16'`` otherwise.

    Returns
    -------
    dtype : {'float16', 'bfloat16'} or None
    """
    if isinstance(mixed_precision, bool | np.bool_):
        if not mixed_precision:
            return None
        return "float16" if tf.config.list_logical_devices("GPU") else "bfloat16"
    return mixed_precision


@dataclass
class Progress:
    """sklearn's training bookkeeping, carried across warm starts and ``partial_fit`` calls.

    Parameters
    ----------
    early_stopping : bool
        Whether a validation score drives stopping.
    learning_rate : float
        The current learning rate.
    """

    early_stopping: bool
    learning_rate: float
    loss_curve: list = field(default_factory=list)
    best_loss: float | None = np.inf
    validation_scores: list | None = None
    best_validation_score: float | None = None
    best_weights: tuple | None = None
    no_improvement_count: int = 0
    t: int = 0
    history: list = field(default_factory=list)
    optimizer_state: list | None = None
    optimizer_spec: object = None

    def __post_init__(self):
        if self.early_stopping and self.validation_scores is None:  # new, not restored
            self.validation_scores = []
            self.best_validation_score = -np.inf
            self.best_loss = None


@dataclass
class FitConfig:
    """Per-fit settings of the training loop (all plain Python values)."""

    max_iter: int
    batch_size: int
    shuffle: bool
    tol: float
    n_iter_no_change: int
    learning_rate_init: float
    lr_schedule: str
    power_t: float
    alpha: float
    l1: float
    smoothing: float
    verbose: int
    incremental: bool = False
    max_fun: int = 15000


@dataclass
class FitData:
    """Training and (optional) validation arrays, targets already encoded.

    ``X`` and ``X_val`` may be scipy CSR matrices: they are densified a chunk at a time.
    ``rows``, when given, selects the training rows of ``X`` (a validation split made by
    index, so that splitting never copies ``X``).
    """

    X: object
    Y: np.ndarray
    sw: np.ndarray
    X_val: object = None
    Y_val: np.ndarray | None = None
    sw_val: np.ndarray | None = None
    rows: np.ndarray | None = None

    @property
    def n_train(self):
        """Number of training rows (``rows`` selects them from ``X`` when given)."""
        return self.X.shape[0] if self.rows is None else len(self.rows)


def chunk_rows(X):
    """Rows per chunk of ``X`` so that a densified chunk stays near 4 M values."""
    per_row = int(np.prod(X.shape[1:]))
    return max(1, min(PREDICT_CHUNK, (1 << 22) // max(per_row, 1)))


def dense_chunks(X, rows, dtype):
    """Yield ``(slice, dense ndarray)`` chunks of dense or sparse ``X``."""
    for start in range(0, max(X.shape[0], 1), rows):
        part = X[start : start + rows]
        part = part.toarray() if sp.issparse(part) else part
        yield slice(start, start + rows), np.asarray(part, dtype=dtype)


class _ProgressBar:
    """verbose=2: a live progress bar over the epochs with the latest figures (rich)."""

    def __init__(self, total, name):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn(name),
            MofNCompleteColumn(),
            BarColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[figures]}"),
        )
        self.task = self.progress.add_task(name, total=total, figures="")
        self.progress.start()

    def update(self, logs):
        """Advance one epoch and show its figures."""
        figures = "  ".join(f"{k} {v:.4g}" for k, v in logs.items() if k != "learning_rate")
        self.progress.update(self.task, advance=1, figures=figures)

    def close(self):
        """Stop the live display, leaving the final line."""
        self.progress.stop()


class _Loop:
    """sklearn's stochastic training loop; a dense epoch is one compiled graph call."""

    def __init__(self, trainer, data, cfg, progress, score_fn, callbacks, rng):
        self.trainer, self.data, self.cfg, self.p = trainer, data, cfg, progress
        self.score_fn, self.callbacks, self.rng = score_fn, callbacks, rng
        dt = trainer.template.dtype
        self.np_dtype = dt.as_numpy_dtype
        self.consts = [tf.constant(v, dt) for v in (cfg.alpha, cfg.l1, cfg.smoothing)]
        self.batch_size = tf.constant(cfg.batch_size, tf.int32)
        # small dense data lives in the graph for the whole fit (one copy); large or sparse
        # data is gathered (and densified) a chunk of whole batches at a time
        self.in_graph = not sp.issparse(data.X) and data.X.nbytes <= IN_GRAPH_BYTES
        if self.in_graph:
            self.tensors = [tf.constant(data.X, dt), tf.constant(data.Y, dt)]
            self.tensors.append(tf.constant(data.sw, dt))
        self.order = np.arange(data.n_train, dtype=np.int32)
        self.n_iter = 0
        if data.X_val is not None and not sp.issparse(data.X_val):
            rows = chunk_rows(data.X_val)
            self.val_chunks = [
                (tf.constant(Xc), tf.constant(data.Y_val[s], dt), tf.constant(data.sw_val[s], dt))
                for s, Xc in dense_chunks(data.X_val, rows, self.np_dtype)
            ]

    def run_epoch(self):
        """One epoch; returns its mean loss and the weights that end it (flat tensors)."""
        if self.cfg.shuffle:
            # sklearn reshuffles the previous order (a composition of permutations); doing the
            # same keeps the batches identical to sklearn's for the same random_state
            self.order = sk_shuffle(self.order, random_state=self.rng)
        rows = self.data.rows
        index = self.order if rows is None else rows[self.order].astype(np.int32)
        if not self.in_graph:
            return self.run_chunked_epoch(index)
        loss, flats = self.trainer._epoch(
            *self.tensors, tf.constant(index), self.batch_size, *self.consts
        )
        return float(loss), flats

    def run_chunked_epoch(self, index):
        """The same batches, in the same order, fed a chunk of whole batches per call."""
        d, bs = self.data, self.cfg.batch_size
        row_bytes = np.dtype(self.np_dtype).itemsize * int(np.prod(d.X.shape[1:]))
        step = bs * max(1, CHUNK_BYTES // (bs * row_bytes))
        total, flats = 0.0, None
        for start in range(0, len(index), step):
            idx = index[start : start + step]
            Xc = d.X[idx]
            Xc = Xc.toarray() if sp.issparse(Xc) else Xc
            loss, flats = self.trainer._epoch(
                tf.constant(np.asarray(Xc, dtype=self.np_dtype)),
                tf.constant(d.Y[idx], self.trainer.template.dtype),
                tf.constant(d.sw[idx], self.trainer.template.dtype),
                tf.range(len(idx), dtype=tf.int32),
                self.batch_size,
                *self.consts,
            )
            total += float(loss) * len(idx)
        return total / len(index), flats

    def _val_chunks(self):
        if hasattr(self, "val_chunks"):
            return self.val_chunks
        d, dt = self.data, self.trainer.template.dtype
        rows = chunk_rows(d.X_val)
        return (
            (tf.constant(Xc), tf.constant(d.Y_val[s], dt), tf.constant(d.sw_val[s], dt))
            for s, Xc in dense_chunks(d.X_val, rows, self.np_dtype)
        )

    def validate(self, logs):
        """Validation loss and score after an epoch, chunk by chunk; returns the score."""
        total = sw_sum = penalty = 0.0
        outputs = []
        for Xc, Yc, swc in self._val_chunks():
            t, s, penalty, out = self.trainer._evaluate(Xc, Yc, swc, *self.consts)
            total, sw_sum = total + float(t), sw_sum + float(s)
            outputs.append(out.numpy())
        score = float(self.score_fn(np.concatenate(outputs)))
        scale = self.trainer.report_scale
        val_loss = (total * scale + float(penalty)) / sw_sum if sw_sum else 0.0
        logs.update(val_loss=val_loss, val_score=score)
        return score

    def update_no_improvement(self, logs):
        p, tol = self.p, self.cfg.tol
        if p.early_stopping:
            score = self.validate(logs)
            p.validation_scores.append(score)
            if self.cfg.verbose == 1:
                print(f"Validation score: {score:f}")
            p.no_improvement_count = (
                p.no_improvement_count + 1 if score < p.best_validation_score + tol else 0
            )
            if score > p.best_validation_score:
                p.best_validation_score = score
                p.best_weights = self.last_good  # the weights that ended this epoch
        else:
            last = p.loss_curve[-1]
            p.no_improvement_count = p.no_improvement_count + 1 if last > p.best_loss - tol else 0
            p.best_loss = min(p.best_loss, last)

    def trigger_stopping(self):
        """sklearn's rule: stop, or (adaptive schedule) divide the learning rate by 5."""
        cfg, p = self.cfg, self.p
        what = "Validation score" if p.early_stopping else "Training loss"
        msg = (
            f"{what} did not improve more than tol={cfg.tol:f} for "
            f"{cfg.n_iter_no_change} consecutive epochs."
        )
        if cfg.lr_schedule == "adaptive" and p.learning_rate > 1e-6:
            p.learning_rate /= 5.0
            if cfg.verbose == 1:
                print(msg + f" Setting learning rate to {p.learning_rate:f}")
            p.no_improvement_count = 0
            return False
        if cfg.verbose == 1:
            tail = " Learning rate too small." if cfg.lr_schedule == "adaptive" else ""
            print(msg + tail + " Stopping.")
        return True

    def end_of_epoch_lr(self):
        cfg, p = self.cfg, self.p
        if cfg.lr_schedule == "invscaling":
            p.learning_rate = cfg.learning_rate_init / (p.t + 1) ** cfg.power_t
        elif cfg.lr_schedule == "cosine":
            done = len(p.loss_curve) if cfg.incremental else self.n_iter
            frac = min(done, cfg.max_iter) / cfg.max_iter
            p.learning_rate = cfg.learning_rate_init * 0.5 * (1.0 + np.cos(np.pi * frac))

    def diverged(self, loss, last_good):
        warnings.warn(
            f"Training diverged at iteration {self.n_iter}: the loss became {loss}. Training "
            "stopped and the weights that started the last finite epoch were kept; a smaller "
            "learning_rate_init (or solver='adam') usually helps.",
            ConvergenceWarning,
            stacklevel=4,
        )
        self.trainer.template.set_weights(last_good)

    def epoch(self):
        """Run one epoch and its bookkeeping; return whether to stop."""
        cfg, p, template = self.cfg, self.p, self.trainer.template
        opt_lr, cbs = self.trainer.optimizer.learning_rate, self.callbacks
        opt_lr.assign(p.learning_rate)
        if cbs is not None:
            cbs.on_epoch_begin(self.n_iter)
            p.learning_rate = float(opt_lr.numpy())
        loss, flats = self.run_epoch()
        if not np.isfinite(loss):
            # the weights that ended the last finite epoch already fed this epoch's first
            # (non-finite) batches; the ones that started it gave finite losses throughout
            self.n_iter += 1
            self.diverged(loss, self.prev_good)
            return True
        # the epoch counts once its weights are safe: an interrupt before this line falls
        # back to the previous epoch, with bookkeeping to match
        self.prev_good, self.last_good = self.last_good, template.get_weights(flats)
        self.n_iter += 1
        p.t += len(self.order)
        p.loss_curve.append(loss)
        logs = {"loss": loss, "learning_rate": p.learning_rate}
        if cfg.verbose == 1:
            print(f"Iteration {self.n_iter}, loss = {loss:.8f}")
        self.update_no_improvement(logs)
        p.history.append(logs.copy())
        if self.bar is not None:
            self.bar.update(logs)
        self.end_of_epoch_lr()
        stop = False
        if cbs is not None:
            cbs.on_epoch_end(self.n_iter - 1, logs)
            stop = bool(getattr(template.model, "stop_training", False))
            p.learning_rate = float(opt_lr.numpy())  # e.g. ReduceLROnPlateau
        if p.no_improvement_count > cfg.n_iter_no_change:
            stop = self.trigger_stopping() or stop
        return stop

    def run(self):
        """Run epochs until a stopping rule fires; return the number of epochs run."""
        cfg, p, template, cbs = self.cfg, self.p, self.trainer.template, self.callbacks
        self.last_good = self.prev_good = template.get_weights()
        self.bar = _ProgressBar(cfg.max_iter, "epoch") if cfg.verbose >= 2 else None
        if cbs is not None:
            cbs.on_train_begin()
        try:
            for _ in range(cfg.max_iter):
                stop = self.epoch()
                if stop or cfg.incremental:
                    break
                if self.n_iter == cfg.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({cfg.max_iter}) reached "
                        "and the optimization hasn't converged yet.",
                        ConvergenceWarning,
                        stacklevel=3,
                    )
        except KeyboardInterrupt:
            # keep the last completed epoch (the best one under early stopping, below); a
            # second Ctrl-C during this wrap-up propagates
            template.set_weights(self.last_good)
            warnings.warn(
                f"Training interrupted by user after {self.n_iter} completed epoch(s); the "
                "estimator keeps the weights of the last completed epoch.",
                stacklevel=3,
            )
        finally:
            if self.bar is not None:
                self.bar.close()
        if cbs is not None:
            cbs.on_train_end()
        if p.early_stopping and p.best_weights is not None:
            template.set_weights(p.best_weights)
        return self.n_iter


def _callback_list(trainer, callbacks):
    if not callbacks:
        return None
    model = trainer.template.model
    model.stop_training = False
    if trainer.optimizer is not None:
        model.optimizer = trainer.optimizer
    return keras.callbacks.CallbackList(list(callbacks), model=model)


def train(trainer, init_weights, data, cfg, progress, score_fn, callbacks, rng):
    """Train the template of ``trainer`` from ``init_weights``; return the fitted weights.

    Parameters
    ----------
    trainer : Trainer
        Compiled training functions (shared; locked for the duration of the fit).
    init_weights : tuple of (list of ndarray, list of ndarray)
        Starting weights.
    data : FitData
        Encoded training (and validation) arrays.
    cfg : FitConfig
        Loop settings.
    progress : Progress
        Bookkeeping, updated in place (``optimizer_state`` is read to continue a
        ``partial_fit`` and written at the end).
    score_fn : callable
        Maps validation outputs to the validation score (higher is better).
    callbacks : list of keras.callbacks.Callback or None
        Callbacks driven at epoch granularity.
    rng : numpy.random.RandomState
        Source of the shuffling order.

    Returns
    -------
    weights : tuple of (list of ndarray, list of ndarray)
        The trained (or best, under early stopping) weights.
    n_iter : int
        Epochs run.
    """
    template = trainer.template
    with template.lock:
        template.set_weights(init_weights)
        same_optimizer = progress.optimizer_spec == trainer.spec
        if cfg.incremental and progress.optimizer_state is not None and same_optimizer:
            trainer.set_optimizer_state(progress.optimizer_state)
        else:
            trainer.reset_optimizer()
        cbs = _callback_list(trainer, callbacks)
        loop = _Loop(trainer, data, cfg, progress, score_fn, cbs, rng)
        n_iter = loop.run()
        progress.optimizer_state = trainer.get_optimizer_state()
        progress.optimizer_spec = trainer.spec
        return template.get_weights(), n_iter


def _flat(weights):
    return np.concatenate([np.ravel(a) for a in weights]).astype(np.float64)


def train_lbfgs(trainer, init_weights, data, cfg, progress, callbacks):
    """Full-batch L-BFGS (scipy's ``L-BFGS-B``) over the template's weights.

    Loss and gradient come from TensorFlow, chunk by chunk (so sparse data is densified a
    chunk at a time): ``(sum of weighted losses + penalty) / sum of weights``, sklearn's
    objective. ``max_iter``, ``max_fun`` and ``tol`` (as ``gtol``) bound the search and
    sklearn's ``ConvergenceWarning`` is raised when a limit stops it.

    Parameters
    ----------
    trainer : Trainer
        A trainer built for ``solver='lbfgs'``.
    init_weights : tuple of (list of ndarray, list of ndarray)
        Starting weights.
    data : FitData
        Encoded training arrays (no validation split).
    cfg : FitConfig
        ``max_iter``, ``max_fun``, ``tol``, ``alpha``, ``l1``, ``smoothing``, ``verbose``.
    progress : Progress
        Bookkeeping; ``history`` gets one row per L-BFGS iteration.
    callbacks : list of keras.callbacks.Callback or None
        Called once per L-BFGS iteration (``on_epoch_begin``/``on_epoch_end``).

    Returns
    -------
    weights : tuple of (list of ndarray, list of ndarray)
    n_iter : int
        L-BFGS iterations.
    loss : float
        Final value of the objective.
    """
    from scipy.optimize import minimize
    from sklearn.utils.optimize import _check_optimize_result

    template = trainer.template
    dt = template.dtype
    alpha, l1, smoothing = (tf.constant(v, dt) for v in (cfg.alpha, cfg.l1, cfg.smoothing))
    rows = chunk_rows(data.X)

    def fresh_chunks():
        return (
            (tf.constant(Xc), tf.constant(data.Y[s], dt), tf.constant(data.sw[s], dt))
            for s, Xc in dense_chunks(data.X, rows, dt.as_numpy_dtype)
        )

    # dense chunks become tensors once; sparse ones are densified again at each evaluation
    cached = None if sp.issparse(data.X) else list(fresh_chunks())

    def chunk_iter():
        return fresh_chunks() if cached is None else iter(cached)

    last = {}

    def fun(flat):
        trainer._assign_flat(tf.constant(flat, dt))
        total, sw_sum, grad = 0.0, 0.0, 0.0
        for Xc, Yc, swc in chunk_iter():
            t, s, g = trainer._data_grad(Xc, Yc, swc, smoothing)
            total, sw_sum, grad = total + float(t), sw_sum + float(s), grad + g.numpy()
        penalty, g_pen = trainer._penalty_grad(alpha, l1)
        last.update(total=total, penalty=float(penalty), sw_sum=sw_sum)
        loss = (total + float(penalty)) / sw_sum
        return loss, (grad + g_pen.numpy()).astype(np.float64) / sw_sum

    state = {"iteration": 0, "cbs": None}

    def on_iteration(intermediate_result):
        state["accepted"] = np.array(intermediate_result.x, copy=True)
        state["iteration"] += 1
        loss = float(intermediate_result.fun)
        progress.history.append({"loss": loss})
        if cfg.verbose == 1:
            print(f"Iteration {state['iteration']}, loss = {loss:.8f}")
        cbs = state["cbs"]
        if cbs is not None:
            cbs.on_epoch_end(state["iteration"] - 1, {"loss": loss})
            if getattr(template.model, "stop_training", False):
                raise StopIteration

    with template.lock:
        template.set_weights(init_weights)
        cbs = state["cbs"] = _callback_list(trainer, callbacks)
        if cbs is not None:
            cbs.on_train_begin()
        x0 = _flat(init_weights[0])
        try:
            result = minimize(
                fun,
                x0,
                method="L-BFGS-B",
                jac=True,
                callback=on_iteration,
                options={"maxfun": cfg.max_fun, "maxiter": cfg.max_iter, "gtol": cfg.tol},
            )
            solution, n_iter = result.x, _check_optimize_result("lbfgs", result, cfg.max_iter)
        except KeyboardInterrupt:
            solution, n_iter = state.get("accepted", x0), state["iteration"]
            warnings.warn(
                f"Training interrupted by user after {n_iter} L-BFGS iteration(s); the "
                "estimator keeps the last accepted iterate.",
                stacklevel=3,
            )
        if cbs is not None:
            cbs.on_train_end()
        fun(solution)  # loads the solution and its loss parts
        reported = last["total"] * trainer.report_scale + last["penalty"]
        return template.get_weights(), n_iter, reported / last["sw_sum"]


def initial_weights(template, rng, factor):
    """Fresh weights for a template, drawn from ``rng`` as scikit-learn draws them.

    Kernels and biases of each layer, in layer order, come from
    ``uniform(-b, b)`` with ``b = sqrt(factor / (fan_in + fan_out))`` (sklearn's MLP
    initialisation: ``factor`` is 6, or 2 for logistic activations), so that the same
    ``random_state`` starts from the same weights as ``sklearn.neural_network``. Batch
    normalization starts at the identity; dropout seeds are drawn last.

    Parameters
    ----------
    template : Template
        The architecture whose variables are initialised.
    rng : numpy.random.RandomState
        Source of randomness (advanced in place).
    factor : float
        Scale of the uniform initialisation.

    Returns
    -------
    weights : tuple of (list of ndarray, list of ndarray)
        Trainable and non-trainable weights in the template's variable order.
    """
    values = {}
    for layer in template.model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is not None:
            shape = tuple(kernel.shape)
            receptive = int(np.prod(shape[:-2]))
            bound = np.sqrt(factor / (receptive * (shape[-2] + shape[-1])))
            values[id(kernel)] = rng.uniform(-bound, bound, shape)
            bias = getattr(layer, "bias", None)
            if bias is not None:
                values[id(bias)] = rng.uniform(-bound, bound, tuple(bias.shape))
        for name, fill in (("gamma", 1), ("beta", 0), ("moving_mean", 0), ("moving_variance", 1)):
            v = getattr(layer, name, None)
            if v is not None:
                values[id(v)] = np.full(tuple(v.shape), fill)
    for v in template.non_trainable:
        if id(v) not in values and v.path.endswith("seed_generator_state"):
            values[id(v)] = np.array([rng.randint(2**31 - 1), 0])
    weights = []
    for variables in (template.trainable, template.non_trainable):
        missing = [v.path for v in variables if id(v) not in values]
        if missing:
            raise RuntimeError(f"keraskit does not know how to initialise {missing}")
        weights.append([np.asarray(values[id(v)], dtype=v.dtype) for v in variables])
    return tuple(weights)
