"""Callbacks and History (deltaprop.training.callbacks)."""

import io
import json
from types import SimpleNamespace

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.errors import InputError
from deltaprop.training import Trainer
from deltaprop.training.callbacks import (
    Callback,
    EarlyStopping,
    GradientNormStopping,
    History,
    LossChangeStopping,
    ProgressBar,
)


def fake_trainer(params):
    net = SimpleNamespace(parameters=lambda: params, buffers=lambda: [])
    return SimpleNamespace(network=net, history=History(), stop_training=False,
                           stop_reason=None, resumed=False, epochs=5, epoch=0)


def blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(-1, 0.5, (n // 2, 2)), rng.normal(1, 0.5, (n // 2, 2))])
    Y = np.repeat(np.eye(2), n // 2, axis=0)
    return X, Y


def test_history_dict_json_round_trip_and_indexing(tmp_path):
    h = History([{"epoch": 1, "loss": 0.5, "grad_norms": [np.float32(1.5)], "val_loss": None},
                 {"epoch": 2, "loss": np.float64(0.25), "extra": np.int64(3)}],
                best_epoch=2, stop_reason="tol")
    assert h["loss"] == [0.5, 0.25] and h["extra"] == [None, 3] and len(h) == 2
    with pytest.raises(KeyError, match="no epoch has 'acc'"):
        h["acc"]
    text = h.to_json(tmp_path / "h.json")
    assert json.loads((tmp_path / "h.json").read_text()) == json.loads(text)
    back = History.from_dict(json.loads(text))
    assert back.epochs == [{"epoch": 1, "loss": 0.5, "grad_norms": [1.5], "val_loss": None},
                           {"epoch": 2, "loss": 0.25, "extra": 3}]
    assert (back.best_epoch, back.stop_reason) == (2, "tol")
    with pytest.raises(InputError, match="not a History"):
        History.from_dict({"best_epoch": 1})


def test_early_stopping_counts_patience_and_restores_the_best_weights():
    w = np.array([0.0])
    t = fake_trainer([w])
    es = EarlyStopping(monitor="val_loss", patience=2)
    es.on_train_begin(t)
    for epoch, val in enumerate([3.0, 1.0, 2.0, 2.5], start=1):
        w[0] = epoch  # the weights "after" this epoch
        es.on_epoch_end(t, epoch, {"val_loss": val})
        assert t.stop_training == (epoch == 4)
    es.on_train_end(t)
    assert w[0] == 2.0 and t.history.best_epoch == 2 and t.stop_reason == "early_stopping"


def test_early_stopping_maximizes_accuracy_and_names_missing_keys():
    t = fake_trainer([np.zeros(1)])
    es = EarlyStopping(monitor="val_accuracy", patience=1)
    es.on_epoch_end(t, 1, {"val_accuracy": 0.5})
    es.on_epoch_end(t, 2, {"val_accuracy": 0.7})
    assert es.best_epoch == 2 and not t.stop_training
    es.on_epoch_end(t, 3, {"val_accuracy": 0.6})
    assert t.stop_training
    with pytest.raises(InputError, match="monitors 'val_r2'.*'loss'"):
        EarlyStopping(monitor="val_r2").on_epoch_end(t, 1, {"loss": 1.0, "val_loss": None})
    with pytest.raises(InputError, match="patience"):
        EarlyStopping(patience=-1)


def test_early_stopping_state_round_trip():
    w = np.array([1.0, 2.0])
    t = fake_trainer([w])
    es = EarlyStopping(patience=3)
    es.on_epoch_end(t, 1, {"val_loss": 1.0})
    es.on_epoch_end(t, 2, {"val_loss": 2.0})
    config, arrays = es.get_state()
    clone = EarlyStopping(patience=3)
    clone.set_state(json.loads(json.dumps(config)), arrays)
    assert (clone.best, clone.best_epoch, clone.wait) == (1.0, 1, 1)
    np.testing.assert_array_equal(clone.best_weights[0], [1.0, 2.0])


def test_gradient_norm_and_loss_change_stopping():
    t = fake_trainer([])
    GradientNormStopping(1e-3).on_epoch_end(t, 1, {"grad_norm": 1e-2})
    assert not t.stop_training
    GradientNormStopping(1e-3).on_epoch_end(t, 1, {"grad_norm": 1e-4})
    assert t.stop_training and t.stop_reason == "grad_tol"
    t = fake_trainer([])
    cb = LossChangeStopping(0.01)
    t.history.epochs = [{"loss": 1.0}, {"loss": 0.95}]
    cb.on_epoch_end(t, 2, t.history.epochs[-1])
    assert not t.stop_training
    t.history.epochs.append({"loss": 0.945})
    cb.on_epoch_end(t, 3, t.history.epochs[-1])
    assert t.stop_training and t.stop_reason == "tol"
    with pytest.raises(InputError):
        LossChangeStopping(0)


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_draws_a_bar_on_a_terminal_and_nothing_with_verbose_0():
    t = fake_trainer([])
    for stream in (io.StringIO(), FakeTTY()):
        bar = ProgressBar(verbose=0, stream=stream)
        bar.on_train_begin(t)
        bar.on_epoch_end(t, 1, {"loss": 0.5})
        bar.on_train_end(t)
        assert bar.bar is None and stream.getvalue() == ""
    tty = FakeTTY()
    bar = ProgressBar(verbose=1, stream=tty)
    bar.on_train_begin(t)
    bar.on_epoch_end(t, 1, {"loss": 0.123456, "accuracy": 0.75, "val_loss": None})
    bar.on_train_end(t)
    out = tty.getvalue()
    assert "loss=0.1235" in out and "accuracy=0.75" in out and "val_loss" not in out
    assert "epoch 1/5" not in out  # the bar, not the log lines


@pytest.mark.parametrize("columns", [0, 80])
def test_a_terminal_of_0_columns_gets_lines_instead_of_a_vanishing_bar(columns):
    import fcntl
    import os
    import pty
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    Y = np.array([[0], [1], [1], [0]])
    with os.fdopen(slave, "w") as term:
        dp.train(dp.mlp([2, 4, 1], seed=0), X, Y, epochs=3, seed=0, verbose=0,
                 callbacks=[ProgressBar(stream=term)])
    data = b""
    while select.select([master], [], [], 0.2)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal's other end is closed
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    text = data.decode()
    if columns == 0:
        assert "epoch 3/3" in text and "loss" in text, text
    else:
        assert "3/3" in text and "epoch 3/3" not in text, text  # the bar


def test_log_lines_without_a_terminal(capsys):
    X, Y = blobs(20)
    net = dp.mlp([2, 3, 2], seed=0)
    Trainer(net, seed=0, verbose=1).fit(X, Y, epochs=5, validation_data=(X, Y))
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert captured.out == "" and len(lines) == 5  # 5 // 20 < 1: every epoch
    assert [line.split()[:2] for line in lines] == [["epoch", f"{e}/5"] for e in range(1, 6)]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert f"  {key} " in lines[0]
    assert "r2" not in lines[0] and lines[0].endswith("s")
    Trainer(dp.mlp([2, 3, 2], seed=0), seed=0, verbose=0).fit(X, Y, epochs=5)
    assert capsys.readouterr().err == ""


def test_log_line_format():
    line = ProgressBar()._line(3, 10, {"loss": 0.23141, "r2": 0.93125, "val_loss": None,
                                       "val_r2": -1.5, "learning_rate": 0.01, "time": 1.23})
    assert line == "epoch  3/10  loss 0.2314  r2 0.9313  val_r2 -1.5000  lr 0.01  1.2s"
    assert ProgressBar()._line(1, 1, {"loss": 2e-5, "time": 0.0042}) == \
        "epoch 1/1  loss 2.000e-05  4.2ms"


@pytest.mark.parametrize("epochs, shown", [
    (100, list(range(5, 101, 5))),               # every 100 // 20 = 5 epochs: 20 lines
    (45, [*range(2, 45, 2), 45]),                # every 2, plus the last one
    (19, list(range(1, 20))),                    # fewer than 20 epochs: all of them
])
def test_log_lines_are_thinned_on_long_runs(capfd, epochs, shown):
    X, Y = blobs(8)
    Trainer(dp.mlp([2, 2], seed=0), batch_size="full", seed=0).fit(X, Y, epochs=epochs)
    lines = capfd.readouterr().err.splitlines()
    assert [int(line.split()[1].split("/")[0]) for line in lines] == shown


def test_a_run_that_stops_on_a_skipped_epoch_still_logs_it():
    t = fake_trainer([])
    t.epochs = 100
    log = io.StringIO()
    bar = ProgressBar(verbose=1, stream=log)
    bar.on_train_begin(t)
    for epoch in range(1, 8):  # e.g. early stopping after epoch 7
        bar.on_epoch_end(t, epoch, {"loss": 1.0 / epoch})
    assert [line.split()[1] for line in log.getvalue().splitlines()] == ["5/100"]
    bar.on_train_end(t)
    assert [line.split()[1] for line in log.getvalue().splitlines()] == ["5/100", "7/100"]
    bar.on_train_end(t)  # nothing pending any more: no repeat
    assert len(log.getvalue().splitlines()) == 2


def test_verbose_2_logs_every_epoch_even_on_a_terminal():
    t = fake_trainer([])
    t.epochs = 100
    tty = FakeTTY()
    bar = ProgressBar(verbose=2, stream=tty)
    bar.on_train_begin(t)
    for epoch in range(1, 4):
        bar.on_epoch_end(t, epoch, {"loss": 0.5, "accuracy": 0.5})
    bar.on_train_end(t)
    assert bar.bar is None
    assert [line.split()[1] for line in tty.getvalue().splitlines()] == ["1/100", "2/100",
                                                                         "3/100"]


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, trainer):
        self.calls.append("train_begin")

    def on_epoch_begin(self, trainer, epoch):
        self.calls.append(f"epoch_begin {epoch}")

    def on_batch_end(self, trainer, batch, logs):
        self.calls.append(f"batch {batch} {logs['size']}")

    def on_epoch_end(self, trainer, epoch, logs):
        logs["custom"] = epoch * 10
        self.calls.append(f"epoch_end {epoch}")
        if epoch == 2:
            trainer.stop_training = True
            trainer.stop_reason = "recorder"

    def on_train_end(self, trainer):
        self.calls.append("train_end")


def test_callback_protocol_order_added_keys_and_stop():
    X, Y = blobs(10)
    rec = Recorder()
    net = dp.mlp([2, 3, 2], seed=0)
    h = Trainer(net, batch_size=4, callbacks=[rec], seed=0, verbose=0).fit(X, Y, epochs=5)
    assert rec.calls == ["train_begin", "epoch_begin 1", "batch 0 4", "batch 1 4", "batch 2 2",
                         "epoch_end 1", "epoch_begin 2", "batch 0 4", "batch 1 4", "batch 2 2",
                         "epoch_end 2", "train_end"]
    assert h["custom"] == [10, 20] and h.stop_reason == "recorder"


def test_trainer_rejects_non_callbacks():
    with pytest.raises(InputError, match="Callback instances"):
        Trainer(dp.mlp([2, 2], seed=0), callbacks=[print])


class _Recorder(Callback):
    """The weights after every update (runs before WeightAverage in the callback list)."""

    def __init__(self):
        self.steps = []

    def on_train_begin(self, trainer):
        self.steps = [[p.copy() for p in trainer.network.parameters()]]

    def on_batch_end(self, trainer, batch, logs):
        self.steps.append([p.copy() for p in trainer.network.parameters()])


@pytest.mark.parametrize("decay", [0.9, 0.5, None])
def test_weight_average_equals_a_hand_computed_average(decay):
    """w̄_t = d_t w̄_{t−1} + (1 − d_t) w_t with d_t = min(d, (1 + t) / (10 + t)) from w̄_0 = w_0;
    decay=None: the arithmetic mean of w_0 ... w_T (Polyak & Juditsky 1992)."""
    X, Y = blobs()
    net = dp.mlp([2, 6, 2], seed=0, dtype="float64")
    rec, avg = _Recorder(), dp.WeightAverage(decay=decay)
    Trainer(net, batch_size=16, learning_rate=0.5, seed=0, verbose=0,
            callbacks=[rec, avg]).fit(X, Y, epochs=3)
    assert avg.steps == len(rec.steps) - 1 == 12
    expected = [w.copy() for w in rec.steps[0]]
    for t, weights in enumerate(rec.steps[1:]):
        d = 1.0 - 1.0 / (t + 2) if decay is None else min(decay, (1 + t) / (10 + t))
        expected = [d * e + (1 - d) * w for e, w in zip(expected, weights, strict=True)]
    if decay is None:
        expected = [np.mean(ws, axis=0) for ws in zip(*rec.steps, strict=True)]
    for e, p, a in zip(expected, net.parameters(), avg.averaged, strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(p, a)  # swapped in at the end of training
    trained = avg.averaged_network()
    np.testing.assert_array_equal(trained.parameters()[0], avg.averaged[0])
    assert not np.array_equal(rec.steps[-1][0], avg.averaged[0])


def test_weight_average_validates_with_the_average_and_starts_late():
    X, Y = blobs()
    net = dp.mlp([2, 6, 2], seed=0, dtype="float64")
    seen = []

    class Spy(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            with avg.swapped(trainer.network):
                seen.append((logs["val_loss"], trainer.network.evaluate(X[:10], Y[:10])))

    avg = dp.WeightAverage(decay=0.8, start=2)
    Trainer(net, batch_size=16, learning_rate=0.5, seed=0, verbose=0,
            callbacks=[avg, Spy()]).fit(X, Y, epochs=4, validation_data=(X[:10], Y[:10]))
    assert all(v == w for v, w in seen)  # val_loss came from the averaged weights
    assert avg.steps == 8  # epochs 3 and 4 only
    with pytest.raises(InputError, match="decay"):
        dp.WeightAverage(decay=1.0)
    with pytest.raises(RuntimeError, match="no average yet"):
        dp.WeightAverage().averaged_network()


def test_early_stopping_restores_batch_norm_running_statistics_with_the_weights():
    X, Y = blobs()
    net = dp.mlp([2, 6, 2], batch_norm=True, seed=0)
    es = EarlyStopping(monitor="val_loss", patience=100)
    snapshots = {}

    class Snap(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            snapshots[epoch] = [b.copy() for b in trainer.network.buffers()]

    Trainer(net, batch_size=16, learning_rate=2.0, seed=0, verbose=0,
            callbacks=[es, Snap()]).fit(X, Y, epochs=8, validation_data=(X[::3], Y[::3]))
    assert len(es.best_weights) == len(net.parameters()) + len(net.buffers())
    for b, s in zip(net.buffers(), snapshots[es.best_epoch], strict=True):
        np.testing.assert_array_equal(b, s)
