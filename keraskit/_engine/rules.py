"""The update rules of keraskit's stochastic solvers, written member-wise for stacked networks.

A population trainer stacks its members' variables on a leading *members* axis (kernels
``(members, in, out)``, biases ``(members, out)``) and updates them all in one call, each
member with its own learning rate, optimizer constants, step count and state. Here each
solver's Keras optimizer is written member-wise, operation for operation and with Keras'
roundings, so that every member ends where a lone Keras optimizer would, to the last bit:

- the learning rate is a float32 variable, cast to the variables' dtype;
- ``ops.cast`` of a Python float goes through a float32 tensor: SGD's ``momentum``, the
  ``beta_1`` and ``beta_2`` that Adam raises to the step's power (and that Nadam uses
  throughout), AdamW's ``weight_decay``, Nadam's ``0.96`` in its update and Adagrad's
  initial accumulator ``0.1`` are float32 values;
- a Python float met in arithmetic with a tensor enters in the tensor's dtype: Adam's
  ``1 - beta_1`` and ``1 - beta_2``, every ``epsilon``, RMSprop's ``rho``, and the
  ``beta_1`` and ``0.96`` of Nadam's ``u_product`` update;
- a step's number is ``iterations + 1``, ``iterations`` counting the member's steps so far.

:data:`RULES` holds one :class:`Rule` per stochastic solver (adding a solver is one entry),
:data:`TRAITS` what the engine asks of every solver, L-BFGS included, instead of testing
its name. A population's state is one list: each variable's slots in Keras' order, variable
after variable, then the optimizer-level state (Nadam's ``u_product``), all stacked.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._tensorflow import keras, tf


def _no_values(c, iterations, stepping, extras):
    """A rule's ``begin`` when its step needs no per-batch values."""
    return {}, extras


def _nothing_derived(c):
    """A rule's ``derive`` when its constants are used as they are."""
    return {}


@dataclass(frozen=True)
class Rule:
    """One stochastic solver's Keras update rule, written member-wise.

    Parameters
    ----------
    slots : tuple of str
        Each variable's state, in the order Keras' ``optimizer.variables`` lists it. Every
        member carries every slot (see ``keras_slots``).
    constants : tuple of str
        The columns of a member's constants row (:func:`constants_row`).
    row : callable
        ``TrainSpec -> list of float``: a member's constants, as Keras computes with them.
    step : callable
        ``(param, grad, slots, c) -> (param, slots)`` for one stacked variable, ``c`` the
        per-member values broadcast to its rank (constants, ``lr``, ``stepping`` and the
        step's values from ``begin``).
    begin : callable, default=_no_values
        ``(c, iterations, stepping, extras) -> (values, extras)``: the batch's per-member
        values (``(members,)`` vectors) and optimizer-level state after the step.
    derive : callable, default=_nothing_derived
        ``c -> dict``: loop-invariant vectors computed from the constants, once.
    flags : tuple of str, default=()
        Constant columns that are booleans (stored as 0 or 1).
    slot_init : tuple of float, default=()
        The slots' initial values (zeros if empty).
    extras : tuple of (str, float), default=()
        Optimizer-level state of each member and its initial value, listed by Keras after
        every variable's slots.
    keras_slots : callable or None, default=None
        ``TrainSpec -> tuple of str``: the slots a member's lone Keras optimizer builds
        (default: all of ``slots``).
    keeps_idle : bool, default=False
        Whether ``step`` itself leaves members that do not step as they are (through zero
        rates, exact for finite values); otherwise :func:`update` selects.
    """

    slots: tuple
    constants: tuple
    row: Callable
    step: Callable
    begin: Callable = _no_values
    derive: Callable = _nothing_derived
    flags: tuple = ()
    slot_init: tuple = ()
    extras: tuple = ()
    keras_slots: Callable = None
    keeps_idle: bool = False


def _f32(value):
    """``value`` rounded to float32, as ``ops.cast`` of a Python float rounds it."""
    return float(np.float32(value))


def _keras_default(optimizer, parameter):
    """The default of a Keras optimizer's parameter that keraskit leaves alone."""
    return inspect.signature(getattr(keras.optimizers, optimizer)).parameters[parameter].default


def _sgd_row(spec):
    nesterov = bool(spec.nesterov and spec.momentum > 0)  # as optimizers.make_optimizer
    return [_f32(spec.momentum), float(nesterov), float(spec.momentum != 0)]


def _sgd_begin(c, iterations, stepping, extras):
    """The members whose momentum moves: stepping ones that have a momentum slot."""
    return {"moves": tf.logical_and(stepping, c["has_momentum"])}, extras


