"""The stacked update rules: every member steps as its lone Keras optimizer would."""

import numpy as np
import pytest

from keraskit._engine import rules
from keraskit._engine.optimizers import OPTIMIZERS, SOLVERS, TRAITS, make_optimizer
from keraskit._engine.records import TrainSpec
from keraskit._tensorflow import keras, tf

#: Each solver's members: different constants side by side.
MEMBERS = {
    "sgd": [
        dict(momentum=0.9, nesterov=True),
        dict(momentum=0.9, nesterov=False),
        dict(momentum=0.0, nesterov=True),
        dict(momentum=0.35, nesterov=True),
    ],
    "adam": [
        dict(),
        dict(beta_1=0.8, beta_2=0.99, epsilon=1e-7),
        dict(beta_1=0.95, beta_2=0.9999, epsilon=1e-3),
    ],
    "adamw": [
        dict(weight_decay=1e-4),
        dict(beta_1=0.8, beta_2=0.99, epsilon=1e-7, weight_decay=0.3),
        dict(weight_decay=0.0),
    ],
    "nadam": [
        dict(),
        dict(beta_1=0.8, beta_2=0.99, epsilon=1e-7),
        dict(beta_1=0.95, beta_2=0.9999, epsilon=1e-3),
    ],
    "rmsprop": [dict(epsilon=1e-8), dict(epsilon=1e-7), dict(epsilon=1e-2)],
    "adagrad": [dict(epsilon=1e-8), dict(epsilon=1e-7), dict(epsilon=1e-2)],
}
#: Stacked variables: two dense layers' kernels and biases.
SHAPES = [(3, 4), (4,), (4, 2), (2,)]
N_STEPS = 6
#: float64 agrees to the last bit where both sides run as graphs; float32 Rsqrt (Grappler's
#: rewrite of RMSprop's and Adagrad's ``x / sqrt(y)``) is vectorised by Eigen with an
#: approximation whose result depends on an element's position, so an ulp may differ.
TOL = {"float64": 1e-13, "float32": 1e-6}


def _fresh_state(solver, n, dtype):
    """``n`` members' fresh state, stacked as a population trains it."""
    return [tf.constant(np.stack([a] * n)) for a in rules.initial_arrays(solver, SHAPES, dtype)]


def _stacked_step(solver, dtype, params, grads, state, iterations, lr, constants, stepping):
    c = rules.member_constants(solver, lr, constants, dtype)
    params, state = rules.update(solver, params, grads, state, iterations, stepping, c)
    return params, state, iterations + tf.cast(stepping, tf.int64)


STEP = tf.function(_stacked_step, autograph=False)


def _lone(spec, start, dtype, mode):
    """A member's own Keras optimizer, its variables, and its ``apply(grads)``: eager, or
    traced as keraskit's lone trainer runs it (Grappler then rewrites ``x / sqrt(y)``)."""
    variables = [keras.Variable(w, dtype=dtype, name=f"v{i}") for i, w in enumerate(start)]
    optimizer = make_optimizer(spec)
    optimizer.build(variables)

    def apply(grads):
        optimizer.apply(grads, variables)

    return optimizer, variables, apply if mode == "eager" else tf.function(apply, autograph=False)


def _same(ours, theirs, tol):
    assert np.shape(ours) == np.shape(theirs)
    assert np.asarray(ours).dtype == np.asarray(theirs).dtype
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)


def _check_member(j, spec, lone, params, state, iterations, rate, tol):
    optimizer, variables, _ = lone
    for p, v in zip(params, variables, strict=True):
        _same(p.numpy()[j], v.numpy(), tol)
    k = len(rules.RULES[spec.solver].slots)
    per_variable = [[state[k * i + s].numpy()[j] for s in range(k)] for i in range(len(SHAPES))]
    extras = [e.numpy()[j] for e in state[k * len(SHAPES) :]]
    ours = rules.keras_state(spec, iterations.numpy()[j], rate, per_variable, extras)
    theirs = [v.numpy() for v in optimizer.variables]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        _same(a, b, tol)
    names = [f"v{i}_{s}" for i in range(len(SHAPES)) for s in rules.slot_names(spec)]
    assert [v.name for v in optimizer.variables[2 : 2 + len(names)]] == names


