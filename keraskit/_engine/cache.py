"""The process's bounded caches of templates and trainers, and the lock that guards them.

Every fit of one architecture shares its template (and every fit of one architecture and
optimizer its trainer), so each is traced once; the least recently used go beyond
``CACHE_SIZE``. A template is used by one fit at a time (``Template.lock``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from .distribute import get_strategy
from .stacked import StackedTrainer
from .template import Template
from .trainer import Trainer

#: How many compiled architectures (and trainers) the process keeps; least recently used go.
CACHE_SIZE = 32

_templates: OrderedDict = OrderedDict()
_trainers: OrderedDict = OrderedDict()
_stacked: OrderedDict = OrderedDict()
_lock = threading.Lock()


def _cached(cache, key, make):
    with _lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    value = make()  # outside the lock: building traces, and other threads may look up
    with _lock:
        value = cache.setdefault(key, value)
        cache.move_to_end(key)
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
    return value


def get_template(spec, distribution=None):
    """The shared template of an architecture, built on first use.

    Parameters
    ----------
    spec : MLPSpec, CNNSpec, AutoencoderSpec or ConvAutoencoderSpec
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
    arch_spec : MLPSpec, CNNSpec, AutoencoderSpec or ConvAutoencoderSpec
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


def get_stacked_trainer(chain, loss, solver, dtype, uses_l1=True):
    """The shared population trainer of a chain signature (any widths, any member count).

    Parameters
    ----------
    chain : stacked.Chain
        The networks' layers; chains with the same steps share a trainer.
    loss : str
        One of ``losses.LOSSES``.
    solver : {'adam', 'sgd'}
        The update rule.
    dtype : str
        The networks' dtype.
    uses_l1 : bool, default=True
        Whether any member has an L1 penalty.

    Returns
    -------
    trainer : stacked.StackedTrainer
        Built (and later traced) once per signature.
    """
    key = (chain.steps, chain.output, chain.penalized, loss, solver, dtype, uses_l1)
    return _cached(_stacked, key, lambda: StackedTrainer(chain, loss, solver, dtype, uses_l1))


def cached_counts():
    """``(templates, trainers)`` held now (each at most ``CACHE_SIZE``)."""
    with _lock:
        return len(_templates), len(_trainers)
