"""The training loop (deltaprop.training.trainer): batching, optimizers, regularization, stopping,
reproducibility, divergence, validation, and accuracy on digits and the spiral."""

import json

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.errors import DivergenceError, InputError
from deltaprop.training import Trainer, train
from deltaprop.training.callbacks import Callback
from deltaprop.training.optimizers import GradientDescent
from deltaprop.training.schedules import StepDecay


def blobs(n=80, seed=0, k=3):
    rng = np.random.default_rng(seed)
    centers = np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5], [0.0, -2.5]])[:k]
    y = np.arange(n) % k
    X = centers[y] + rng.normal(0, 0.8, (n, 2))
    return X.astype(np.float32).astype(np.float64), np.eye(k)[y]  # exact in float32 too


def regression(n=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 3))
    Y = (X @ np.array([1.0, -2.0, 0.5]))[:, None] + 0.3
    return X, Y


def linear_net(n_in=3, dtype="float64", seed=0):
    return dp.mlp([n_in, 1], output_activation="identity", seed=seed, dtype=dtype)


def params(net):
    return [p.copy() for p in net.parameters()]


class Recorder(GradientDescent):
    """Plain GD that keeps a copy of every gradient it is given."""

    def __init__(self, lr):
        super().__init__(lr)
        self.seen = []

    def step(self, p, g):
        self.seen.append([x.copy() for x in g])
        super().step(p, g)


class WeightLog(Callback):
    def __init__(self):
        self.weights = []

    def on_epoch_end(self, trainer, epoch, logs):
        self.weights.append(params(trainer.network))


class BatchLog:
    """An ``augment`` callable that records the batches it sees and changes nothing."""

    def __init__(self):
        self.batches = []

    def __call__(self, Xb, rng):
        self.batches.append(Xb.copy())
        return Xb


@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.1), ("momentum", 0.05), ("nesterov", 0.05),
                                          ("adam", 0.01)])
def test_every_optimizer_lowers_the_loss(optimizer, lr):
    X, Y = blobs()
    net = dp.mlp([2, 16, 3], seed=0)
    h = train(net, X, Y, optimizer=optimizer, learning_rate=lr, batch_size=16, epochs=30,
              seed=0, verbose=0)
    assert h["loss"][-1] < 0.5 * h["loss"][0]
    assert h["accuracy"][-1] > 0.9


def test_full_batch_gradient_equals_mean_of_per_sample_gradients():
    X, Y = blobs(12)
    net = dp.mlp([2, 5, 3], activation="tanh", seed=1, dtype="float64")
    w0 = params(net)
    per_sample = []
    for x, y in zip(X, Y, strict=True):
        net.forward(x[None]); net.backward(y[None])  # noqa: E702
        per_sample.append([g.copy() for g in net.gradients()])
    mean = [np.mean([g[i] for g in per_sample], axis=0) for i in range(len(w0))]
    opt = Recorder(0.5)
    Trainer(net, optimizer=opt, batch_size="full", verbose=0).fit(X, Y, epochs=1)
    assert len(opt.seen) == 1  # one update per epoch (000 §9.2.2 BGD)
    for g, m, p, p0 in zip(opt.seen[0], mean, net.parameters(), w0, strict=True):
        np.testing.assert_allclose(g, m, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(p, p0 - 0.5 * m, rtol=1e-12, atol=1e-14)


def test_online_mode_draws_one_random_pair_per_step():
    X, Y = blobs(30)
    log = BatchLog()
    train(dp.mlp([2, 4, 3], seed=0), X, Y, batch_size=1, epochs=4, augment=log, seed=3,
          verbose=0)
    assert len(log.batches) == 4 * 30 and all(b.shape == (1, 2) for b in log.batches)
    rows = [int(np.flatnonzero((X == b[0]).all(axis=1))[0]) for b in log.batches]
    per_epoch = [rows[i:i + 30] for i in range(0, 120, 30)]
    # Algorithm 9.1 draws with replacement: some epoch repeats a pair
    assert any(len(set(e)) < 30 for e in per_epoch)


def test_mini_batches_reshuffle_every_epoch():
    X, Y = blobs(20)
    log = BatchLog()
    train(dp.mlp([2, 4, 3], seed=0), X, Y, batch_size=6, epochs=3, augment=log, seed=0,
          verbose=0)
    assert [len(b) for b in log.batches] == [6, 6, 6, 2] * 3
    epochs = [np.vstack(log.batches[i:i + 4]) for i in range(0, 12, 4)]
    for e in epochs:  # every pair exactly once per epoch
        assert sorted(map(tuple, e)) == sorted(map(tuple, X))
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])


