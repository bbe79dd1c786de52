"""Registering custom activations, losses, initializers, layers, optimizers and schedules:
they save, load and resume by their registered name; model files never carry code."""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.engine import activations, init, layers, losses
from deltaprop.engine.layers import Layer
from deltaprop.errors import InputError, ModelFileError
from deltaprop.training.optimizers import GradientDescent, Optimizer, get_optimizer
from deltaprop.training.schedules import Schedule, get_schedule
from deltaprop.training.trainer import Trainer


@dp.register_activation
class Softplus(activations.Activation):
    """φ(a) = log(1 + e^a) with a parameter, to check that parameters travel too."""

    name = "softplus_t"

    def __init__(self, beta: float = 1.0):
        self.beta = float(beta)

    def value(self, a):
        return np.logaddexp(0.0, self.beta * a) / self.beta

    def derivative(self, a, h):
        return 1.0 / (1.0 + np.exp(-self.beta * a))

    def config(self):
        return {"name": self.name, "beta": self.beta}


@dp.register_layer
class Scale(Layer):
    """h ↦ factor · h: a layer without parameters."""

    def __init__(self, n: int, factor: float = 2.0):
        self.n_in = self.n_out = int(n)
        self.factor = float(factor)

    def forward(self, h_in, training=False, rng=None):
        return h_in * h_in.dtype.type(self.factor)

    def backward(self, grad_h, need_input_grad=True):
        return grad_h * grad_h.dtype.type(self.factor)

    def config(self):
        return {"type": "Scale", "n": self.n_in, "factor": self.factor}


@dp.register_optimizer
class HalfStep(Optimizer):
    """w ← w − (η/2)·g with a velocity slot, so state arrays travel in checkpoints."""

    name = "half_step"

    def __init__(self, learning_rate: float = 0.01, multipliers=None, decay: float = 0.5):
        super().__init__(learning_rate, multipliers)
        self.decay = float(decay)

    def _slot_names(self):
        return ("avg",)

    def _hyper(self):
        return {"decay": self.decay}

    def _update(self, i, p, g, lr):
        avg = self.slot("avg", i)
        avg *= self.decay
        avg += g
        p -= (lr / 2) * avg


@dp.register_schedule
class Halving(Schedule):
    name = "halving_t"

    def __init__(self, every: int = 2):
        super().__init__()
        self.every = int(every)

    def rate(self, t):
        return super().rate(t) * 0.5 ** (t // self.every)

    def _params(self):
        return {"every": self.every}


def _net(seed=0):
    return dp.Network([dp.Dense(2, 6, activation=Softplus(beta=2.0), rng=seed), Scale(6, 0.5),
                       dp.Dense(6, 2, activation="softmax", rng=seed + 1)])


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    return X, np.eye(2)[(X[:, 0] * X[:, 1] > 0).astype(int)]


def test_custom_activation_and_layer_round_trip_through_save_and_load(tmp_path):
    net = _net()
    X, Y = _data()
    dp.train(net, X, Y, epochs=3, learning_rate=0.1, seed=0, verbose=0)
    net.save(tmp_path / "m.npz")
    back = dp.load(tmp_path / "m.npz")
    assert isinstance(back.layers[1], Scale) and back.layers[1].factor == 0.5
    assert isinstance(back.layers[0].activation, Softplus)
    assert back.layers[0].activation.beta == 2.0
    np.testing.assert_array_equal(back.forward(X), net.forward(X))
    assert dp.activations.get("softplus_t:beta=3").beta == 3.0  # the NAME:key=value syntax


def test_custom_optimizer_and_schedule_resume_bit_identical(tmp_path):
    X, Y = _data()

    def trainer(net, path=None):
        return Trainer(net, optimizer="half_step", learning_rate=0.2, batch_size=8,
                       schedule=get_schedule("halving_t", every=2), seed=3, verbose=0,
                       checkpoint_every=1 if path else None, checkpoint_path=path)

    whole = _net()
    trainer(whole).fit(X, Y, epochs=6)
    path = tmp_path / "run.ckpt"
    part = _net()
    trainer(part, path).fit(X, Y, epochs=3)
    resumed = _net(seed=7)  # other initial weights: everything must come from the checkpoint
    t = trainer(resumed, path)
    t.fit(X, Y, epochs=6, resume=True)
    assert t.resumed and isinstance(t.optimizer, HalfStep) and t.optimizer.decay == 0.5
    for a, b in zip(resumed.parameters(), whole.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_custom_initializer_and_loss_are_found_by_name():
    @dp.register_initializer
    def ones_t(n_in, n_out, rng):
        return np.ones((n_out, n_in))

    layer = dp.Dense(2, 3, init="ones_t")
    np.testing.assert_array_equal(layer.W, 1.0)
    assert init.config_of(init.get("ones_t")) == {"name": "ones_t"}

    @dp.register_loss
    class HalfSquared(losses.SquaredError):
        name = "half_squared_t"

    net = dp.mlp([2, 1], output_activation="identity", loss="half_squared_t", seed=0)
    assert dp.Network.from_config(net.to_config()).loss.name == "half_squared_t"


def test_unregistered_parts_fail_with_the_registration_to_make(tmp_path):
    class Unregistered(activations.Activation):
        name = "unregistered_t"

        def value(self, a):
            return a

        def derivative(self, a, h):
            return np.ones_like(a)

    net = dp.Network([dp.Dense(2, 3, activation=Unregistered()),
                      dp.Dense(3, 2, activation="softmax")])
    net.save(tmp_path / "a.npz")
    with pytest.raises(ModelFileError, match=r"unknown activation 'unregistered_t'.*"
                                             r"deltaprop\.register_activation"):
        dp.load(tmp_path / "a.npz")

    class Loose(Scale):
        def config(self):
            return {"type": "Loose", "n": self.n_in, "factor": self.factor}

    net = dp.Network([dp.Dense(2, 3), Loose(3), dp.Dense(3, 2, activation="softmax")])
    net.save(tmp_path / "b.npz")
    with pytest.raises(ModelFileError, match=r"unknown layer type 'Loose'.*register_layer"):
        dp.load(tmp_path / "b.npz")
    with pytest.raises(InputError, match="register_optimizer"):
        Optimizer.from_state({"name": "nowhere_t", "t": 0, "learning_rate": 0.1}, {})
    with pytest.raises(InputError, match="register_schedule"):
        Schedule.from_state({"name": "nowhere_t", "initial": 0.1}, {})


def test_registration_rules():
    with pytest.raises(InputError, match="built in"):
        @dp.register_activation
        class Relu2(activations.Activation):
            name = "relu"

            def value(self, a):
                return a

            def derivative(self, a, h):
                return a
    with pytest.raises(InputError, match="Layer subclass"):
        layers.register(object)
    with pytest.raises(InputError, match="class attribute name"):
        dp.register_optimizer(type("Nameless", (GradientDescent,), {}))
    assert get_optimizer("half_step", learning_rate=0.1).learning_rate == 0.1
    assert "relu" in activations.names() and "softplus_t" in activations.names()
