"""The Keras-template backend of :class:`~loop.MemberLoop`: one network, its own trainer.

Fits the stacked trainer does not take train here: Keras callbacks (they need the
template's Keras model), ``partial_fit`` (it continues Keras' optimizer state), CNNs and
convolutional autoencoders, distribution, mixed precision, large sparse or very large data, and
long dense fits (see ``population.lone_on_stack``).
"""

from __future__ import annotations

import numpy as np

from .._tensorflow import keras, tf
from .data import TrainingRows, tensor_chunks
from .loop import MemberLoop, Snapshot, all_finite


class KerasCallbacks:
    """Keras callbacks driven at epoch granularity by a lone fit's :class:`MemberLoop`.

    Parameters
    ----------
    trainer : Trainer
        Its template model is what the callbacks see (``stop_training``, ``optimizer``).
    callbacks : list of keras.callbacks.Callback
        The callbacks.
    """

    def __init__(self, trainer, callbacks):
        self.trainer = trainer
        model = trainer.template.model
        model.stop_training = False
        if trainer.optimizer is not None:
            model.optimizer = trainer.optimizer
        self.list = keras.callbacks.CallbackList(list(callbacks), model=model)

    @classmethod
    def of(cls, trainer, callbacks):
        """The adapter, or ``None`` without callbacks."""
        return cls(trainer, callbacks) if callbacks else None

    def _rate(self):
        return self.trainer.optimizer.learning_rate

    def begin(self, n_done, rate):
        """Epoch ``n_done + 1`` begins; return its (possibly changed) learning rate."""
        self._rate().assign(rate)
        self.list.on_epoch_begin(n_done)
        return float(self._rate().numpy())

    def end(self, n_iter, logs, rate):
        """Epoch ``n_iter`` ended; return ``(stop, next learning rate)``."""
        self._rate().assign(rate)
        self.list.on_epoch_end(n_iter - 1, logs)
        stop = bool(getattr(self.trainer.template.model, "stop_training", False))
        return stop, float(self._rate().numpy())


class LoneEpochs:
    """The lone backend: a fit's epochs and validation through the Keras template's trainer.

    Parameters
    ----------
    trainer : Trainer
        The compiled training functions; its template holds the weights being trained.
    data : FitData
        Encoded training (and validation) arrays.
    cfg : FitConfig
        Loop settings.
    """

    def __init__(self, trainer, data, cfg):
        self.trainer = trainer
        dt = trainer.template.dtype
        self.consts = [tf.constant(v, dt) for v in (cfg.alpha, cfg.l1, cfg.smoothing)]
        self.batch_size = tf.constant(cfg.batch_size, tf.int32)
        self.rows = TrainingRows(data, dt, cfg.batch_size)
        self.val_chunks = None
        if data.X_val is not None:
            self.val_chunks = tensor_chunks(data.X_val, data.Y_val, data.sw_val, dt)

    def run_epoch(self, order, rate):
        """One epoch over the rows in ``order``: its mean loss and a :class:`Snapshot`."""
        index = self.rows.epoch_index(order)
        if self.rows.in_graph:  # the whole epoch in one call
            (chunk,) = self.rows.chunks(index)
            loss, *flats = self.trainer.epoch(*chunk, self.batch_size, *self.consts, rate)
            loss = float(loss)
        else:
            total = 0.0
            for X, Y, sw, positions in self.rows.chunks(index):
                loss, *flats = self.trainer.epoch(
                    X, Y, sw, positions, self.batch_size, *self.consts, rate
                )
                total += float(loss) * int(positions.shape[0])
            loss = total / len(index)
        weight_flats, state_flats = flats
        weights = self.trainer.template.get_weights(weight_flats) if np.isfinite(loss) else None
        finite = weights is not None and all_finite(weights)
        state = self.trainer.optimizer_state(state_flats) if finite else None
        return loss, finite, Snapshot.of(weights, state)

    def validate(self):
        """Validation outputs and loss parts, chunk by chunk (see ``MemberLoop.end_epoch``)."""
        total = sw_sum = penalty = 0.0
        outputs = []
        for Xc, Yc, swc in self.val_chunks():
            t, s, penalty, out = self.trainer.evaluate(Xc, Yc, swc, *self.consts)
            total, sw_sum = total + float(t), sw_sum + float(s)
            outputs.append(out.numpy())
        return np.concatenate(outputs), total, sw_sum, penalty, self.trainer.report_scale


def _run(member, epochs, trainer):
    """Epochs until the member stops; a rollback or Ctrl-C reloads what it keeps."""
    validation = None if epochs.val_chunks is None else epochs.validate
    try:
        while member.active:
            order, rate = member.epoch_order(), member.rate()
            loss, finite, snapshot = epochs.run_epoch(order, rate)
            member.end_epoch(loss, finite, snapshot, validation)
    except KeyboardInterrupt:
        # keep the last completed epoch; a second Ctrl-C during this wrap-up propagates
        member.interrupted()
        trainer.start(*member.final.pair())
        return
    if member.rolled_back:  # weights and optimizer state as they ended the kept epoch
        trainer.start(*member.final.pair())


def train(trainer, init_weights, data, cfg, progress, resume, score_fn, callbacks, rng, hooks=None):
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
        Bookkeeping, updated in place.
    resume : Resume
        Optimizer state (read to continue a ``partial_fit``, written at the end) and best
        weights.
    score_fn : callable
        Maps validation outputs to the validation score (higher is better).
    callbacks : list of keras.callbacks.Callback or None
        Callbacks driven at epoch granularity.
    rng : numpy.random.RandomState
        Source of the shuffling order.
    hooks : EpochHooks, default=None
        Told of every epoch (scikit-learn's callbacks); may ask to stop.

    Returns
    -------
    weights : tuple of (list of ndarray, list of ndarray)
        The trained (or best, under early stopping) weights.
    n_iter : int
        Epochs run.
    """
    template = trainer.template
    with template.lock:
        state = resume.state_for(trainer.spec) if cfg.incremental else None
        state = trainer.start(init_weights, state, progress.learning_rate)
        start = Snapshot.of(template.as_variables(init_weights), state)
        cbs = KerasCallbacks.of(trainer, callbacks)
        epochs = LoneEpochs(trainer, data, cfg)  # before the member starts a progress bar
        member = MemberLoop(
            cfg, progress, resume, score_fn, rng, data.n_train, start, hooks, callbacks=cbs
        )
        if cbs is not None:
            cbs.list.on_train_begin()
        try:
            _run(member, epochs, trainer)
        finally:
            member.report.close()
        final = None
        if cbs is not None:
            cbs.list.on_train_end()  # callbacks may change the weights (restore_best_weights)
            final = (template.get_weights(), trainer.get_optimizer_state())
        return member.finish(trainer.spec, final), member.n_iter