def _sgd_step(p, g, slots, c):
    """Keras' ``SGD``: ``m = m * momentum - g * lr``, then ``p + m``, or with Nesterov
    ``p + (m * momentum - g * lr)``. Without momentum Keras has no slot and steps
    ``p - g * lr``: the slot stays 0 and ``p + (0 * 0 - g * lr)`` is that, exactly."""
    (m,) = slots
    scaled = g * c["lr"]
    m2 = m * c["momentum"] - scaled
    p2 = tf.where(c["nesterov"], p + (m2 * c["momentum"] - scaled), p + m2)
    return tf.where(c["stepping"], p2, p), (tf.where(c["moves"], m2, m),)


def _sgd_slots(spec):
    return ("momentum",) if spec.momentum != 0 else ()


def _adam_row(spec):
    return [_f32(spec.beta_1), _f32(spec.beta_2), 1 - spec.beta_1, 1 - spec.beta_2, spec.epsilon]


def _adamw_row(spec):
    return _adam_row(spec) + [_f32(spec.weight_decay)]


def _adam_begin(c, iterations, stepping, extras):
    """Keras' step size ``lr * sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)``, its moment
    rates and learning rate, all zero for the members that do not step."""
    t = tf.cast(iterations + 1, c["lr"].dtype)
    alpha = c["lr"] * tf.sqrt(1 - tf.pow(c["beta_2"], t)) / (1 - tf.pow(c["beta_1"], t))
    on = tf.cast(stepping, c["lr"].dtype)
    rates = {"alpha": alpha, "rate_1": c["one_minus_beta_1"], "rate_2": c["one_minus_beta_2"]}
    return {k: v * on for k, v in rates.items()}, extras


def _adamw_begin(c, iterations, stepping, extras):
    """Adam's values, and the learning rate of the decay (zero where a member does not step)."""
    values, extras = _adam_begin(c, iterations, stepping, extras)
    values["decay_lr"] = c["lr"] * tf.cast(stepping, c["lr"].dtype)
    return values, extras


def _adam_step(p, g, slots, c):
    """Keras' ``Adam``: ``m += (g - m) * (1 - beta_1)``, ``v += (g**2 - v) * (1 - beta_2)``,
    ``p -= m * alpha / (sqrt(v) + epsilon)``. A member that does not step has zero rates:
    ``m + (g - m) * 0`` is ``m`` and ``p - 0 / (sqrt(v) + epsilon)`` is ``p``."""
    m, v = slots
    m = m + (g - m) * c["rate_1"]
    v = v + (tf.square(g) - v) * c["rate_2"]
    return p - (m * c["alpha"]) / (tf.sqrt(v) + c["epsilon"]), (m, v)


def _adamw_step(p, g, slots, c):
    """Keras' ``AdamW``: decoupled decay ``p - p * wd * lr`` (of every variable, biases
    included), then Adam's step; zero rates leave a member that does not step as it is."""
    return _adam_step(p - p * c["weight_decay"] * c["decay_lr"], g, slots, c)


def _nadam_row(spec):
    return [_f32(spec.beta_1), _f32(spec.beta_2), spec.epsilon, spec.beta_1]


def _nadam_derive(c):
    return {"one_minus_beta_1": 1 - c["beta_1"], "one_minus_beta_2": 1 - c["beta_2"]}


def _nadam_begin(c, iterations, stepping, extras):
    """Keras' ``Nadam``: ``u_product`` advanced first (``_backend_update_step``, with the
    unrounded ``beta_1`` and ``0.96``), then the step's momentum schedule and denominators
    (``update_step``, with float32 ones)."""
    dt = c["lr"].dtype
    t, t_next = tf.cast(iterations + 1, dt), tf.cast(iterations + 2, dt)
    (u_product,) = extras
    u_new = u_product * c["beta_1_raw"] * (1.0 - 0.5 * tf.pow(tf.constant(0.96, dt), t))
    decay = tf.constant(_f32(0.96), dt)
    u_t = c["beta_1"] * (1.0 - 0.5 * tf.pow(decay, t))
    u_t_1 = c["beta_1"] * (1.0 - 0.5 * tf.pow(decay, t_next))
    values = {
        "u_t_1": u_t_1,
        "m_denominator": 1 - u_new * u_t_1,
        "g_coefficient": 1 - u_t,
        "g_denominator": 1 - u_new,
        "v_denominator": 1 - tf.pow(c["beta_2"], t),
    }
    return values, [tf.where(stepping, u_new, u_product)]