def test_clip_value_bounds_every_gradient_component():
    X, Y = regression()
    Y = Y * 50  # large errors, large gradients
    for clip in (None, 0.05):
        opt = Recorder(0.001)
        train(linear_net(), X, Y, optimizer=opt, batch_size=10, clip_value=clip, epochs=2,
              seed=0, verbose=0)
        biggest = max(float(np.abs(g).max()) for step in opt.seen for g in step)
        if clip is None:
            assert biggest > 1.0  # without clipping the bound would be violated
        else:
            assert biggest <= clip


def test_clip_norm_bounds_the_global_gradient_norm():
    X, Y = regression()
    opt = Recorder(0.001)
    h = train(linear_net(), X, Y * 50, optimizer=opt, batch_size=10, clip_norm=0.5, epochs=2,
              seed=0, verbose=0)
    norms = [np.sqrt(sum(float((g**2).sum()) for g in step)) for step in opt.seen]
    assert max(norms) <= 0.5 + 1e-12 and h["grad_norm"][0] > 0.5  # recorded before clipping


@pytest.mark.parametrize("fast", [False, True])
def test_l2_alone_shrinks_weights_by_one_minus_eta_lambda(fast):
    X, _ = regression()
    net = dp.mlp([3, 4, 2], activation="tanh", output_activation="identity", seed=0,
                 dtype="float64")
    Y = net.predict(X)  # targets equal to the outputs: the data gradient is 0
    w0 = params(net)
    eta, lam = 0.1, 0.3
    tr = Trainer(net, l2=lam, learning_rate=eta, batch_size="full", verbose=0)
    tr.fast = fast
    h = tr.fit(X, Y, epochs=1)
    assert tr.compiled_mode == fast
    # The reference loop's data gradient is exactly 0; the fused kernels of the compiled mode
    # leave roundoff of ~1e-19 in it.
    atol = 1e-16 if fast else 0
    for p, p0, info in zip(net.parameters(), w0, net.parameter_info(), strict=True):
        if info.kind == "W":  # 002 §6: w <- (1 - eta lambda) w
            np.testing.assert_allclose(p, (1 - eta * lam) * p0, rtol=1e-14, atol=atol)
        else:  # biases are not decayed
            np.testing.assert_allclose(p, p0, rtol=0, atol=atol)
    weights = [p0 for p0, i in zip(w0, net.parameter_info(), strict=True) if i.kind == "W"]
    penalty = lam / 2 * sum(float((w**2).sum()) for w in weights)
    assert h["loss"][0] == pytest.approx(penalty * (1 - eta * lam) ** 2, rel=1e-9)


def test_l1_subtracts_eta_lambda_sign_of_the_weights():
    X, _ = regression()
    net = dp.mlp([3, 2], output_activation="identity", seed=0, dtype="float64")
    Y = net.predict(X)
    w0 = params(net)
    train(net, X, Y, l1=0.01, learning_rate=0.5, batch_size="full", epochs=1, verbose=0)
    np.testing.assert_allclose(net.parameters()[0], w0[0] - 0.5 * 0.01 * np.sign(w0[0]),
                               rtol=1e-14)
    np.testing.assert_array_equal(net.parameters()[1], w0[1])


def test_max_norm_caps_each_neurons_incoming_weights():
    X, Y = blobs()
    net = dp.mlp([2, 8, 3], seed=0)
    train(net, X, Y, learning_rate=0.5, max_norm=0.7, epochs=10, seed=0, verbose=0)
    for p, info in zip(net.parameters(), net.parameter_info(), strict=True):
        if info.kind == "W":
            assert np.linalg.norm(p, axis=1).max() <= 0.7 * (1 + 1e-6)
    free = dp.mlp([2, 8, 3], seed=0)
    train(free, X, Y, learning_rate=0.5, epochs=10, seed=0, verbose=0)
    assert max(np.linalg.norm(p, axis=1).max() for p in free.parameters()[::2]) > 0.7


