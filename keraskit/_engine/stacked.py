"""Many same-shape dense networks trained as one stacked network: the compiled functions.

The networks of a search differ in hyper-parameters and training rows, rarely in shape.
Stacked on a leading *members* axis, a dense layer's kernels form one ``(members, in, out)``
tensor and the layer one batched matrix product, so every step of every member shares one
call's fixed cost (on a GPU, small networks then fill the device together). Each member
keeps its own batches (row positions into shared data), sample weights, learning rate,
``alpha``, ``l1``, label smoothing, dropout rate and seeds, batch-normalization statistics,
optimizer constants and state, and an ``active`` flag that freezes it once it has stopped.

The arithmetic is a lone fit's, operation for operation: the losses and penalties of
``losses`` and ``trainer`` (``(weighted losses + penalty) / weights`` per batch), Keras'
update rules written member-wise (``rules``), and Keras' dropout and batch normalization
member by member (``stacked_layers``). Shapes are dynamic, so one trace serves every width
and every number of members of a depth.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._networks.specs import OUTPUT_LAYER
from .._tensorflow import keras, tf
from . import backprop, rules, stacked_layers
from .losses import per_sample_loss
from .template import compiled


@dataclass(frozen=True)
class Chain:
    """A network of dense layers, batch normalization, activations and dropout, as steps.

    Parameters
    ----------
    steps : tuple
        In forward order: ``("dense", has_bias)``, ``("bn", (momentum, epsilon))``,
        ``("act", function)`` or ``("dropout", None)``.
    variables : tuple of int
        Indexes into the template's trainable variables, in the order the steps use them
        (a dense layer's kernel then bias; a batch normalization's gamma then beta).
    buffers : tuple of int
        Indexes into the template's non-trainable variables, in the order the steps use
        them (moving mean then variance; a dropout layer's seed state).
    output : callable
        The output activation (applied to the logits for predictions and scores).
    penalized : tuple of int
        Positions in ``variables`` of the kernels (the penalties' weights).
    """

    steps: tuple
    variables: tuple
    buffers: tuple
    output: object
    penalized: tuple


def _chain_step(layer, index, buffer_index):
    """``(step, trainable indexes, buffer indexes, is a kernel)`` of a layer, or ``None``."""
    kind = type(layer)
    if kind is keras.layers.Dense and layer.activation is keras.activations.linear:
        variables = [index[id(layer.kernel)]] + ([index[id(layer.bias)]] if layer.use_bias else [])
        return ("dense", layer.use_bias), variables, []
    if kind is keras.layers.BatchNormalization and layer.center and layer.scale:
        variables = [index[id(layer.gamma)], index[id(layer.beta)]]
        buffers = [buffer_index[id(layer.moving_mean)], buffer_index[id(layer.moving_variance)]]
        return ("bn", (float(layer.momentum), float(layer.epsilon))), variables, buffers
    if kind is keras.layers.Activation:
        return ("act", layer.activation), [], []
    if kind is keras.layers.Dropout and layer.noise_shape is None:
        return ("dropout", None), [], [buffer_index[id(layer.seed_generator.state)]]
    return None


def dense_chain(template):
    """The template's network as a :class:`Chain`, or ``None`` if the stack cannot run it.

    Dense layers, batch normalization, activations and dropout qualify; convolutions,
    noise, a code penalty, mixed precision and distribution do not.

    Parameters
    ----------
    template : Template
        A shared architecture template.

    Returns
    -------
    chain : Chain or None
    """
    spec = template.spec
    if template.activity_l1 != 0 or template.strategy is not None:
        return None
    if getattr(spec, "mixed_precision", None):
        return None
    index = {id(v): i for i, v in enumerate(template.trainable)}
    buffer_index = {id(v): i for i, v in enumerate(template.non_trainable)}
    steps, variables, buffers, penalized = [], [], [], []
    for layer in template.logits_model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        found = _chain_step(layer, index, buffer_index)
        if found is None:
            return None
        step, used, kept = found
        if step[0] == "dense":
            penalized.append(len(variables))
        if step[0] != "act" or step[1] is not keras.activations.linear:
            steps.append(step)
        variables.extend(used)
        buffers.extend(kept)
    if sorted(variables) != list(range(len(template.trainable))):
        return None
    if sorted(buffers) != list(range(len(template.non_trainable))):
        return None
    output = template.model.get_layer(OUTPUT_LAYER).activation
    return Chain(tuple(steps), tuple(variables), tuple(buffers), output, tuple(penalized))


def _buffer_spec(step, dt):
    """The stacked signature of a step's non-trainable variables."""
    if step[0] == "bn":
        return [tf.TensorSpec((None, None), dt)] * 2  # moving mean and variance
    if step[0] == "dropout":
        return [tf.TensorSpec((None, 2), tf.int64)]  # seed-generator states
    return []


class StackedTrainer:
    """Compiled epoch and evaluation functions of a population of one chain signature.

    Parameters
    ----------
    chain : Chain
        The networks' layers (any widths: shapes are dynamic).
    loss : str
        One of ``losses.LOSSES``.
    solver : str
        A stochastic solver (``rules.RULES``).
    dtype : str
        The networks' dtype.
    uses_l1 : bool, default=True
        Whether any member has an L1 penalty (without, its terms are left out).
    """

    def __init__(self, chain, loss, solver, dtype, uses_l1=True):
        self.chain, self.loss, self.solver = chain, loss, solver
        self.uses_l1 = uses_l1
        self.rule = rules.RULES[solver]
        manual = backprop.supports(chain.steps, loss)
        self.layers = backprop.layers_of(chain.steps) if manual else None
        self.dtype = dt = tf.as_dtype(dtype)
        spec = tf.TensorSpec
        data = [spec((None, None), dt), spec((None, None), dt), spec((None,), dt)]
        rows = [spec((None, None), tf.int32), spec((None,), tf.int32)]
        # alpha, l1, label smoothing; dropout rates in float64, as Keras rounds them
        hyper = [spec((None,), dt)] * 3 + [spec((None,), tf.float64)]
        params = [spec((None,) * self._rank(i), dt) for i in range(len(chain.variables))]
        state = [p for p in params for _ in self.rule.slots]
        state += [spec((None,), dt)] * len(self.rule.extras)
        buffers = [b for step in chain.steps for b in _buffer_spec(step, dt)]
        self.epoch = compiled(
            self._epoch_impl,
            input_signature=[
                *data,
                *rows,
                spec((), tf.int32),  # batch size
                spec((None,), tf.float32),  # learning rates (Keras keeps them in float32)
                *hyper,
                spec((None, len(self.rule.constants)), tf.float64),  # optimizer constants
                spec((None,), tf.bool),  # active
                spec((None,), tf.int64),  # optimizer iterations
                spec((), dt),  # report scale
                params,
                state,
                buffers,
            ],
        )
        self.evaluate = compiled(
            self._evaluate_impl,
            input_signature=[*data, *rows, *hyper, params, buffers],
        )

    def _rank(self, i):
        """Stacked rank of the chain's ``i``-th variable: 3 for kernels, 2 for the rest."""
        return 3 if i in self.chain.penalized else 2

    def forward(self, params, buffers, X, training=False, counts=None, rates=None):
        """Every member's logits for its rows ``X`` (members, rows, features).

        Returns ``(inputs, logits, buffers)``: the input of each dense layer (what its
        gradient needs) and the non-trainable variables after the pass (batch statistics
        and dropout seeds move in training; ``counts`` are each member's real rows).
        """
        inputs, h, i, b, new = [], X, 0, 0, list(buffers)
        for kind, arg in self.chain.steps:
            if kind == "act":
                h = arg(h)
            elif kind == "dense":
                inputs.append(h)
                h = tf.linalg.matmul(h, params[i])
                i += 1
                if arg:  # has a bias
                    h = h + params[i][:, None, :]
                    i += 1
            elif kind == "bn":
                h, new[b], new[b + 1] = self._batch_norm(h, params[i : i + 2], new, b, arg,
                                                         training, counts)  # fmt: skip
                i, b = i + 2, b + 2
            else:  # dropout
                h, new[b] = stacked_layers.dropout(h, rates, new[b], training, counts)
                b += 1
        return inputs, h, new

    @staticmethod
    def _batch_norm(h, scale_offset, buffers, b, arg, training, counts):
        momentum, epsilon = arg
        gamma, beta = scale_offset
        mean, variance = buffers[b], buffers[b + 1]
        if training:
            return stacked_layers.batch_norm_train(
                h, counts, gamma, beta, mean, variance, momentum, epsilon
            )
        out = stacked_layers.batch_norm_infer(h, gamma, beta, mean, variance, epsilon)
        return out, mean, variance

    def penalty(self, params, alpha, l1):
        """Each member's ``0.5 * alpha * ||W||^2 + l1 * ||W||_1`` over its kernels."""
        kernels = [params[i] for i in self.chain.penalized]
        l2 = tf.add_n([tf.reduce_sum(tf.square(k), axis=[1, 2]) for k in kernels])
        if not self.uses_l1:
            return 0.5 * alpha * l2
        l1_norm = tf.add_n([tf.reduce_sum(tf.abs(k), axis=[1, 2]) for k in kernels])
        return 0.5 * alpha * l2 + l1 * l1_norm

    def _penalty_grad(self, alpha, l1):
        """``kernel -> alpha * kernel + l1 * sign(kernel)``, per member."""
        a, b = alpha[:, None, None], l1[:, None, None]
        if not self.uses_l1:
            return lambda kernel: a * kernel
        return lambda kernel: a * kernel + b * tf.sign(kernel)

    def _batch_weights(self, sw, pos, counts):
        """Which of each member's rows ``pos`` are its own, and their sample weights (0 on
        the rest: padding rows are real rows of another member's data)."""
        valid = tf.range(tf.shape(pos)[1])[None, :] < counts[:, None]
        return valid, tf.where(valid, tf.gather(sw, pos), tf.zeros((), self.dtype))

    def _loss_parts(self, params, buffers, data, pos, counts, smoothing, training, rates):
        """Per member: weighted loss sum, weight sum, logits and buffers after the pass."""
        X, Y, sw = data
        valid, w = self._batch_weights(sw, pos, counts)
        _, z, buffers = self.forward(params, buffers, tf.gather(X, pos), training, counts, rates)
        per_sample = per_sample_loss(self.loss, tf.gather(Y, pos), z, smoothing[:, None, None])
        # padding rows never count, even where their loss is not finite
        weighted = tf.where(valid, w * per_sample, tf.zeros((), self.dtype))
        return tf.reduce_sum(weighted, axis=1), tf.reduce_sum(w, axis=1), z, buffers

    def _epoch_impl(self, X, Y, sw, pos, counts, batch_size, lr, alpha, l1, smoothing, rates,
                    constants, active, iterations, scale, params, state, buffers):  # fmt: skip
        width = tf.shape(pos)[1]
        n_batches = (width + batch_size - 1) // batch_size
        # loop invariants, computed once
        rule = rules.member_constants(self.solver, lr, constants, self.dtype)
        hyper = (alpha, l1, smoothing, rates)

        def step(b, total, params, state, buffers, iterations):
            lo = b * batch_size
            hi = tf.minimum(lo + batch_size, width)
            # rows before a member's count are its epoch's; the rest pad shorter members
            left = tf.clip_by_value(counts - lo, 0, hi - lo)
            stepping = tf.logical_and(active, left > 0)
            loss_sum, sw_sum, penalty, grads, moved = self._gradients(
                params, buffers, (X, Y, sw), pos[:, lo:hi], left, hyper
            )
            params, state = rules.update(
                self.solver, params, self._only(stepping, grads), state, iterations, stepping,
                rule,
            )  # fmt: skip
            buffers = [_select(stepping, n, o) for n, o in zip(moved, buffers, strict=True)]
            reported = tf.math.divide_no_nan(loss_sum * scale + penalty, sw_sum)
            total += reported * tf.cast(left, self.dtype)
            return b + 1, total, params, state, buffers, iterations + tf.cast(stepping, tf.int64)

        # an explicit loop (no autograph): tracing converts no source code
        _, total, params, state, buffers, iterations = tf.while_loop(
            lambda b, *_: b < n_batches,
            step,
            (tf.constant(0), tf.zeros_like(alpha), params, state, buffers, iterations),
        )
        mean = tf.math.divide_no_nan(total, tf.cast(counts, self.dtype))
        return mean, params, state, buffers, iterations, self._finite(params, buffers)

    def _only(self, stepping, grads):
        """Gradients of the members that step (batch statistics of a member without rows
        are not finite, and an idle Adam member multiplies its gradient by zero)."""
        if not any(kind == "bn" for kind, _ in self.chain.steps):
            return grads
        return [_select(stepping, g, tf.zeros_like(g)) for g in grads]

    def _finite(self, params, buffers):
        """Per member: whether every weight (trainable or not) is finite."""
        finite = None
        for p in params + [b for b in buffers if b.dtype.is_floating]:
            axes = list(range(1, len(p.shape)))
            ok = tf.reduce_all(tf.math.is_finite(p), axis=axes)
            finite = ok if finite is None else tf.logical_and(finite, ok)
        return finite

    def _gradients(self, params, buffers, data, pos, counts, hyper):
        """Loss parts, penalties, the members' gradients and buffers on one batch each.

        The hand-written backpropagation where it applies (``backprop``), else the tape.
        """
        alpha, l1, smoothing, rates = hyper
        X, Y, sw = data
        if self.layers is not None:
            valid, w = self._batch_weights(sw, pos, counts)
            inputs, z, _ = self.forward(params, buffers, tf.gather(X, pos))
            loss_sum, sw_sum, grads = backprop.gradients(
                self.layers, self.loss, params, inputs, z, tf.gather(Y, pos), w, valid,
                smoothing, self._penalty_grad(alpha, l1),
            )  # fmt: skip
            return loss_sum, sw_sum, self.penalty(params, alpha, l1), grads, buffers
        with tf.GradientTape() as tape:
            tape.watch(params)
            loss_sum, sw_sum, _, moved = self._loss_parts(
                params, buffers, data, pos, counts, smoothing, True, rates
            )
            penalty = self.penalty(params, alpha, l1)
            # members are independent: the sum's gradient is each member's own
            objective = tf.reduce_sum(tf.math.divide_no_nan(loss_sum + penalty, sw_sum))
        return loss_sum, sw_sum, penalty, tape.gradient(objective, params), moved

    def _evaluate_impl(self, X, Y, sw, pos, counts, alpha, l1, smoothing, rates, params,
                       buffers):  # fmt: skip
        loss_sum, sw_sum, z, _ = self._loss_parts(
            params, buffers, (X, Y, sw), pos, counts, smoothing, False, rates
        )
        return loss_sum, sw_sum, self.penalty(params, alpha, l1), self.chain.output(z)


def _select(flags, new, old):
    """``new`` for the members where ``flags`` holds, ``old`` for the rest."""
    shape = tf.concat([tf.shape(flags), tf.ones([tf.rank(new) - 1], tf.int32)], axis=0)
    return tf.where(tf.reshape(flags, shape), new, old)
