"""Learning-rate schedules and sklearn's stopping rule, as plain functions (no TensorFlow)."""

import numpy as np
import pytest

from keraskit._engine.records import Progress
from keraskit._engine.schedules import (
    SCHEDULES,
    count_no_improvement,
    effective_schedule,
    on_plateau,
    rate_after_epoch,
)


def test_sklearn_schedules_drive_sgd_only_and_cosine_drives_every_solver():
    assert effective_schedule("invscaling", "sgd") == "invscaling"
    assert effective_schedule("invscaling", "adam") == "constant"
    assert effective_schedule("adaptive", "adam") == "constant"
    assert effective_schedule("cosine", "adam") == "cosine"
    assert set(SCHEDULES) == {"constant", "invscaling", "adaptive", "cosine"}


@pytest.mark.parametrize("schedule", ["constant", "adaptive"])
def test_constant_and_adaptive_keep_the_rate_between_plateaus(schedule, make_cfg):
    p = Progress(early_stopping=False, learning_rate=0.05, t=500)
    assert rate_after_epoch(make_cfg(lr_schedule=schedule), p, 3) == 0.05


def test_invscaling_divides_by_samples_seen_to_the_power_t(make_cfg):
    p = Progress(early_stopping=False, learning_rate=0.1, t=99)
    assert rate_after_epoch(
        make_cfg(lr_schedule="invscaling", learning_rate_init=0.1), p, 1
    ) == pytest.approx(0.01)


def test_cosine_goes_from_the_initial_rate_to_zero_over_max_iter(make_cfg):
    cfg, p = (
        make_cfg(lr_schedule="cosine", max_iter=4, learning_rate_init=0.1),
        Progress(early_stopping=False, learning_rate=0.1),
    )
    rates = [rate_after_epoch(cfg, p, done) for done in range(5)]
    np.testing.assert_allclose(rates, 0.1 * (1 + np.cos(np.pi * np.arange(5) / 4)) / 2)
    assert rate_after_epoch(cfg, p, 9) == pytest.approx(0.0)  # clipped past max_iter


def test_training_loss_counts_epochs_without_an_improvement_of_tol():
    p = Progress(early_stopping=False, learning_rate=0.1)
    counts = []
    for loss in [1.0, 0.5, 0.49995, 0.4, 0.45]:
        p.loss_curve.append(loss)
        count_no_improvement(p, tol=1e-4)
        counts.append(p.no_improvement_count)
    assert counts == [0, 0, 1, 0, 1]
    assert p.best_loss == 0.4


def test_validation_score_counts_and_reports_the_best_epoch():
    p = Progress(early_stopping=True, learning_rate=0.1)
    improved = [count_no_improvement(p, 1e-4, score) for score in [0.5, 0.7, 0.7, 0.6, 0.8]]
    assert improved == [True, True, False, False, True]
    assert p.best_validation_score == 0.8
    assert p.no_improvement_count == 0


def test_a_nan_score_is_never_the_best():
    p = Progress(early_stopping=True, learning_rate=0.1)
    count_no_improvement(p, 1e-4, 0.5)
    assert count_no_improvement(p, 1e-4, float("nan")) is False
    assert p.best_validation_score == 0.5


def test_a_plateau_stops_or_adapts_the_rate_as_sklearn_does(make_cfg):
    p = Progress(early_stopping=False, learning_rate=0.1, no_improvement_count=3)
    stop, message = on_plateau(make_cfg(lr_schedule="constant"), p)
    assert stop and message.endswith("Stopping.") and "Training loss" in message
    stop, message = on_plateau(make_cfg(lr_schedule="adaptive"), p)
    assert not stop and p.learning_rate == pytest.approx(0.02)
    assert p.no_improvement_count == 0 and "Setting learning rate to 0.020000" in message
    p.learning_rate = 1e-6
    stop, message = on_plateau(make_cfg(lr_schedule="adaptive"), p)
    assert stop and "Learning rate too small." in message