def test_fan_in_learning_rates_scale_each_layers_step():
    X, Y = blobs(10)
    net = dp.mlp([2, 16, 3], seed=0, dtype="float64")
    ref = net.copy()
    w0 = params(net)
    train(net, X, Y, layer_learning_rates="fan_in", learning_rate=0.4, batch_size="full",
          epochs=1, verbose=0)
    ref.forward(X); ref.backward(Y)  # noqa: E702
    for p, p0, g, info in zip(net.parameters(), w0, ref.gradients(), net.parameter_info(),
                              strict=True):
        np.testing.assert_allclose(p, p0 - 0.4 / np.sqrt(info.fan_in) * g, rtol=1e-12)


def test_early_stopping_restores_the_best_epochs_weights():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (40, 1))
    Y = np.sin(3 * X) + rng.normal(0, 0.4, X.shape)  # few noisy points: overfits
    Xv = rng.uniform(-1, 1, (200, 1))
    Yv = np.sin(3 * Xv)
    net = dp.mlp([1, 64, 64, 1], activation="tanh", output_activation="identity", seed=0)
    log = WeightLog()
    h = train(net, X, Y, optimizer="adam", learning_rate=0.02, batch_size=8, epochs=400,
              validation_data=(Xv, Yv), early_stopping=True, patience=15, callbacks=[log],
              seed=0, verbose=0)
    assert h.stop_reason == "early_stopping" and len(h) < 400
    best = h.best_epoch
    assert best < len(h) and h["val_loss"][best - 1] == min(h["val_loss"])
    for p, b in zip(net.parameters(), log.weights[best - 1], strict=True):
        np.testing.assert_array_equal(p, b)
    assert not all(np.array_equal(p, b) for p, b in zip(net.parameters(), log.weights[-1],
                                                         strict=True))


def test_stopping_on_gradient_norm_and_loss_change():
    X, Y = regression()
    h = train(linear_net(), X, Y, learning_rate=0.5, batch_size="full", epochs=5000,
              grad_tol=1e-6, verbose=0)
    assert h.stop_reason == "grad_tol" and h["grad_norm"][-1] < 1e-6 < h["grad_norm"][-2]
    h = train(linear_net(), X, Y, learning_rate=0.05, batch_size="full", epochs=5000,
              tol=1e-6, verbose=0)
    assert h.stop_reason == "tol" and abs(h["loss"][-1] - h["loss"][-2]) < 1e-6 and len(h) > 2
    h = train(linear_net(), X, Y, epochs=3, verbose=0)
    assert h.stop_reason == "max_epochs" and len(h) == 3


def test_two_runs_with_one_seed_are_bit_identical():
    X, Y = blobs(64)

    def run(seed):
        net = dp.mlp([2, 16, 16, 3], dropout=0.2, seed=0)
        h = train(net, X, Y, optimizer="adam", learning_rate=0.01, batch_size=8, epochs=5,
                  sampling="hard", validation_split=0.25, seed=seed, verbose=0,
                  augment=lambda Xb, rng: Xb + rng.normal(0, 0.05, Xb.shape))
        epochs = [{k: v for k, v in e.items() if k != "time"} for e in h.epochs]
        return params(net), epochs

    (wa, ha), (wb, hb), (wc, _) = run(7), run(7), run(8)
    assert all(np.array_equal(a, b) for a, b in zip(wa, wb, strict=True))
    assert ha == hb
    assert not all(np.array_equal(a, c) for a, c in zip(wa, wc, strict=True))


def test_hard_example_sampling_favours_high_loss_pairs():
    X, Y = regression(20)
    Y[5] += 10.0  # one pair with a huge error
    log = BatchLog()
    train(linear_net(), X, Y, learning_rate=0.0, batch_size=1, sampling="hard", epochs=10,
          augment=log, seed=0, verbose=0)
    hits = sum(bool((b[0] == X[5]).all()) for b in log.batches)
    assert hits > 5 * 10  # uniform sampling would pick it ~10 times in 200 draws


def test_divergence_names_epoch_and_batch_and_keeps_finite_weights():
    X, Y = regression()
    for seed in range(20):  # overflow happens at different places for different batch orders
        net = linear_net(dtype="float32")
        with pytest.raises(DivergenceError, match=r"epoch \d+, batch \d+.*lower learning rate"
                                                  r".*clip") as info:
            train(net, X, Y * 1e3, learning_rate=50.0, batch_size=5, epochs=50, seed=seed,
                  verbose=0)
        assert isinstance(info.value, FloatingPointError)
        assert all(np.isfinite(p).all() for p in net.parameters())


