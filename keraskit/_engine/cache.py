"""The process's bounded caches of templates and trainers, and the lock that guards them.

Every fit of one architecture shares its template (and every fit of one architecture and
optimizer its trainer), so each is traced once; the least recently used go beyond
``CACHE_SIZE``. A template is used by one fit at a time (``Template.lock``): fits of one
signature running at once in threads (a search with ``n_jobs`` threads) each get a copy of
the trainer of their own (:func:`trainer_for_fit`), up to one per core.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from contextlib import contextmanager

from .distribute import get_strategy
from .stacked import StackedTrainer
from .template import Template
from .trainer import Trainer

#: How many compiled architectures (and trainers) the process keeps; least recently used go.
CACHE_SIZE = 32

_templates: OrderedDict = OrderedDict()
_trainers: OrderedDict = OrderedDict()
_stacked: OrderedDict = OrderedDict()
_copies: dict = {}  # trainer key -> further trainers of that signature, for threads
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
            gone, _ = cache.popitem(last=False)
            _copies.pop(gone, None)
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


@contextmanager
def trainer_for_fit(arch_spec, train_spec, distribution=None):
    """A trainer of the signature that no other thread is training with, for one fit.

    The shared trainer (:func:`get_trainer`) when it is free; else a free copy, or a new
    one (its own template and trace) while there are fewer copies than cores; else the
    shared one, once the fit holding it ends. The trainer's template is locked for the
    duration of the block.

    Parameters
    ----------
    arch_spec, train_spec, distribution
        As for :func:`get_trainer`.

    Yields
    ------
    trainer : Trainer
    """
    key = (arch_spec, train_spec, distribution)
    shared = get_trainer(arch_spec, train_spec, distribution)
    with _lock:
        candidates = [shared, *_copies.setdefault(key, [])]
    trainer = next((t for t in candidates if t.template.lock.acquire(blocking=False)), None)
    if trainer is None and len(candidates) < (os.cpu_count() or 1):
        trainer = Trainer(Template(arch_spec, get_strategy(distribution)), train_spec)
        trainer.template.lock.acquire()
        with _lock:
            _copies.setdefault(key, []).append(trainer)
    if trainer is None:
        trainer = shared
        trainer.template.lock.acquire()
    try:
        yield trainer
    finally:
        trainer.template.lock.release()


def get_stacked_trainer(chain, loss, solver, dtype, uses_l1=True):
    """The shared population trainer of a chain signature (any widths, any member count).

    Parameters
    ----------
    chain : stacked.Chain
        The networks' layers; chains with the same steps share a trainer.
    loss : str
        One of ``losses.LOSSES``.
    solver : str
        A stochastic solver (its update rule is ``rules.RULES[solver]``).
    dtype : str
        The networks' dtype.
    uses_l1 : bool, default=True
        Whether any member has an L1 penalty.

    Returns
    -------
    trainer : stacked.StackedTrainer
        Built (and later traced) once per signature.
    """
    key = (chain.steps, chain.output, chain.penalized, chain.buffers, loss, solver, dtype, uses_l1)
    return _cached(_stacked, key, lambda: StackedTrainer(chain, loss, solver, dtype, uses_l1))


def cached_counts():
    """``(templates, trainers)`` held now (each at most ``CACHE_SIZE``)."""
    with _lock:
        return len(_templates), len(_trainers)
