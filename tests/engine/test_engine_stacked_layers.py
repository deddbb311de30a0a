"""Stacked dropout and batch normalization: each member computes what its lone Keras layer does."""

import numpy as np
import pytest

from keraskit._engine import stacked_layers as sl
from keraskit._tensorflow import keras, tf

F64 = tf.float64
# member 1 does not drop, member 2 has 3 real rows of 5, member 3's seed reduces to 0 mod 2**31-2
RATES = [0.3, 0.0, 0.5, 0.25]
SEEDS = [[12345, 0], [777, 0], [987654321, 41], [2**31 - 2, 3]]
COUNTS = [5, 5, 3, 5]
ROWS, UNITS = 5, 3


def _keras_dropout(rate, seed):
    layer = keras.layers.Dropout(rate, seed=1, dtype="float64")
    if rate > 0:
        layer.seed_generator.state.assign(np.asarray(seed, np.int64))
    return layer


def _keras_state(layer, seed):
    return layer.seed_generator.state.numpy() if layer.rate > 0 else np.asarray(seed)


def _keras_member(rate, seed, x, upstream):
    """Output, gradient and state after of a Keras ``Dropout`` whose state is ``seed``."""
    layer = _keras_dropout(rate, seed)
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer(x, training=True)
        loss = tf.reduce_sum(out * upstream)
    grad = tape.gradient(loss, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return out.numpy(), grad.numpy(), _keras_state(layer, seed)


def _stacked(h, rates, seeds, upstream, counts=None, fn=None):
    h, fn = tf.constant(h), fn or _eager_dropout
    with tf.GradientTape() as tape:
        tape.watch(h)
        out, new_seeds = fn(h, tf.constant(rates, F64), tf.constant(seeds, tf.int64), counts)
        loss = tf.reduce_sum(out * upstream)
    return out.numpy(), tape.gradient(loss, h).numpy(), new_seeds.numpy()


def test_uniform_draws_are_prefix_consistent():
    """A member's real rows are a prefix of the padded batch: drawing fewer rows is exact."""
    for dtype in (tf.float64, tf.float32):
        longer = tf.random.stateless_uniform((9, 7), [3, 8], dtype=dtype).numpy()
        for rows in (1, 2, 5):
            shorter = tf.random.stateless_uniform((rows, 7), [3, 8], dtype=dtype).numpy()
            np.testing.assert_array_equal(shorter, longer[:rows])


def _eager_dropout(h, rates, seeds, counts):
    return sl.dropout(h, rates, seeds, counts=counts)


_spec = tf.TensorSpec
_graph_dropout = tf.function(
    _eager_dropout,
    autograph=False,
    input_signature=[
        _spec((None, None, None), F64),
        _spec((None,), F64),
        _spec((None, 2), tf.int64),
        _spec((None,), tf.int32),
    ],
)


@pytest.mark.parametrize("fn", [_eager_dropout, _graph_dropout], ids=["eager", "graph"])
def test_dropout_matches_keras_layers_call_after_call(fn):
    rng = np.random.RandomState(0)
    seeds, counts = np.asarray(SEEDS, np.int64), tf.constant(COUNTS, tf.int32)
    for _ in range(3):  # consecutive calls: the states advance as Keras advances them
        h = rng.standard_normal((len(RATES), ROWS, UNITS))
        h[2, COUNTS[2] :] = np.nan  # padding never reaches real rows
        upstream = rng.standard_normal(h.shape)
        out, grad, new_seeds = _stacked(h, RATES, seeds, upstream, counts, fn)
        for m, (rate, n) in enumerate(zip(RATES, COUNTS, strict=True)):
            ref, ref_grad, state = _keras_member(rate, seeds[m], h[m, :n], upstream[m, :n])
            np.testing.assert_array_equal(out[m, :n], ref)
            np.testing.assert_array_equal(grad[m, :n], ref_grad)
            np.testing.assert_array_equal(new_seeds[m], state)
        np.testing.assert_array_equal(out[1], h[1])  # rate 0: exactly the input
        assert not np.array_equal(seeds[0], new_seeds[0])
        seeds = new_seeds


def test_dropout_without_counts_uses_every_row_and_rate_one_keeps_its_state():
    rates, seeds = [0.2, 1.0], [[5, 2], [6, 0]]
    rng = np.random.RandomState(1)
    h = rng.standard_normal((2, ROWS, UNITS))
    upstream = rng.standard_normal(h.shape)
    out, grad, new_seeds = _stacked(h, rates, seeds, upstream)
    for m, rate in enumerate(rates):
        ref, ref_grad, state = _keras_member(rate, seeds[m], h[m], upstream[m])
        np.testing.assert_array_equal(out[m], ref)
        np.testing.assert_array_equal(grad[m], ref_grad)
        np.testing.assert_array_equal(new_seeds[m], state)
    np.testing.assert_array_equal(out[1], 0.0)
    np.testing.assert_array_equal(new_seeds[1], seeds[1])


def test_dropout_members_without_rows_and_inference_keep_their_states():
    h = tf.ones((2, ROWS, UNITS), F64)
    rates, seeds = tf.constant([0.5, 0.5], F64), tf.constant([[1, 0], [2, 0]], tf.int64)
    _, new_seeds = sl.dropout(h, rates, seeds, counts=tf.constant([0, 2]))
    np.testing.assert_array_equal(new_seeds.numpy(), [[1, 0], [2, 1]])
    out, same = sl.dropout(h, rates, seeds, training=False)
    assert out is h and same is seeds


def _keras_batch_norm(gamma, beta, mean, variance):
    layer = keras.layers.BatchNormalization(momentum=0.9, dtype="float64")
    layer.build((None, UNITS))
    for variable, value in zip(layer.weights, (gamma, beta, mean, variance), strict=True):
        variable.assign(value)
    return layer


def _keras_bn_member(layer, x, upstream):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer(x, training=True)
        loss = tf.reduce_sum(out * upstream)
    grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
    return out.numpy(), [g.numpy() for g in grads]


_graph_batch_norm = tf.function(
    sl.batch_norm_train,
    autograph=False,
    input_signature=[_spec((None, None, None), F64), _spec((None,), tf.int32)]
    + [_spec((None, None), F64)] * 4,
)


def _stacked_bn(h, counts, gamma, beta, mean, variance, upstream, valid):
    """Output, moving statistics and gradients (h, gamma, beta) of the stacked layer."""
    h, gamma, beta = tf.constant(h), tf.constant(gamma), tf.constant(beta)
    with tf.GradientTape() as tape:
        tape.watch([h, gamma, beta])
        out, mean, variance = _graph_batch_norm(h, counts, gamma, beta, mean, variance)
        loss = tf.reduce_sum(tf.where(valid, out * upstream, 0.0))
    grads = [g.numpy() for g in tape.gradient(loss, [h, gamma, beta])]
    return out.numpy(), mean.numpy(), variance.numpy(), grads


def _check_bn_member(layer, m, n, h, upstream, out, mean, variance, grads):
    if n == 0:  # Keras makes no call: the statistics stay
        np.testing.assert_array_equal(mean[m], layer.moving_mean.numpy())
        np.testing.assert_array_equal(variance[m], layer.moving_variance.numpy())
        return
    ref, (gx, gg, gb) = _keras_bn_member(layer, h[m, :n], upstream[m, :n])
    close = dict(rtol=0, atol=1e-12)
    np.testing.assert_allclose(out[m, :n], ref, **close)
    np.testing.assert_allclose(mean[m], layer.moving_mean.numpy(), **close)
    np.testing.assert_allclose(variance[m], layer.moving_variance.numpy(), **close)
    np.testing.assert_allclose(grads[0][m, :n], gx, **close)
    np.testing.assert_allclose(grads[1][m], gg, **close)
    np.testing.assert_allclose(grads[2][m], gb, **close)


def test_batch_norm_matches_keras_in_training_and_inference():
    rng = np.random.RandomState(2)
    counts = np.array([6, 4, 1, 0], np.int32)
    members, rows = len(counts), 6
    gamma, beta = 1 + 0.1 * rng.standard_normal((2, members, UNITS))
    mean, variance = 0.1 * rng.standard_normal((members, UNITS)), rng.uniform(0.5, 2, (4, UNITS))
    layers = [_keras_batch_norm(*p) for p in zip(gamma, beta, mean, variance, strict=True)]
    valid = (np.arange(rows)[None, :] < counts[:, None])[:, :, None]
    for _ in range(2):  # consecutive calls: the moving statistics follow Keras'
        h = 3 + 2 * rng.standard_normal((members, rows, UNITS))
        h[1, counts[1] :] = np.inf  # padding reaches neither the moments nor real rows
        upstream = np.where(valid, rng.standard_normal(h.shape), 0.0)
        out, mean, variance, grads = _stacked_bn(
            h, counts, gamma, beta, mean, variance, upstream, valid
        )
        for m, (layer, n) in enumerate(zip(layers, counts, strict=True)):
            _check_bn_member(layer, m, n, h, upstream, out, mean, variance, grads)
        np.testing.assert_array_equal(grads[0][~valid[..., 0]], 0.0)  # padding: no gradient
        assert np.isfinite(out).all()
    h = rng.standard_normal((members, rows, UNITS))
    infer = sl.batch_norm_infer(tf.constant(h), gamma, beta, mean, variance).numpy()
    for m, layer in enumerate(layers):
        ref = layer(tf.constant(h[m]), training=False).numpy()
        np.testing.assert_allclose(infer[m], ref, rtol=0, atol=1e-12)
