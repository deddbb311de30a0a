"""The solver vocabulary: Keras optimizers by keraskit name, and full-batch L-BFGS.

The names and traits are read by the estimators when keraskit is imported, so Keras is
imported only when an optimizer is built (by a trainer, on the first fit). A new solver is
a line in :data:`OPTIMIZERS`, its traits in :data:`TRAITS` and its member-wise update rule
in ``rules.RULES`` (a test checks that the three agree).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Traits:
    """What the estimators and the engine ask of a solver instead of testing its name.

    Parameters
    ----------
    full_batch : bool, default=False
        Trained on the whole data through scipy (L-BFGS), not batch by batch.
    decoupled_weight_decay : bool, default=False
        ``alpha`` is the Keras optimizer's ``weight_decay`` (``p - p * wd * lr`` before each
        step) and no L2 penalty enters the loss.
    sklearn_schedules : bool, default=False
        Follows scikit-learn's learning-rate schedules (``invscaling``, ``adaptive``), as
        sklearn's ``sgd`` does; the other solvers follow only keraskit's own.
    """

    full_batch: bool = False
    decoupled_weight_decay: bool = False
    sklearn_schedules: bool = False


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
#: Every solver's :class:`Traits`.
TRAITS = {
    "lbfgs": Traits(full_batch=True),
    "sgd": Traits(sklearn_schedules=True),
    "adam": Traits(),
    "adamw": Traits(decoupled_weight_decay=True),
    "nadam": Traits(),
    "rmsprop": Traits(),
    "adagrad": Traits(),
}


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