@pytest.mark.parametrize(
    "dtype, mode", [("float64", "eager"), ("float64", "graph"), ("float32", "graph")]
)
@pytest.mark.parametrize("solver", sorted(OPTIMIZERS))
def test_stacked_members_step_as_their_lone_keras_optimizers(solver, dtype, mode):
    rng = np.random.RandomState(0)
    specs = [TrainSpec("squared_error", solver, **kw) for kw in MEMBERS[solver]]
    n = len(specs)
    start = [rng.normal(size=(n, *shape)).astype(dtype) for shape in SHAPES]
    lone = [_lone(spec, [w[j] for w in start], dtype, mode) for j, spec in enumerate(specs)]
    params = [tf.constant(w) for w in start]
    state = _fresh_state(solver, n, dtype)
    iterations = tf.zeros((n,), tf.int64)
    constants = tf.constant([rules.constants_row(s) for s in specs], tf.float64)
    for t in range(N_STEPS):
        lr = rng.uniform(1e-3, 0.2, size=n).astype(np.float32)
        # member j sits out some steps (member 1 the first), so step counts differ
        stepping = np.array([(t + 2 * j) % 4 != 2 for j in range(n)])
        grads = [rng.normal(size=w.shape).astype(dtype) for w in start]
        params, state, iterations = STEP(
            solver, dtype, params, [tf.constant(g) for g in grads], state, iterations,
            tf.constant(lr), constants, tf.constant(stepping),
        )  # fmt: skip
        for j, (optimizer, _, apply) in enumerate(lone):
            optimizer.learning_rate = lr[j]
            if stepping[j]:
                apply([tf.constant(g[j]) for g in grads])
            _check_member(j, specs[j], lone[j], params, state, iterations, lr[j], TOL[dtype])
    assert len(set(iterations.numpy())) > 1


@pytest.mark.parametrize("solver", sorted(OPTIMIZERS))
def test_members_that_do_not_step_keep_their_variables_and_state_bit_for_bit(solver):
    rng = np.random.RandomState(1)
    specs = [TrainSpec("squared_error", solver, **kw) for kw in MEMBERS[solver]]
    n = len(specs)
    params = [tf.constant(rng.normal(size=(n, *shape))) for shape in SHAPES]
    state = _fresh_state(solver, n, "float64")
    constants = tf.constant([rules.constants_row(s) for s in specs], tf.float64)
    lr = tf.constant(np.full(n, 0.05, np.float32))
    iterations = tf.zeros((n,), tf.int64)
    for t in range(3):
        stepping = tf.constant(np.arange(n) != t % n)
        grads = [tf.constant(rng.normal(size=p.shape)) for p in params]
        args = (params, grads, state, iterations, lr, constants, stepping)
        new_params, new_state, iterations = STEP(solver, "float64", *args)
        idle = t % n
        for old, new in zip(params + state, new_params + new_state, strict=True):
            assert old.numpy()[idle].tobytes() == new.numpy()[idle].tobytes()
        params, state = new_params, new_state
    assert iterations.numpy().tolist() == [3 - sum(t % n == j for t in range(3)) for j in range(n)]


def test_the_rules_cover_exactly_the_keras_optimizers_and_traits_every_solver():
    assert set(rules.RULES) == set(OPTIMIZERS)
    assert set(TRAITS) == set(SOLVERS)
    for solver, rule in rules.RULES.items():
        spec = TrainSpec("squared_error", solver)
        assert len(rules.constants_row(spec)) == len(rule.constants)
        assert set(rules.slot_names(spec)) <= set(rule.slots)
        assert not TRAITS[solver].full_batch
    assert TRAITS["lbfgs"].full_batch
    decoupled = [s for s, t in TRAITS.items() if t.decoupled_weight_decay]
    assert decoupled == ["adamw"]
