"""Many same-shape dense networks trained as one stacked network: the compiled functions.

The networks of a search differ in hyper-parameters and training rows, rarely in shape.
Stacked on a leading *members* axis, a dense layer's kernels form one ``(members, in, out)``
tensor and the layer one batched matrix product, so every step of every member shares one
call's fixed cost (on a GPU, small networks then fill the device together). Each member
keeps its own batches (row positions into shared data), sample weights, learning rate,
``alpha``, ``l1``, label smoothing, optimizer constants and state, and an ``active`` flag
that freezes it once it has stopped.

The arithmetic is a lone fit's, operation for operation: the losses and penalties of
``losses`` and ``trainer`` (``(weighted losses + penalty) / weights`` per batch) and the
update rules of Keras' ``Adam`` and ``SGD`` written member-wise, in the network's dtype with
the learning rate rounded through float32 as Keras' learning-rate variable rounds it. Shapes
are dynamic, so one trace serves every width and every number of members of a depth.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._networks.specs import OUTPUT_LAYER
from .._tensorflow import keras, tf
from . import backprop
from .losses import per_sample_loss
from .template import compiled

#: Solvers whose update rule the population trainer carries (Keras' rules, per member).
FUSED_SOLVERS = ("adam", "sgd")
#: Optimizer slots per trained variable, per solver (Keras' ``momentum``/``velocity``).
SLOTS = {"adam": 2, "sgd": 1}
#: Per-member optimizer constants, per solver (columns of the ``constants`` argument).
CONSTANTS = {
    "adam": ("beta_1", "beta_2", "one_minus_beta_1", "one_minus_beta_2", "epsilon"),
    "sgd": ("momentum", "nesterov"),
}


@dataclass(frozen=True)
class Chain:
    """A network made only of dense layers and activations, as steps over its variables.

    Parameters
    ----------
    steps : tuple
        ``("dense", has_bias)`` or ``("act", function)`` in forward order.
    variables : tuple of int
        Indexes into the template's trainable variables, in the order the steps use them
        (each dense layer's kernel, then its bias).
    output : callable
        The output activation (applied to the logits for predictions and scores).
    penalized : tuple of int
        Positions in ``variables`` of the kernels (the penalties' weights).
    """

    steps: tuple
    variables: tuple
    output: object
    penalized: tuple


def dense_chain(template):
    """The template's network as a :class:`Chain`, or ``None`` if it is not a plain chain.

    Only dense layers and activations qualify: no batch normalization, dropout, noise,
    convolution, code penalty, mixed precision or distribution.

    Parameters
    ----------
    template : Template
        A shared architecture template.

    Returns
    -------
    chain : Chain or None
    """
    spec = template.spec
    plain = not template.non_trainable and template.activity_l1 == 0
    if not plain or template.strategy is not None or getattr(spec, "mixed_precision", None):
        return None
    index = {id(v): i for i, v in enumerate(template.trainable)}
    steps, variables, penalized = [], [], []
    for layer in template.logits_model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if type(layer) is keras.layers.Dense:
            penalized.append(len(variables))
            variables.append(index[id(layer.kernel)])
            if layer.use_bias:
                variables.append(index[id(layer.bias)])
            steps.append(("dense", layer.use_bias))
            if layer.activation is not keras.activations.linear:
                steps.append(("act", layer.activation))
        elif type(layer) is keras.layers.Activation:
            if layer.activation is not keras.activations.linear:
                steps.append(("act", layer.activation))
        else:
            return None
    if sorted(variables) != list(range(len(template.trainable))):
        return None
    output = template.model.get_layer(OUTPUT_LAYER).activation
    return Chain(tuple(steps), tuple(variables), output, tuple(penalized))


def _by_rank(vectors):
    """``(members,)`` vectors reshaped to broadcast against stacked biases (rank 2) and
    kernels (rank 3): ``{rank: [reshaped, ...]}``."""
    return {r: [tf.reshape(v, [-1] + [1] * (r - 1)) for v in vectors] for r in (2, 3)}


class StackedTrainer:
    """Compiled epoch and evaluation functions of a population of one chain signature.

    Parameters
    ----------
    chain : Chain
        The networks' layers (any widths: shapes are dynamic).
    loss : str
        One of ``losses.LOSSES``.
    solver : {'adam', 'sgd'}
        The update rule.
    dtype : str
        The networks' dtype.
    uses_l1 : bool, default=True
        Whether any member has an L1 penalty (without, its terms are left out).
    """

    def __init__(self, chain, loss, solver, dtype, uses_l1=True):
        self.chain, self.loss, self.solver = chain, loss, solver
        self.uses_l1 = uses_l1
        manual = backprop.supports(chain.steps, loss)
        self.layers = backprop.layers_of(chain.steps) if manual else None
        self.dtype = tf.as_dtype(dtype)
        n_vars = len(chain.variables)
        dt, spec = self.dtype, tf.TensorSpec
        per_member = spec((None,), dt)
        data = [spec((None, None), dt), spec((None, None), dt), spec((None,), dt)]
        rows = [spec((None, None), tf.int32), spec((None,), tf.int32)]
        params = [spec((None,) * self._rank(i), dt) for i in range(n_vars)]
        slots = [p for p in params for _ in range(SLOTS[solver])]
        n_dense = sum(1 for kind, _ in chain.steps if kind == "dense")
        masks = [spec((None, None), dt)] * (n_dense - 1)  # inputs of dense layers 1, 2, ...
        hyper = [per_member] * 3  # alpha, l1, label smoothing
        self.epoch = compiled(
            self._epoch_impl,
            input_signature=[
                *data,
                *rows,
                spec((), tf.int32),  # batch size
                spec((None,), tf.float32),  # learning rates (Keras keeps them in float32)
                *hyper,
                spec((None, len(CONSTANTS[solver])), tf.float64),  # optimizer constants
                spec((None,), tf.bool),  # active
                spec((None,), tf.int64),  # optimizer iterations
                spec((), dt),  # report scale
                masks,
                params,
                slots,
            ],
        )
        self.evaluate = compiled(
            self._evaluate_impl,
            input_signature=[*data, *rows, *hyper, masks, params],
        )

    def _rank(self, i):
        """Stacked rank of the chain's ``i``-th variable: 3 for kernels, 2 for biases."""
        return 3 if i in self.chain.penalized else 2

    def forward(self, params, masks, X):
        """Every member's logits for its rows ``X`` (members, rows, features), and the input
        of each dense layer (what its gradient needs).

        ``masks[d]`` multiplies the input of dense layer ``d + 1``: members narrower than
        the group's widest have their padding units zeroed there, after the activation, so
        that padding neither reaches the next layer nor receives a gradient (it stays 0).
        """
        inputs, h, i = [], X, 0
        for kind, arg in self.chain.steps:
            if kind == "act":
                h = arg(h)
                continue
            if inputs:
                h = h * masks[len(inputs) - 1][:, None, :]
            inputs.append(h)
            h = tf.linalg.matmul(h, params[i])
            i += 1
            if arg:  # has a bias
                h = h + params[i][:, None, :]
                i += 1
        return inputs, h

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

    def _loss_parts(self, params, masks, X, Y, sw, pos, counts, smoothing):
        """Per member: weighted loss sum, weight sum and logits of its rows ``pos``."""
        valid, w = self._batch_weights(sw, pos, counts)
        _, z = self.forward(params, masks, tf.gather(X, pos))
        per_sample = per_sample_loss(self.loss, tf.gather(Y, pos), z, smoothing[:, None, None])
        # padding rows never count, even where their loss is not finite
        weighted = tf.where(valid, w * per_sample, tf.zeros((), self.dtype))
        return tf.reduce_sum(weighted, axis=1), tf.reduce_sum(w, axis=1), z

    def _epoch_impl(self, X, Y, sw, pos, counts, batch_size, lr, alpha, l1, smoothing,
                    constants, active, iterations, scale, masks, params, slots):  # fmt: skip
        width = tf.shape(pos)[1]
        n_batches = (width + batch_size - 1) // batch_size
        rule = self._rule_constants(lr, constants)  # loop invariants, computed once

        def step(b, total, params, slots, iterations):
            lo = b * batch_size
            hi = tf.minimum(lo + batch_size, width)
            # rows before a member's count are its epoch's; the rest pad shorter members
            left = tf.clip_by_value(counts - lo, 0, hi - lo)
            loss_sum, sw_sum, penalty, grads = self._gradients(
                params, masks, X, Y, sw, pos[:, lo:hi], left, alpha, l1, smoothing
            )
            stepping = tf.logical_and(active, left > 0)
            params, slots = self._update(params, grads, slots, iterations, stepping, rule)
            reported = tf.math.divide_no_nan(loss_sum * scale + penalty, sw_sum)
            total += reported * tf.cast(left, self.dtype)
            return b + 1, total, params, slots, iterations + tf.cast(stepping, tf.int64)

        # an explicit loop (no autograph): tracing converts no source code
        _, total, params, slots, iterations = tf.while_loop(
            lambda b, *_: b < n_batches,
            step,
            (tf.constant(0), tf.zeros_like(alpha), params, slots, iterations),
        )
        finite = tf.ones_like(active)
        for p in params:
            axes = list(range(1, len(p.shape)))
            finite = tf.logical_and(finite, tf.reduce_all(tf.math.is_finite(p), axis=axes))
        mean = tf.math.divide_no_nan(total, tf.cast(counts, self.dtype))
        return mean, params, slots, iterations, finite

    def _gradients(self, params, masks, X, Y, sw, pos, counts, alpha, l1, smoothing):
        """Loss parts, penalties and the members' gradients on one batch each.

        The hand-written backpropagation where it applies (``backprop``), else the tape.
        """
        if self.layers is not None:
            valid, w = self._batch_weights(sw, pos, counts)
            inputs, z = self.forward(params, masks, tf.gather(X, pos))
            loss_sum, sw_sum, grads = backprop.gradients(
                self.layers, self.loss, params, inputs, z, tf.gather(Y, pos), w, valid,
                smoothing, self._penalty_grad(alpha, l1),
            )  # fmt: skip
            return loss_sum, sw_sum, self.penalty(params, alpha, l1), grads
        with tf.GradientTape() as tape:
            tape.watch(params)
            loss_sum, sw_sum, _ = self._loss_parts(params, masks, X, Y, sw, pos, counts, smoothing)
            penalty = self.penalty(params, alpha, l1)
            # members are independent: the sum's gradient is each member's own
            objective = tf.reduce_sum(tf.math.divide_no_nan(loss_sum + penalty, sw_sum))
        return loss_sum, sw_sum, penalty, tape.gradient(objective, params)

    def _rule_constants(self, lr, constants):
        """The update rule's per-member constants in the networks' dtype.

        Returns ``(vectors, by_rank)``: ``(members,)`` vectors, and for each stacked rank
        the same reshaped to broadcast against a variable of that rank.
        """
        dt = self.dtype
        n_constants = len(CONSTANTS[self.solver])
        vectors = [tf.cast(lr, dt)] + [tf.cast(constants[:, j], dt) for j in range(n_constants)]
        if self.solver == "sgd":
            vectors[2] = constants[:, 1] > 0  # Nesterov's flag stays boolean
        return vectors, _by_rank(vectors)

    def _update(self, params, grads, slots, iterations, step, rule):
        """One optimizer step of the members where ``step`` holds; the rest stay as they are.

        Adam's members that do not step get zero rates (``m + (g - m) * 0`` is ``m``, and
        ``p - 0`` is ``p``, exactly), which spares three selections per variable; SGD's
        momentum decays even without a gradient, so its members are selected.
        """
        vectors, by_rank = rule
        k = SLOTS[self.solver]
        if self.solver == "adam":
            per_step = self._adam_rates(vectors, iterations, step)
        else:
            per_step = _by_rank([step])
        new_params, new_slots = [], []
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            r = len(p.shape)
            rule_fn = self._adam if self.solver == "adam" else self._sgd
            p, state = rule_fn(p, g, slots[k * i : k * (i + 1)], by_rank[r], per_step[r])
            new_params.append(p)
            new_slots.extend(state)
        return new_params, new_slots

    def _adam_rates(self, vectors, iterations, step):
        """Per rank: Keras' step size and moment rates, zero for members that do not step."""
        # Keras: alpha = lr * sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t), t = iterations + 1
        lr, b1, b2, one_minus_b1, one_minus_b2 = vectors[:5]
        local_step = tf.cast(iterations + 1, self.dtype)
        alpha = lr * tf.sqrt(1 - tf.pow(b2, local_step)) / (1 - tf.pow(b1, local_step))
        on = tf.cast(step, self.dtype)
        return _by_rank([alpha * on, one_minus_b1 * on, one_minus_b2 * on])

    @staticmethod
    def _adam(p, g, state, constants, per_step):
        """Keras' Adam update (``keras.optimizers.Adam.update_step``), member-wise."""
        eps = constants[5]
        alpha, one_minus_b1, one_minus_b2 = per_step
        m, v = state
        m = m + (g - m) * one_minus_b1
        v = v + (tf.square(g) - v) * one_minus_b2
        return p - (m * alpha) / (tf.sqrt(v) + eps), (m, v)

    @staticmethod
    def _sgd(p, g, state, constants, per_step):
        """Keras' SGD update with (Nesterov) momentum, member-wise; momentum 0 is plain SGD."""
        lr, momentum, nesterov = constants
        (step,) = per_step
        (m,) = state
        m2 = m * momentum - g * lr
        p2 = tf.where(nesterov, p + (m2 * momentum - g * lr), p + m2)
        return tf.where(step, p2, p), (tf.where(step, m2, m),)

    def _evaluate_impl(self, X, Y, sw, pos, counts, alpha, l1, smoothing, masks, params):
        loss_sum, sw_sum, z = self._loss_parts(params, masks, X, Y, sw, pos, counts, smoothing)
        return loss_sum, sw_sum, self.penalty(params, alpha, l1), self.chain.output(z)