def _nadam_step(p, g, slots, c):
    """Keras' ``Nadam.update_step``: Adam's moments, then Nesterov's corrected momentum
    ``m_hat = u_t_1 * m / (1 - u_prod * u_t_1) + (1 - u_t) * g / (1 - u_prod)``."""
    m, v = slots
    m = m + (g - m) * c["one_minus_beta_1"]
    v = v + (tf.square(g) - v) * c["one_minus_beta_2"]
    m_hat = (c["u_t_1"] * m) / c["m_denominator"] + (c["g_coefficient"] * g) / c["g_denominator"]
    v_hat = v / c["v_denominator"]
    return p - (m_hat * c["lr"]) / (tf.sqrt(v_hat) + c["epsilon"]), (m, v)


_RMSPROP_RHO = _keras_default("RMSprop", "rho")  # keraskit sets RMSprop's epsilon only


def _rmsprop_row(spec):
    return [_RMSPROP_RHO, 1 - _RMSPROP_RHO, spec.epsilon]


def _rmsprop_step(p, g, slots, c):
    """Keras' ``RMSprop`` (no momentum, not centered): ``v = rho * v + (1 - rho) * g**2``,
    ``p -= lr * g / sqrt(v + epsilon)``."""
    (v,) = slots
    v = c["rho"] * v + c["one_minus_rho"] * tf.square(g)
    return p - (c["lr"] * g) / tf.sqrt(v + c["epsilon"]), (v,)


def _adagrad_step(p, g, slots, c):
    """Keras' ``Adagrad``: ``a += g**2``, ``p -= lr * g / sqrt(a + epsilon)``."""
    (a,) = slots
    a = a + tf.square(g)
    return p - (c["lr"] * g) / tf.sqrt(a + c["epsilon"]), (a,)


_ADAM_CONSTANTS = ("beta_1", "beta_2", "one_minus_beta_1", "one_minus_beta_2", "epsilon")

#: Stochastic solver -> its member-wise Keras update rule.
RULES = {
    "sgd": Rule(
        slots=("momentum",),
        constants=("momentum", "nesterov", "has_momentum"),
        row=_sgd_row,
        step=_sgd_step,
        begin=_sgd_begin,
        flags=("nesterov", "has_momentum"),
        keras_slots=_sgd_slots,
        keeps_idle=True,
    ),
    "adam": Rule(
        slots=("momentum", "velocity"),
        constants=_ADAM_CONSTANTS,
        row=_adam_row,
        step=_adam_step,
        begin=_adam_begin,
        keeps_idle=True,
    ),
    "adamw": Rule(
        slots=("momentum", "velocity"),
        constants=(*_ADAM_CONSTANTS, "weight_decay"),
        row=_adamw_row,
        step=_adamw_step,
        begin=_adamw_begin,
        keeps_idle=True,
    ),
    "nadam": Rule(
        slots=("momentum", "velocity"),
        constants=("beta_1", "beta_2", "epsilon", "beta_1_raw"),
        row=_nadam_row,
        step=_nadam_step,
        begin=_nadam_begin,
        derive=_nadam_derive,
        extras=(("u_product", 1.0),),
    ),
    "rmsprop": Rule(
        slots=("velocity",),
        constants=("rho", "one_minus_rho", "epsilon"),
        row=_rmsprop_row,
        step=_rmsprop_step,
    ),
    "adagrad": Rule(
        slots=("accumulator",),
        constants=("epsilon",),
        row=lambda spec: [spec.epsilon],
        step=_adagrad_step,
        slot_init=(_f32(_keras_default("Adagrad", "initial_accumulator_value")),),
    ),
}


def constants_row(spec):
    """One member's optimizer constants, the values Keras computes with (float64).

    Parameters
    ----------
    spec : TrainSpec
        The member's training signature (a stochastic solver).

    Returns
    -------
    row : list of float
        Values of ``RULES[spec.solver].constants``, in order.
    """
    return [float(v) for v in RULES[spec.solver].row(spec)]


def slot_names(spec):
    """The per-variable slots of a member's lone Keras optimizer, in Keras' order.

    Parameters
    ----------
    spec : TrainSpec
        The member's training signature.

    Returns
    -------
    names : tuple of str
        A subset of ``RULES[spec.solver].slots`` (SGD without momentum has none).
    """
    rule = RULES[spec.solver]
    return rule.slots if rule.keras_slots is None else rule.keras_slots(spec)


def _broadcast(vectors, rank):
    """``(members,)`` vectors reshaped to broadcast against stacked variables of ``rank``."""
    if rank == 1:
        return dict(vectors)
    shape = [-1] + [1] * (rank - 1)
    return {k: tf.reshape(v, shape) for k, v in vectors.items()}


