"""Learning-rate schedules (deltaprop.training.schedules)."""

import json
import math

import pytest

from deltaprop.errors import InputError
from deltaprop.training.schedules import (
    Constant,
    CosineDecay,
    ExponentialDecay,
    InverseScaling,
    LinearDecay,
    ReduceOnPlateau,
    Schedule,
    StepDecay,
    get_schedule,
)


def started(s, lr=0.1):
    s.start(lr)
    return s


def test_constant():
    s = started(Constant())
    assert [s.rate(t) for t in (0, 5, 100)] == [0.1, 0.1, 0.1]


def test_step_decay():
    s = started(StepDecay(drop=0.5, every=3), 1.0)
    assert [s.rate(t) for t in range(7)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]


def test_exponential():
    s = started(ExponentialDecay(gamma=0.9), 2.0)
    assert s.rate(0) == 2.0
    assert math.isclose(s.rate(10), 2.0 * 0.9**10)


def test_inverse_scaling():
    s = started(InverseScaling(decay=0.5, power=1.0), 1.0)
    assert [s.rate(t) for t in (0, 2, 6)] == [1.0, 0.5, 0.25]
    s = started(InverseScaling(), 1.0)  # default power 0.5
    assert math.isclose(s.rate(3), 0.5)


def test_reduce_on_plateau_waits_patience_epochs_and_respects_min_lr():
    s = started(ReduceOnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=0.03), 0.1)
    rates = []
    for t, v in enumerate([1.0, 0.9, 0.95, 0.91, 0.92, 0.93, 0.5, 0.6, 0.7, 0.8, 0.9]):
        rates.append(s.rate(t))
        s.observe(t, {"val_loss": v, "loss": 0.0})
    assert rates == [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.03, 0.03, 0.03, 0.03, 0.03]


def test_reduce_on_plateau_falls_back_to_loss_without_validation():
    s = started(ReduceOnPlateau(patience=1, factor=0.1), 1.0)
    s.observe(0, {"loss": 1.0, "val_loss": None})
    s.observe(1, {"loss": 1.0, "val_loss": None})
    assert math.isclose(s.rate(2), 0.1)


def test_state_round_trip_through_json_keeps_running_state():
    s = started(ReduceOnPlateau(patience=1, factor=0.5, monitor="loss"), 1.0)
    for t, v in enumerate([1.0, 1.0, 1.0]):
        s.observe(t, {"loss": v})
    config, arrays = s.get_state()
    clone = Schedule.from_state(json.loads(json.dumps(config)), arrays)
    assert isinstance(clone, ReduceOnPlateau)
    assert clone.rate(3) == s.rate(3) == 0.25
    clone.observe(3, {"loss": 1.0})
    s.observe(3, {"loss": 1.0})
    assert clone.rate(4) == s.rate(4)
    fresh = Schedule.from_state(*ReduceOnPlateau().get_state())  # best = inf -> None -> inf
    assert fresh.best == math.inf
    step = Schedule.from_state(*started(StepDecay(0.1, 2)).get_state())
    assert step.rate(2) == pytest.approx(0.01)


def test_get_schedule_names_and_errors():
    assert type(get_schedule(None)) is Schedule
    assert isinstance(get_schedule("exp", gamma=0.5), ExponentialDecay)
    assert isinstance(get_schedule("reduce_on_plateau"), ReduceOnPlateau)
    s = StepDecay()
    assert get_schedule(s) is s
    with pytest.raises(InputError, match="unknown schedule 'cyclic'; known: constant"):
        get_schedule("cyclic")
    with pytest.raises(InputError, match="bad options"):
        get_schedule("step", gamma=0.5)
    with pytest.raises(InputError, match="every must be an integer >= 1"):
        StepDecay(every=0)
    with pytest.raises(InputError, match=r"gamma must be a number in \(0, 1\]"):
        ExponentialDecay(gamma=1.5)
    with pytest.raises(InputError, match="factor"):
        ReduceOnPlateau(factor=1.0)
    with pytest.raises(InputError, match="start"):
        StepDecay().rate(0)


def test_cosine_decay_with_warmup_by_hand():
    """Goyal et al. 2017 warm-up, then Loshchilov & Hutter 2017's cosine to min_rate."""
    s = started(CosineDecay(total=10, warmup=3, min_rate=0.01), 0.5)
    rates = [s.rate(t) for t in range(12)]
    assert rates[:3] == pytest.approx([0.125, 0.25, 0.375])  # eta_0 (t + 1) / (warmup + 1)
    for t in range(3, 10):
        assert rates[t] == pytest.approx(
            0.01 + 0.49 * 0.5 * (1 + math.cos(math.pi * (t - 3) / 7)))
    assert rates[3] == 0.5 and rates[10] == rates[11] == pytest.approx(0.01)
    assert all(a >= b for a, b in zip(rates[3:], rates[4:], strict=False))


def test_linear_decay_with_warmup_by_hand():
    s = started(LinearDecay(total=6, warmup=2), 0.3)
    assert [s.rate(t) for t in range(8)] == pytest.approx(
        [0.1, 0.2, 0.3, 0.225, 0.15, 0.075, 0.0, 0.0])
    assert started(LinearDecay(total=4), 1.0).rate(0) == 1.0  # no warm-up


@pytest.mark.parametrize("name, cls", [("cosine", CosineDecay), ("linear", LinearDecay),
                                       ("cosine_decay", CosineDecay),
                                       ("linear_decay", LinearDecay)])
def test_decays_are_registered_and_round_trip(name, cls):
    s = get_schedule(name, warmup=2, min_rate=0.001)
    assert isinstance(s, cls)
    s.start(0.1)
    s.horizon(20)  # the trainer's epochs, since total was not given
    assert s.total == 20
    s.horizon(50)  # only once
    assert s.total == 20
    config, arrays = s.get_state()
    clone = Schedule.from_state(json.loads(json.dumps(config)), arrays)
    assert type(clone) is cls
    assert [clone.rate(t) for t in range(25)] == [s.rate(t) for t in range(25)]
    assert repr(clone) == f"{cls.__name__}(total=20, warmup=2, min_rate=0.001)"


def test_decay_errors():
    with pytest.raises(InputError, match="warmup"):
        CosineDecay(total=5, warmup=5)
    with pytest.raises(InputError, match="total"):
        LinearDecay(total=0)
    with pytest.raises(InputError, match="min_rate"):
        CosineDecay(total=5, min_rate=-1)
    s = started(CosineDecay(warmup=1))
    assert s.rate(0) == pytest.approx(0.05)  # the warm-up needs no total
    with pytest.raises(InputError, match="needs total="):
        s.rate(1)
