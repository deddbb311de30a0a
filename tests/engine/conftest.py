"""Shared settings of the engine's tests."""

import pytest

from keraskit._engine.records import FitConfig


@pytest.fixture
def make_cfg():
    """``make_cfg(**changes)``: a ``FitConfig`` of small, plain settings with ``changes``."""

    def make(**changes):
        base = dict(
            max_iter=30,
            batch_size=16,
            shuffle=True,
            tol=0.0,
            n_iter_no_change=1000,
            learning_rate_init=0.05,
            lr_schedule="constant",
            power_t=0.5,
            alpha=0.0,
            l1=0.0,
            smoothing=0.0,
            verbose=0,
        )
        return FitConfig(**{**base, **changes})

    return make
