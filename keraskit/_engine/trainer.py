"""Trainers: the compiled training step of one (architecture, optimizer) signature.

Everything that varies between fits of one shape (data, sample weights, learning rate,
``alpha``, ``l1``, label smoothing, batch size) is a tensor argument, so one trace serves
every fit. Stochastic solvers get a whole-epoch function (batches gathered in the graph);
``lbfgs`` gets a loss and a gradient over flat weights for scipy. Losses and penalties are
scikit-learn's: ``(sum of weighted losses + penalty) / sum of weights`` per batch.
"""

from __future__ import annotations

import numpy as np

from .._networks.specs import OUTPUT_LAYER
from .._tensorflow import keras, tf
from .distribute import skip_together, strategy_scope
from .losses import per_sample_loss, report_scale
from .optimizers import make_optimizer
from .template import VariableGroup, compiled


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
        self.report_scale = report_scale(spec.loss, n_outputs)
        dt, spec_of = template.dtype, tf.TensorSpec
        x = spec_of(template.model.inputs[0].shape, dt)
        y = spec_of((None, template.spec.n_outputs), dt)
        w = spec_of((None,), dt)
        scalars = [spec_of((), dt)] * 3  # alpha, l1, label smoothing
        idx = [spec_of((None,), tf.int32), spec_of((), tf.int32)]  # order, batch size
        # explicit signatures: one trace per trainer, whatever the data size or hyperparameters
        if self.optimizer is not None:
            self._optimizer_variables = VariableGroup(self.optimizer.variables)
            # weights and optimizer state loaded together: one call to start a fit
            self._start_variables = VariableGroup(
                template.trainable + template.non_trainable + list(self.optimizer.variables)
            )
            # Nadam's u_product starts at 1 and Adagrad's accumulators at 0.1: keep the
            # freshly built values to reset to, not zeros
            self._fresh_state = self.get_optimizer_state()
            rate_variable = self.optimizer.learning_rate
            self._rate_index = next(
                i for i, v in enumerate(self.optimizer.variables) if v is rate_variable
            )
            rate = spec_of((), tf.float32)  # the learning rate, as Keras' variable holds it
            self.epoch = compiled(self._epoch_impl, input_signature=[x, y, w, *idx, *scalars, rate])
        else:
            flat = [spec_of((None,), dt)]
            self.assign_flat = compiled(self._assign_flat_impl, input_signature=flat)
            self.data_grad = compiled(self._data_grad_impl, input_signature=[x, y, w, scalars[0]])
            self.penalty_grad = compiled(self._penalty_grad_impl, input_signature=scalars[:2])
        self.evaluate = compiled(self._evaluate_impl, input_signature=[x, y, w, *scalars])

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
        per_sample = per_sample_loss(self.spec.loss, Y, z, smoothing)
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
            grads = skip_together(grads)
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

    def _epoch_impl(self, X, Y, sw, perm, batch_size, alpha, l1, smoothing, learning_rate):
        self.optimizer.learning_rate.assign(learning_rate)
        n = tf.shape(perm)[0]
        n_batches = (n + batch_size - 1) // batch_size

        def step(i, total):
            idx = perm[i * batch_size : tf.minimum((i + 1) * batch_size, n)]
            xb, yb, swb = tf.gather(X, idx), tf.gather(Y, idx), tf.gather(sw, idx)
            loss = self._train_step(xb, yb, swb, alpha, l1, smoothing)
            return i + 1, total + loss * tf.cast(tf.shape(idx)[0], total.dtype)

        # an explicit loop: the function is traced without autograph (see compiled)
        _, total = tf.while_loop(
            lambda i, _: i < n_batches,
            step,
            (tf.constant(0), tf.zeros((), self.template.dtype)),
        )
        # the weights and optimizer state that end the epoch come back with its loss: one
        # call, not three
        mean = total / tf.cast(n, total.dtype)
        return mean, self.template.read_flat(), self._optimizer_variables._read_impl()

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

    def start(self, weights, optimizer_state=None, rate=None):
        """Load a fit's starting weights and optimizer state (fresh when ``None``) in one call.

        Parameters
        ----------
        weights : tuple of (list of ndarray, list of ndarray)
            Trainable and non-trainable weights of the template.
        optimizer_state : list of ndarray, default=None
            Saved by :meth:`get_optimizer_state` (to continue a ``partial_fit``).
        rate : float, default=None
            The learning rate a fresh state holds (the fit's first rate; each epoch sets
            its own), so that a fit's starting state is the same in every backend.

        Returns
        -------
        optimizer_state : list of ndarray
            The state loaded.
        """
        trainable, non_trainable = weights
        state = self._fresh_state if optimizer_state is None else optimizer_state
        if optimizer_state is None and rate is not None:
            state = list(state)
            with np.errstate(over="ignore"):
                state[self._rate_index] = np.array(rate, np.float32)
        if len(state) != len(self.optimizer.variables):
            raise ValueError("optimizer state does not match the optimizer's variables")
        self.template.check_weights(weights)
        self._start_variables.load([*trainable, *non_trainable, *state])
        self.template.spread_seeds()
        return state

    def optimizer_state(self, flats):
        """Optimizer variables as numpy arrays from the flat tensors an epoch returned."""
        return self._optimizer_variables.unpack(flats)

    def get_optimizer_state(self):
        """The optimizer's variables as numpy copies (to continue with ``partial_fit``)."""
        return self._optimizer_variables.read()