def member_constants(solver, lr, constants, dtype, ranks=(2, 3)):
    """The members' learning rates and constants in the variables' dtype, broadcast once.

    They do not change within an epoch: compute them outside its loop.

    Parameters
    ----------
    solver : str
        A stochastic solver.
    lr : tf.Tensor
        ``(members,)`` float32 learning rates (Keras keeps its rate in float32).
    constants : tf.Tensor
        ``(members, n_constants)`` float64 rows of :func:`constants_row`.
    dtype : str or tf.DType
        The variables' dtype.
    ranks : tuple of int, default=(2, 3)
        Ranks of the stacked variables to broadcast for (others are broadcast per call).

    Returns
    -------
    constants : dict
        ``{rank: {name: tensor}}``, rank 1 holding the ``(members,)`` vectors.
    """
    rule = RULES[solver]
    dt = tf.as_dtype(dtype)
    vectors = {"lr": tf.cast(lr, dt)}
    for j, name in enumerate(rule.constants):
        column = constants[:, j]
        vectors[name] = column > 0 if name in rule.flags else tf.cast(column, dt)
    vectors.update(rule.derive(vectors))
    return {r: _broadcast(vectors, r) for r in {1, *ranks}}


def update(solver, params, grads, state, iterations, stepping, constants):
    """One optimizer step of the members where ``stepping`` holds; the others keep their
    variables and state bit for bit.

    Parameters
    ----------
    solver : str
        A stochastic solver.
    params, grads : list of tf.Tensor
        Stacked variables and their gradients (leading axis: members).
    state : list of tf.Tensor
        Stacked state (:func:`initial_arrays`' layout, one row per member).
    iterations : tf.Tensor
        ``(members,)`` int64: the steps each member made before this one.
    stepping : tf.Tensor
        ``(members,)`` bool: the members that step.
    constants : dict
        :func:`member_constants`.

    Returns
    -------
    params, state : list of tf.Tensor
        After the step. The caller advances ``iterations`` by ``stepping``.
    """
    rule = RULES[solver]
    k = len(rule.slots)
    slots, extras = state[: k * len(params)], list(state[k * len(params) :])
    values, extras = rule.begin(constants[1], iterations, stepping, extras)
    values["stepping"] = stepping
    ranked, new_params, new_slots = {}, [], []
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        r = len(p.shape)
        if r not in ranked:
            fixed = constants[r] if r in constants else _broadcast(constants[1], r)
            ranked[r] = {**fixed, **_broadcast(values, r)}
        c, old = ranked[r], tuple(slots[k * i : k * (i + 1)])
        p2, s2 = rule.step(p, g, old, c)
        if not rule.keeps_idle:
            p2 = tf.where(c["stepping"], p2, p)
            s2 = [tf.where(c["stepping"], s, o) for s, o in zip(s2, old, strict=True)]
        new_params.append(p2)
        new_slots.extend(s2)
    return new_params, new_slots + extras


def initial_arrays(solver, shapes, dtype):
    """One member's fresh state as NumPy arrays; members' are stacked to train together.

    Parameters
    ----------
    solver : str
        A stochastic solver.
    shapes : list of tuple
        The member's variables' shapes (unstacked).
    dtype : str
        The variables' dtype.

    Returns
    -------
    state : list of ndarray
        Each variable's slots in turn, then the optimizer-level scalars.
    """
    rule = RULES[solver]
    inits = rule.slot_init or (0.0,) * len(rule.slots)
    slots = [np.full(shape, v, dtype) for shape in shapes for v in inits]
    return slots + [np.array(v, dtype) for _, v in rule.extras]


def keras_state(spec, iterations, rate, slots, extras=()):
    """One member's optimizer state laid out as its lone Keras optimizer's ``variables``.

    Parameters
    ----------
    spec : TrainSpec
        The member's training signature.
    iterations : int
        Steps the member made.
    rate : float
        Its learning rate (Keras holds it in float32).
    slots : list of sequence of ndarray
        For each trained variable, in the Keras model's order, the member's values of every
        slot of ``RULES[spec.solver].slots`` (unstacked and unpadded).
    extras : sequence of scalar, default=()
        The member's values of ``RULES[spec.solver].extras``, in the variables' dtype.

    Returns
    -------
    state : list of ndarray
        As ``[v.numpy() for v in optimizer.variables]``: iterations (int64), learning rate
        (float32), each variable's slots in turn, then the optimizer-level state.
    """
    rule = RULES[spec.solver]
    kept = [rule.slots.index(name) for name in slot_names(spec)]
    state = [np.array(iterations, np.int64), np.array(rate, np.float32)]
    for variable_slots in slots:
        state.extend(np.asarray(variable_slots[s]) for s in kept)
    return state + [np.asarray(e) for e in extras]