def test_history_contents_and_json():
    X, Y = blobs()
    net = dp.mlp([2, 8, 8, 3], seed=0)
    h = train(net, X, Y, epochs=4, validation_split=0.25, schedule=StepDecay(0.5, 2),
              learning_rate=0.2, seed=0, verbose=0)
    e = h.epochs[-1]
    assert {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "time",
            "grad_norm", "grad_norms"} <= set(e)
    assert len(e["grad_norms"]) == 3 and e["time"] > 0 and 0 <= e["val_accuracy"] <= 1
    assert h["learning_rate"] == [0.2, 0.2, 0.1, 0.1] and h["epoch"] == [1, 2, 3, 4]
    assert json.loads(h.to_json())["epochs"][0]["epoch"] == 1
    Xr, Yr = regression()
    hr = train(linear_net(), Xr, Yr, epochs=30, learning_rate=0.3, seed=0, verbose=0,
               validation_data=(Xr, Yr))
    assert "r2" in hr.epochs[0] and "accuracy" not in hr.epochs[0]
    assert hr["val_r2"][-1] > 0.99


def test_partial_fit_continues_like_fit():
    X, Y = blobs(40)
    a, b = dp.mlp([2, 8, 3], seed=0), dp.mlp([2, 8, 3], seed=0)
    Trainer(a, optimizer="momentum", batch_size=8, seed=1, verbose=0).fit(X, Y, epochs=3)
    t = Trainer(b, optimizer="momentum", batch_size=8, seed=1, verbose=0)
    for _ in range(3):
        hist = t.partial_fit(X, Y)
    assert len(hist) == 3
    assert all(np.array_equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_sample_weight_zero_removes_pairs():
    X, Y = blobs(20)
    a, b = dp.mlp([2, 4, 3], seed=0, dtype="float64"), dp.mlp([2, 4, 3], seed=0, dtype="float64")
    sw = np.r_[np.ones(10), np.zeros(10)]
    train(a, X, Y, sample_weight=sw, batch_size="full", epochs=3, learning_rate=0.3, verbose=0)
    train(b, X[:10], Y[:10], batch_size="full", epochs=3, learning_rate=0.3, verbose=0)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-12)


def test_log_lines_without_a_terminal_and_silence_with_verbose_0(capsys):
    X, Y = blobs(20)
    train(dp.mlp([2, 3], seed=0), X, Y, epochs=3, verbose=1)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert [line.split()[:2] for line in captured.err.splitlines()] == [
        ["epoch", "1/3"], ["epoch", "2/3"], ["epoch", "3/3"]]
    train(dp.mlp([2, 3], seed=0), X, Y, epochs=3, verbose=0)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


@pytest.mark.parametrize("kwargs,message", [
    ({"batch_size": 0}, "batch_size must be an integer >= 1 or 'full', got 0"),
    ({"learning_rate": -0.1}, "learning_rate must be a number >= 0"),
    ({"optimizer": "rmsprop"}, "unknown optimizer 'rmsprop'"),
    ({"schedule": "cyclic"}, "unknown schedule 'cyclic'"),
    ({"momentum": 1.0}, r"momentum must be a number in \[0, 1\)"),
    ({"clip_value": 0}, "clip_value must be a number > 0"),
    ({"sampling": "greedy"}, "sampling must be 'uniform' or 'hard'"),
    ({"sampling": "hard", "batch_size": "full"}, "needs batch_size=1 or mini-batches"),
    ({"checkpoint_every": 2}, "needs a checkpoint_path"),
    ({"layer_learning_rates": [1.0]}, "1 entries but the network has 2 trainable layers"),
    ({"augment": 3}, "augment must be callable"),
])
def test_bad_trainer_arguments(kwargs, message):
    with pytest.raises(InputError, match=message):
        Trainer(dp.mlp([4, 3, 2], seed=0), **kwargs)


