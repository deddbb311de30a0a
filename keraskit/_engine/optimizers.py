"""The solver vocabulary: Keras optimizers by keraskit name, and full-batch L-BFGS.

The names are read by the estimators' parameter constraints when keraskit is imported, so
Keras is imported only when an optimizer is built (by a trainer, on the first fit).
"""

from __future__ import annotations

#: Stochastic solvers: name -> (Keras optimizer class, the ``TrainSpec`` constants it takes).
OPTIMIZERS = {
    "sgd": ("SGD", ("momentum", "nesterov")),
    "adam": ("Adam", ("beta_1", "beta_2", "epsilon")),
    "adamw": ("AdamW", ("beta_1", "beta_2", "epsilon", "weight_decay")),
    "nadam": ("Nadam", ("beta_1", "beta_2", "epsilon")),
    "rmsprop": ("RMSprop", ("epsilon",)),
    "adagrad": ("Adagrad", ("epsilon",)),
}
#: Full-batch solvers, trained through scipy (``lbfgs.train_lbfgs``).
FULL_BATCH_SOLVERS = ("lbfgs",)
#: Every solver, in the order the docs list them.
SOLVERS = FULL_BATCH_SOLVERS + tuple(OPTIMIZERS)


def make_optimizer(spec):
    """Build the Keras optimizer of a training spec (learning rate set by the loop).

    Parameters
    ----------
    spec : TrainSpec
        The training signature.

    Returns
    -------
    optimizer : keras.optimizers.Optimizer or None
        An unbuilt optimizer; ``None`` for a full-batch solver (scipy optimises).
    """
    if spec.solver in FULL_BATCH_SOLVERS:
        return None
    # imported when the first trainer is built, not with this module (see its docstring)
    from .._tensorflow import keras

    name, constants = OPTIMIZERS[spec.solver]
    kwargs = {k: getattr(spec, k) for k in constants}
    if "nesterov" in kwargs:
        kwargs["nesterov"] = bool(spec.nesterov and spec.momentum > 0)
    return getattr(keras.optimizers, name)(0.1, **kwargs)


def slot_names(spec):
    """The per-variable state of a stochastic solver's Keras optimizer, in Keras' order.

    A Keras optimizer's variables are its step count (int64) and learning rate (float32),
    then, for each trained variable in order, these slots (Keras 3: ``Adam`` adds a
    momentum and a velocity per variable, ``SGD`` a momentum unless ``momentum == 0``).
    A fused search writes its members' optimizer state in this order without building a
    Keras optimizer per member; a test holds it to a lone fit's state.

    Parameters
    ----------
    spec : TrainSpec
        A training signature whose solver the population trainer carries.

    Returns
    -------
    names : tuple of str
    """
    if spec.solver == "adam":
        return ("momentum", "velocity")
    if spec.solver == "sgd":
        return ("momentum",) if spec.momentum != 0 else ()
    raise ValueError(f"no known slot layout for solver {spec.solver!r}")
