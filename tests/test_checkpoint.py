"""Checkpoint and resume (deltaprop.training.checkpoint): exact continuation, also after SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.errors import InputError, ModelFileError
from deltaprop.training import Trainer
from deltaprop.training.callbacks import Callback
from deltaprop.training.checkpoint import read_checkpoint
from deltaprop.training.compiled import HAVE_NUMBA

# One training configuration, shared verbatim by the child process and by this process. It
# exercises every piece of checkpointed state: momentum velocities, a plateau schedule, early
# stopping's counters and best weights, dropout masks, hard-example sampling, augmentation noise
# and a random validation split, all drawn from the trainer's generator.
SETUP = '''
import time
import numpy as np
import deltaprop as dp
from deltaprop.training.callbacks import Callback
from deltaprop.training import Trainer


class Slow(Callback):
    def __init__(self, seconds):
        self.seconds = seconds

    def on_epoch_end(self, trainer, epoch, logs):
        time.sleep(self.seconds)


def make(path, init_seed=0, slow=0.0):
    rng = np.random.default_rng(42)
    y = np.arange(120) % 3
    X = np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]])[y] + rng.normal(0, 1.0, (120, 2))
    net = dp.mlp([2, 16, 16, 3], dropout=0.1, seed=init_seed)
    trainer = Trainer(net, optimizer="nesterov", learning_rate=0.05, momentum=0.9,
                      batch_size=16, schedule="plateau", sampling="hard", seed=123, verbose=0,
                      augment=lambda Xb, g: Xb + g.normal(0, 0.05, Xb.shape),
                      callbacks=[Slow(slow)], checkpoint_every=1, checkpoint_path=path)
    fit = dict(epochs=EPOCHS, validation_split=0.2, early_stopping=True, patience=50)
    return net, trainer, X, np.eye(3)[y], fit
'''
EPOCHS = 40


def setup_namespace():
    ns = {"EPOCHS": EPOCHS}
    exec(SETUP, ns)  # noqa: S102 - our own constant source, shared with the child process
    return ns


def finished_run(path):
    net, trainer, X, Y, fit = setup_namespace()["make"](path)
    hist = trainer.fit(X, Y, **fit)
    return net, hist


def comparable(hist):
    return [{k: v for k, v in e.items() if k != "time"} for e in hist.epochs]


def same_weights(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


class Crash(Callback):
    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == self.at:
            raise KeyboardInterrupt


def test_resume_after_a_crash_ends_bit_identical(tmp_path):
    ref_net, ref_hist = finished_run(tmp_path / "ref.ckpt")
    path = tmp_path / "run.ckpt"
    ns = setup_namespace()
    net, trainer, X, Y, fit = ns["make"](path)
    trainer.user_callbacks[0] = Crash(7)  # in place of Slow: dies after the epoch-6 checkpoint
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(X, Y, **fit)
    meta, _ = read_checkpoint(path)
    assert meta["epoch"] == 6
    net2, trainer2, X, Y, fit = ns["make"](path, init_seed=99)  # other initial weights
    assert not same_weights(net2, ref_net)
    hist = trainer2.fit(X, Y, resume=True, **fit)
    assert same_weights(net2, ref_net)
    assert comparable(hist) == comparable(ref_hist)
    assert (hist.best_epoch, hist.stop_reason) == (ref_hist.best_epoch, ref_hist.stop_reason)


@pytest.mark.slow
def test_sigkilled_subprocess_resumes_bit_identical_to_an_uninterrupted_run(tmp_path):
    path = tmp_path / "killed.ckpt"
    child = (f"EPOCHS = {EPOCHS}\n" + SETUP + "\n"
             f"net, trainer, X, Y, fit = make({str(path)!r}, slow=0.1)\n"
             "trainer.fit(X, Y, **fit)\n")
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not path.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.01)
        time.sleep(0.35)  # let it get a few epochs further, then kill it mid-training
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    meta, _ = read_checkpoint(path)
    assert 1 <= meta["epoch"] < EPOCHS  # killed mid-training
    ns = setup_namespace()
    net, trainer, X, Y, fit = ns["make"](path, init_seed=5)
    hist = trainer.fit(X, Y, resume=True, **fit)
    ref_net, ref_hist = finished_run(tmp_path / "ref.ckpt")
    assert same_weights(net, ref_net)
    assert comparable(hist) == comparable(ref_hist)
    print(f"killed after epoch {meta['epoch']} of {EPOCHS}; resumed run matches bit for bit")


def test_checkpoint_contents_are_json_and_arrays(tmp_path):
    path = tmp_path / "c.ckpt"
    X = np.random.default_rng(0).normal(size=(30, 2))
    Y = X.sum(axis=1, keepdims=True)
    net = dp.mlp([2, 4, 1], output_activation="identity", seed=0)
    Trainer(net, optimizer="adam", seed=3, verbose=0, checkpoint_every=2,
            checkpoint_path=path).fit(X, Y, epochs=3)
    meta, arrays = read_checkpoint(path)
    assert meta["kind"] == "checkpoint" and meta["epoch"] == 3
    assert meta["rng"]["bit_generator"] == "PCG64"
    state = meta["rng"]["state"]
    assert json.loads(json.dumps(state)) == state
    assert meta["optimizer"]["name"] == "adam" and meta["optimizer"]["t"] == 3
    assert {"opt.m_0", "opt.s_0", "param.0"} <= set(arrays)
    assert len(meta["history"]["epochs"]) == 3
    np.testing.assert_array_equal(arrays["param.0"], net.parameters()[0])
    assert [p.name for p in tmp_path.iterdir()] == ["c.ckpt"]  # no temp files left behind


def test_resume_without_a_checkpoint_starts_fresh_and_a_finished_run_is_a_no_op(tmp_path):
    path = tmp_path / "none.ckpt"
    X = np.random.default_rng(0).normal(size=(30, 2))
    Y = X.sum(axis=1, keepdims=True)
    a = dp.mlp([2, 1], output_activation="identity", seed=0)
    b = dp.mlp([2, 1], output_activation="identity", seed=0)
    Trainer(a, seed=1, verbose=0).fit(X, Y, epochs=5)
    h = Trainer(b, seed=1, verbose=0, checkpoint_path=path).fit(X, Y, epochs=5, resume=True)
    assert same_weights(a, b) and len(h) == 5
    c = dp.mlp([2, 1], output_activation="identity", seed=7)
    h2 = Trainer(c, seed=1, verbose=0, checkpoint_path=path).fit(X, Y, epochs=5, resume=True)
    assert same_weights(b, c) and comparable(h2) == comparable(h)


def test_bad_checkpoints_give_clear_errors(tmp_path):
    X = np.random.default_rng(0).normal(size=(20, 2))
    Y = X.sum(axis=1, keepdims=True)
    path = tmp_path / "c.ckpt"
    net = dp.mlp([2, 3, 1], output_activation="identity", seed=0)
    Trainer(net, verbose=0, checkpoint_every=1, checkpoint_path=path).fit(X, Y, epochs=2)
    other = dp.mlp([2, 5, 1], output_activation="identity", seed=0)
    with pytest.raises(InputError, match="different network architecture"):
        Trainer(other, verbose=0, checkpoint_path=path).fit(X, Y, epochs=3, resume=True)
    es_path = tmp_path / "es.ckpt"
    Trainer(net, verbose=0, checkpoint_path=es_path).fit(X, Y, epochs=2, early_stopping=True,
                                                         validation_data=(X, Y))
    with pytest.raises(InputError, match=r"callbacks \['EarlyStopping.0'\], which this run"):
        Trainer(net, verbose=0, checkpoint_path=es_path).fit(X, Y, epochs=3, resume=True)
    truncated = tmp_path / "t.ckpt"
    truncated.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ModelFileError):
        Trainer(net, verbose=0, checkpoint_path=truncated).fit(X, Y, resume=True)
    model = tmp_path / "model.dp"
    net.save(model)
    with pytest.raises(ModelFileError, match="not a 'checkpoint'"):
        Trainer(net, verbose=0, checkpoint_path=model).fit(X, Y, resume=True)
    with pytest.raises(InputError, match="resume=True needs a checkpoint_path"):
        Trainer(net, verbose=0).fit(X, Y, resume=True)


def test_continuing_a_finished_run_recomputes_the_best_epoch(tmp_path):
    import deltaprop as dp
    from deltaprop.training import Trainer

    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    Y = np.eye(2)[(X[:, 0] > 0).astype(int)]
    path = tmp_path / "run.ckpt"

    def trainer():
        net = dp.mlp([3, 8, 2], activation="tanh", seed=0)
        return Trainer(net, learning_rate=0.1, seed=0, verbose=0, checkpoint_every=1,
                       checkpoint_path=path)

    first = trainer().fit(X, Y, epochs=3)
    assert first.best_epoch == 3  # the loss still falls
    more = trainer().fit(X, Y, epochs=8, resume=True)
    assert len(more.epochs) == 8
    assert more.best_epoch == int(np.argmin(more["loss"])) + 1 == 8


# The learning-quality ingredients (docs/ingredients.md): each trains a small network on the
# digits and resumes bit-identically, both after a crash and after a finished (shorter) run.
INGREDIENTS = {
    "gaussian_noise": (dict(input_noise=0.2, hidden_noise=0.1), {}),
    "label_smoothing": (dict(loss="categorical_cross_entropy:label_smoothing=0.1"), {}),
    "cosine": ({}, dict(schedule=dp.training.schedules.CosineDecay(warmup=2, min_rate=0.01))),
    "linear": ({}, dict(schedule="linear")),
    "weight_average": ({}, dict(callbacks="average")),
    "batch_norm": (dict(batch_norm=True), {}),
    "all_with_maxout": (dict(activation="maxout", batch_norm=True, input_noise=0.1,
                             hidden_noise=0.1, dropout=0.1,
                             loss="categorical_cross_entropy:label_smoothing=0.1"),
                        dict(schedule="cosine", callbacks="average")),
}


def _ingredient_run(name, path, init_seed=0, crash_at=None):
    net_opts, trainer_opts = INGREDIENTS[name]
    trainer_opts = dict(trainer_opts)
    digits = dp.datasets.digits()
    X, Y = digits.X[:300] / 16.0, np.eye(10)[digits.y[:300]]
    net = dp.mlp([64, 24, 10], seed=init_seed, **net_opts)
    callbacks = [dp.WeightAverage(decay=0.9)] if trainer_opts.pop("callbacks", None) else []
    if crash_at is not None:
        callbacks.append(Crash(crash_at))
    trainer = Trainer(net, optimizer="momentum", learning_rate=0.1, batch_size=32, seed=5,
                      verbose=0, checkpoint_every=1, checkpoint_path=path, callbacks=callbacks,
                      **trainer_opts)
    return net, trainer, X, Y


def _state(net):
    return [*net.parameters(), *net.buffers()]


@pytest.mark.parametrize("name", INGREDIENTS)
def test_each_ingredient_trains_and_resumes_bit_identical(tmp_path, name):
    fit = dict(epochs=6, validation_split=0.2)
    ref, trainer, X, Y = _ingredient_run(name, tmp_path / "ref.ckpt")
    ref_hist = trainer.fit(X, Y, **fit)
    # the new layers and the smoothed loss run the engine's forward/backward; the schedules and
    # the per-step average run in the same loop with its compiled mode
    compiled = name in ("cosine", "linear", "weight_average")
    assert trainer.compiled_mode == (compiled and HAVE_NUMBA)
    assert ref_hist["loss"][-1] < ref_hist["loss"][0]
    assert ref_hist["val_accuracy"][-1] > 0.5
    if name in ("cosine", "linear"):
        assert ref_hist["learning_rate"][0] < ref_hist["learning_rate"][1] or name == "linear"
        assert ref_hist["learning_rate"][-1] < ref_hist["learning_rate"][2]

    net, trainer, X, Y = _ingredient_run(name, tmp_path / "run.ckpt", crash_at=4)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(X, Y, **fit)
    assert read_checkpoint(tmp_path / "run.ckpt")[0]["epoch"] == 3
    net, trainer, X, Y = _ingredient_run(name, tmp_path / "run.ckpt", init_seed=9)
    hist = trainer.fit(X, Y, resume=True, **fit)
    assert comparable(hist) == comparable(ref_hist)
    assert all(np.array_equal(a, b) for a, b in zip(_state(ref), _state(net), strict=True))


@pytest.mark.parametrize("name", ["batch_norm", "weight_average"])
def test_continuing_a_finished_run_with_an_ingredient_is_bit_identical(tmp_path, name):
    """The checkpoint written at the end holds the averaged weights (WeightAverage swaps them
    in) and the live ones; continuing goes on from the live weights."""
    ref, trainer, X, Y = _ingredient_run(name, tmp_path / "ref.ckpt")
    trainer.fit(X, Y, epochs=5)
    net, trainer, X, Y = _ingredient_run(name, tmp_path / "run.ckpt")
    trainer.fit(X, Y, epochs=2)
    net, trainer, X, Y = _ingredient_run(name, tmp_path / "run.ckpt", init_seed=3)
    trainer.fit(X, Y, epochs=5, resume=True)
    assert all(np.array_equal(a, b) for a, b in zip(_state(ref), _state(net), strict=True))