def test_bad_data_is_reported_precisely():
    net = dp.mlp([4, 3, 2], seed=0)
    X = np.zeros((100, 4))
    Y = np.eye(2)[np.zeros(100, int)]
    t = Trainer(net, verbose=0)
    with pytest.raises(InputError, match="X has 100 rows but Y has 99"):
        t.fit(X, Y[:99])
    with pytest.raises(InputError, match=r"Y is 1-D with shape \(100,\).*\(N, 2\).*one_hot"):
        t.fit(X, np.zeros(100))
    with pytest.raises(InputError, match="X has 3 features"):
        t.fit(X[:, :3], Y)
    with pytest.raises(InputError, match=r"Y\[0, 0\] = 2 lies outside \[0, 1\]"):
        t.fit(X, Y * 2)
    with pytest.raises(InputError, match="early_stopping needs validation data"):
        t.fit(X, Y, early_stopping=True)
    with pytest.raises(InputError, match="not both"):
        t.fit(X, Y, validation_split=0.2, validation_data=(X, Y))
    with pytest.raises(InputError, match="sample_weight has shape"):
        t.fit(X, Y, sample_weight=np.ones(3))
    with pytest.raises(InputError, match="epochs must be an integer >= 0"):
        t.fit(X, Y, epochs=-1)
    with pytest.raises(InputError, match="Y_val has 3 outputs"):
        t.fit(X, Y, validation_data=(X, np.zeros((100, 3))))


def test_digits_64_64_10_reaches_96_percent_test_accuracy():
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(digits.target))
    train_idx, test_idx = order[:1400], order[1400:]
    X = digits.data.astype(float)
    mean, std = X[train_idx].mean(axis=0), X[train_idx].std(axis=0) + 1e-8
    X = (X - mean) / std  # standardize with the training statistics (002 §4)
    Y = np.eye(10)[digits.target]
    net = dp.mlp([64, 64, 10], seed=0)
    train(net, X[train_idx], Y[train_idx], optimizer="momentum", learning_rate=0.05,
          batch_size=32, epochs=40, seed=0, verbose=0)
    accuracy = float((net.predict(X[test_idx]) == digits.target[test_idx]).mean())
    print(f"digits test accuracy: {accuracy:.4f}")
    assert accuracy >= 0.96


def test_spiral_reaches_97_percent_training_accuracy():
    from deltaprop import datasets

    data = datasets.spiral(100, 3, seed=0)
    X, y = data.X, data.y
    net = dp.mlp([2, 64, 64, 3], activation="relu", seed=0)
    h = train(net, X, np.eye(3)[y], optimizer="adam", learning_rate=0.01, batch_size=32,
              epochs=300, seed=0, verbose=0)
    accuracy = float((net.predict(X) == y).mean())
    print(f"spiral training accuracy: {accuracy:.4f} after {len(h)} epochs")
    assert accuracy >= 0.97


def test_regularization_helpers_directly():
    from deltaprop.training.regularization import apply_max_norm, clip_by_norm, penalty

    g = [np.array([3.0, 0.0]), np.array([[0.0, 4.0]])]
    clip_by_norm(g, 1.0, 5.0)
    np.testing.assert_allclose(np.r_[g[0], g[1].ravel()], [0.6, 0.0, 0.0, 0.8])  # same direction
    W, b = np.array([[3.0, -4.0], [0.3, 0.4]]), np.array([10.0, 10.0])
    assert penalty([W, b], [True, False], l1=0.1, l2=2.0) == pytest.approx(
        0.5 * 2.0 * 25.25 + 0.1 * 7.7)
    apply_max_norm([W, b], [True, False], 1.0)
    np.testing.assert_allclose(W, [[0.6, -0.8], [0.3, 0.4]])
    np.testing.assert_array_equal(b, [10.0, 10.0])


@pytest.mark.parametrize("bs", [1, 7, "full"])
@pytest.mark.parametrize("activation,out,dtype", [
    ("relu", "softmax", "float64"), ("tanh", "logistic", "float64"),
    ("logistic", "identity", "float64"), ("relu", "softmax", "float32")])
@pytest.mark.parametrize("options", [
    {"optimizer": "momentum", "momentum": 0.5},
    {"optimizer": "adam", "l2": 1e-2},
    {"optimizer": "sgd", "l1": 1e-3, "l2": 1e-3},
])
def test_trainer_fast_path_matches_reference_loop(bs, activation, out, dtype, options):
    """Trainer with its compiled steps and on the readable engine: same weights, same
    History keys and values (to float tolerance), on the same seed."""
    rng = np.random.default_rng(0)
    X = rng.random((90, 6))
    k = 1 if out == "logistic" else 3
    Y = np.eye(3)[rng.integers(0, 3, 90)][:, :k] if out != "identity" else X[:, :2] @ [[1.0], [-1]]
    runs = []
    for fast in (True, False):
        net = dp.mlp([6, 8, 5, Y.shape[1]], activation=activation, output_activation=out,
                     seed=1, dtype=dtype)
        tr = Trainer(net, learning_rate=0.02, batch_size=bs, seed=3, verbose=0, **options)
        tr.fast = fast
        hist = tr.fit(X, Y, epochs=3, validation_split=0.2)
        assert tr.compiled_mode == fast
        runs.append((net, hist))
    tol = 1e-9 if dtype == "float64" else 1e-4
    (fnet, fh), (rnet, rh) = runs
    for p, q in zip(fnet.parameters(), rnet.parameters(), strict=True):
        np.testing.assert_allclose(p, q, atol=tol, rtol=tol)
    for a, b in zip(fh.epochs, rh.epochs, strict=True):
        assert sorted(a) == sorted(b)
        for key in a:
            if key != "time":
                np.testing.assert_allclose(a[key], b[key], atol=tol, rtol=tol, err_msg=key)


def test_trainer_fast_path_is_deterministic_and_skipped_for_clipping():
    X = np.random.default_rng(1).random((50, 4))
    Y = np.eye(2)[(X[:, 0] > 0.5).astype(int)]
    weights = []
    for _ in range(2):
        net = dp.mlp([4, 6, 2], seed=0)
        tr = Trainer(net, optimizer="momentum", learning_rate=0.1, batch_size=1, seed=5,
                     verbose=0)
        tr.fit(X, Y, epochs=2)
        assert tr.compiled_mode
        weights.append(np.concatenate([p.ravel() for p in net.parameters()]))
    assert np.array_equal(weights[0], weights[1])
    tr = Trainer(dp.mlp([4, 6, 2], seed=0), clip_value=1.0, batch_size=8, seed=5, verbose=0)
    tr.fit(X, Y, epochs=1)
    assert tr.compiled_mode  # clipping runs on the compiled step too


@pytest.mark.parametrize("fast", [True, False])
def test_shuffle_false_visits_the_data_in_order(fast):
    """shuffle=False: online SGD takes the pairs in turn, mini-batches follow the rows."""
    rng = np.random.default_rng(2)
    X = rng.random((12, 3))
    Y = np.eye(2)[rng.integers(0, 2, 12)]
    net = dp.mlp([3, 4, 2], seed=0, dtype="float64")
    by_hand = net.copy()
    tr = Trainer(net, optimizer="sgd", learning_rate=0.1, batch_size=1, shuffle=False,
                 seed=0, verbose=0)
    tr.fast = fast
    tr.fit(X, Y, epochs=2)
    opt = GradientDescent(0.1)
    for _ in range(2):
        for i in range(len(X)):  # 000 Algorithm 9.1 with the pairs in order
            by_hand.forward(X[i:i + 1])
            by_hand.backward(Y[i:i + 1])
            opt.step(by_hand.parameters(), by_hand.gradients())
    for p, q in zip(net.parameters(), by_hand.parameters(), strict=True):
        np.testing.assert_allclose(p, q, atol=1e-12)
    nets = []
    for seed in (0, 1):  # no random draw at all: the seed does not matter
        m = dp.mlp([3, 4, 2], seed=0)
        Trainer(m, batch_size=5, shuffle=False, seed=seed, verbose=0).fit(X, Y, epochs=2)
        nets.append(m)
    for p, q in zip(*(m.parameters() for m in nets), strict=True):
        assert np.array_equal(p, q)
    with pytest.raises(InputError, match="shuffle"):
        Trainer(dp.mlp([3, 4, 2]), sampling="hard", shuffle=False)


def test_adam_hyperparameters_reach_the_optimizer():
    X = np.random.default_rng(0).random((20, 3))
    Y = np.eye(2)[(X[:, 0] > 0.5).astype(int)]
    tr = Trainer(dp.mlp([3, 4, 2], seed=0), optimizer="adam", beta_1=0.8, beta_2=0.99,
                 epsilon=1e-6, verbose=0, seed=0)
    tr.fit(X, Y, epochs=1)
    assert (tr.optimizer.beta_1, tr.optimizer.beta_2, tr.optimizer.epsilon) == (0.8, 0.99, 1e-6)
    with pytest.raises(InputError, match="beta_2"):
        Trainer(dp.mlp([3, 4, 2]), optimizer="adam", beta_2=1.0)
    with pytest.raises(InputError, match="epsilon"):
        Trainer(dp.mlp([3, 4, 2]), optimizer="adam", epsilon=0)
