"""One benchmark job in its own process: ``python benchmarks/workers.py JOB_JSON``.

Jobs: ``{"kind": "throughput", "framework": ..., "arch": ..., "batch_sizes": [...], ...}``,
``{"kind": "accuracy", ...}`` (time to a target test accuracy) and ``{"kind": "roofline", ...}``.
The result is printed as one JSON line on stdout (everything else goes to stderr).
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

CORES = os.cpu_count() or 1


# -- frameworks ------------------------------------------------------------------------------
class Deltaprop:
    """deltaprop as users run it: ``Trainer.partial_fit`` (what ``deltaprop.train``, the CLI and
    the estimators use), one call per epoch, with its compiled mode
    (deltaprop.training.compiled) on."""

    name = "deltaprop"

    def __init__(self, arch, seed=0):
        from deltaprop.training.trainer import Trainer

        self.net = common.initial_network(arch, seed)
        self.trainer = None
        self._make = lambda bs: Trainer(self.net, optimizer="momentum", momentum=common.MOMENTUM,
                                        learning_rate=common.LEARNING_RATE, batch_size=bs,
                                        verbose=0, seed=seed)

    def epoch(self, X, y, Y, bs):
        if self.trainer is None or self.trainer.batch_size != bs:
            self.trainer = self._make(bs)
        self.trainer.partial_fit(X, Y)

    def predict(self, X):
        return self.net.predict(X)


class Torch:
    """PyTorch eager on the CPU, torch.set_num_threads(cores), same initial weights."""

    name = "torch"

    def __init__(self, arch, seed=0):
        import torch

        torch.set_num_threads(CORES)
        torch.manual_seed(seed)
        self.torch = torch
        mods = []
        for k, (W, b) in enumerate(common.initial_weights(arch, seed)):
            lin = torch.nn.Linear(W.shape[1], W.shape[0])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W))
                lin.bias.copy_(torch.from_numpy(b))
            mods.append(lin)
            if k < len(arch.sizes) - 2:
                mods.append(torch.nn.ReLU() if arch.activation == "relu" else torch.nn.Sigmoid())
        self.model = torch.nn.Sequential(*mods)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=common.LEARNING_RATE,
                                   momentum=common.MOMENTUM)
        self.loss = torch.nn.CrossEntropyLoss()
        self.gen = torch.Generator().manual_seed(seed)
        self._data = None

    def epoch(self, X, y, Y, bs):
        torch = self.torch
        if self._data is None or self._data[0] is not X:
            self._data = (X, torch.from_numpy(X), torch.from_numpy(y))
        _, Xt, yt = self._data
        perm = torch.randperm(len(X), generator=self.gen)
        model, opt, loss_fn = self.model, self.opt, self.loss
        for s in range(0, len(X), bs):
            idx = perm[s:s + bs]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()

    def predict(self, X):
        with self.torch.no_grad():
            return self.model(self.torch.from_numpy(X)).argmax(dim=1).numpy()


class TorchSlices(Torch):
    """PyTorch's fastest loop: the epoch's permutation applied once (one gather of the whole
    set), then contiguous slices ``X[s:s + bs]`` as batches."""

    name = "torch_slices"

    def epoch(self, X, y, Y, bs):
        torch = self.torch
        if self._data is None or self._data[0] is not X:
            self._data = (X, torch.from_numpy(X), torch.from_numpy(y))
        _, Xt, yt = self._data
        perm = torch.randperm(len(X), generator=self.gen)
        Xs, ys = Xt[perm], yt[perm]
        model, opt, loss_fn = self.model, self.opt, self.loss
        for s in range(0, len(X), bs):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xs[s:s + bs]), ys[s:s + bs])
            loss.backward()
            opt.step()


class DeltapropRecipe:
    """deltaprop on the regularised recipe (common.RECIPE): dropout, max-norm, momentum."""

    name = "deltaprop"

    def __init__(self, epochs, seed=0):
        from deltaprop.training.schedules import CosineDecay
        from deltaprop.training.trainer import Trainer

        r = common.RECIPE
        self.net = common.recipe_network(seed)
        self.trainer = Trainer(self.net, optimizer="momentum", momentum=r["momentum"],
                               learning_rate=r["learning_rate"], batch_size=r["batch_size"],
                               max_norm=r["max_norm"], schedule=CosineDecay(total=epochs),
                               verbose=0, seed=seed)

    def epoch(self, X, y, Y, bs):
        self.trainer.partial_fit(X, Y)

    def predict(self, X):
        return self.net.predict(X)


class TorchRecipe:
    """PyTorch on the regularised recipe: nn.Dropout layers and torch.renorm max-norm after
    each step, CosineAnnealingLR stepped per epoch (deltaprop's CosineDecay: the same
    η₀ · ½ (1 + cos(π t / T)) in epoch t), same initial weights; contiguous slices of the
    epoch's permutation."""

    name = "torch"

    def __init__(self, epochs, seed=0):
        import torch

        torch.set_num_threads(CORES)
        torch.manual_seed(seed)
        self.torch = torch
        r = common.RECIPE
        net = common.recipe_network(seed)
        mods = [torch.nn.Dropout(r["input_dropout"])]
        dense = net.trainable_layers
        self.linears = []
        for k, layer in enumerate(dense):
            lin = torch.nn.Linear(layer.n_in, layer.n_out)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(layer.W))
                lin.bias.copy_(torch.from_numpy(layer.b))
            mods.append(lin)
            self.linears.append(lin)
            if k < len(dense) - 1:
                mods += [torch.nn.ReLU(), torch.nn.Dropout(r["hidden_dropout"])]
        self.model = torch.nn.Sequential(*mods)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=r["learning_rate"],
                                   momentum=r["momentum"])
        self.schedule = torch.optim.lr_scheduler.CosineAnnealingLR(self.opt, T_max=epochs)
        self.loss = torch.nn.CrossEntropyLoss()
        self.gen = torch.Generator().manual_seed(seed)
        self.max_norm = r["max_norm"]
        self._data = None

    def epoch(self, X, y, Y, bs):
        torch = self.torch
        if self._data is None or self._data[0] is not X:
            self._data = (X, torch.from_numpy(X), torch.from_numpy(y))
        _, Xt, yt = self._data
        self.model.train()
        perm = torch.randperm(len(X), generator=self.gen)
        Xs, ys = Xt[perm], yt[perm]
        for s in range(0, len(X), bs):
            self.opt.zero_grad(set_to_none=True)
            loss = self.loss(self.model(Xs[s:s + bs]), ys[s:s + bs])
            loss.backward()
            self.opt.step()
            with torch.no_grad():  # each unit's incoming weights to norm <= c (rows of W)
                for lin in self.linears:
                    lin.weight.copy_(torch.renorm(lin.weight, 2, 0, self.max_norm))
        self.schedule.step()

    def predict(self, X):
        self.model.eval()
        with self.torch.no_grad():
            return self.model(self.torch.from_numpy(X)).argmax(dim=1).numpy()


class Sklearn:
    """scikit-learn's MLPClassifier, solver="sgd", one partial_fit per epoch (its own init)."""

    name = "sklearn"

    def __init__(self, arch, seed=0):
        from sklearn.neural_network import MLPClassifier

        self.arch, self.seed, self.clf = arch, seed, None
        self._make = lambda bs: MLPClassifier(
            hidden_layer_sizes=arch.sizes[1:-1], activation=arch.activation, solver="sgd",
            alpha=0.0, batch_size=bs, learning_rate_init=common.LEARNING_RATE,
            momentum=common.MOMENTUM, nesterovs_momentum=False, shuffle=True,
            random_state=seed)

    def epoch(self, X, y, Y, bs):
        if self.clf is None or self.clf.batch_size != bs:
            self.clf = self._make(bs)
        self.clf.partial_fit(X, y, classes=np.arange(10))

    def predict(self, X):
        return self.clf.predict(X)


FRAMEWORKS = {c.name: c for c in (Deltaprop, Torch, TorchSlices, Sklearn)}
RECIPE_FRAMEWORKS = {c.name: c for c in (DeltapropRecipe, TorchRecipe)}
TUNES_BLAS = {"deltaprop", "sklearn"}  # numpy's BLAS: pick 1 or all cores


def _limits(threads):
    from threadpoolctl import threadpool_limits

    return threadpool_limits(threads, user_api="blas")


def _timed_epoch(model, X, y, Y, bs) -> float:
    t = time.perf_counter()
    model.epoch(X, y, Y, bs)
    return time.perf_counter() - t


# -- jobs ------------------------------------------------------------------------------------
def throughput(job) -> dict:
    arch = common.ARCHS[job["arch"]]
    X, y, Xt, yt = common.load_data(job["data"])
    Y = common.one_hot(y)
    slices = {int(k): v for k, v in job["slices"].items()}
    cls = FRAMEWORKS[job["framework"]]
    out = {"framework": cls.name, "arch": arch.name, "batch": {}}
    model = None
    for bs in job["batch_sizes"]:
        n = min(slices[bs], len(X))
        Xs, ys, Ys = X[:n], y[:n], Y[:n]
        model = cls(arch)
        # numpy's BLAS on a small, shared machine: 1 thread often beats all cores (no wake-ups,
        # no spinning against other processes), so deltaprop and scikit-learn are timed with
        # both and report the better median; torch runs with set_num_threads(cores).
        settings = (1, CORES) if cls.name in TUNES_BLAS and CORES > 1 else (CORES,)
        runs = {}
        for t in settings:
            with _limits(t):
                _timed_epoch(model, Xs, ys, Ys, bs)  # warm-up
                runs[t] = [_timed_epoch(model, Xs, ys, Ys, bs) for _ in range(job["epochs"])]
        threads = min(runs, key=lambda t: float(np.median(runs[t])))
        times = runs[threads]
        out["batch"][str(bs)] = {"samples": n, "epoch_s": times,
                                 "samples_per_s": n / float(np.median(times)),
                                 "blas_threads": threads,
                                 "samples_per_s_by_threads": {
                                     str(t): n / float(np.median(v)) for t, v in runs.items()}}
    with _limits(out["batch"][str(job["batch_sizes"][-1])]["blas_threads"]):
        model.predict(Xt[:256])  # warm-up
        times = []
        for _ in range(5):
            t = time.perf_counter()
            model.predict(Xt)
            times.append(time.perf_counter() - t)
    out["inference_samples_per_s"] = len(Xt) / float(np.median(times))
    out["peak_rss_mb"] = common.peak_rss_mb()
    return out


def accuracy(job) -> dict:
    """Train with batch 128 until the test accuracy reaches the target (evaluated each epoch)."""
    arch = common.ARCHS[job["arch"]]
    X, y, Xt, yt = common.load_data(job["data"])
    Y = common.one_hot(y)
    model = FRAMEWORKS[job["framework"]](arch)
    curve = []
    with _limits(job.get("blas_threads", CORES)):
        t0 = time.perf_counter()
        for epoch in range(1, job["max_epochs"] + 1):
            model.epoch(X, y, Y, job["batch_size"])
            acc = float(np.mean(model.predict(Xt) == yt))
            curve.append({"epoch": epoch, "test_accuracy": acc, "time_s": time.perf_counter() - t0})
            if acc >= job["target"]:
                break
    reached = curve[-1]["test_accuracy"] >= job["target"]
    return {"framework": model.name, "arch": arch.name, "curve": curve, "reached": reached,
            "time_s": curve[-1]["time_s"] if reached else None,
            "epochs": curve[-1]["epoch"], "peak_rss_mb": common.peak_rss_mb()}


def recipe(job) -> dict:
    """The regularised recipe: training samples/s at batch 128, then epochs until the test
    accuracy reaches each target (or max_epochs), timed."""
    X, y, Xt, yt = common.recipe_data(job["data"])
    Y = common.one_hot(y)
    model = RECIPE_FRAMEWORKS[job["framework"]](job["max_epochs"])
    bs = common.RECIPE["batch_size"]
    n = min(job["slice"], len(X))
    with _limits(job.get("blas_threads", CORES)):
        _timed_epoch(model, X[:n], y[:n], Y[:n], bs)  # warm-up
        times = [_timed_epoch(model, X[:n], y[:n], Y[:n], bs) for _ in range(job["epochs"])]
        model = RECIPE_FRAMEWORKS[job["framework"]](job["max_epochs"])  # from the start
        curve, reached, elapsed = [], {}, 0.0
        for epoch in range(1, job["max_epochs"] + 1):
            elapsed += _timed_epoch(model, X, y, Y, bs)  # the test evaluation is not timed
            acc = float(np.mean(model.predict(Xt) == yt))
            curve.append({"epoch": epoch, "test_accuracy": acc, "time_s": elapsed})
            for target in job["targets"]:
                if acc >= target and str(target) not in reached:
                    reached[str(target)] = {"epochs": epoch, "time_s": elapsed}
            if len(reached) == len(job["targets"]):
                break
    return {"framework": model.name, "samples": n, "epoch_s": times,
            "samples_per_s": n / float(np.median(times)), "curve": curve, "reached": reached,
            "peak_rss_mb": common.peak_rss_mb()}


def _gemms(arch, batch: int):
    """The GEMMs of one training step, as (A shape, B shape, transpose B?) like the engine."""
    shapes = []
    for k, (o, i) in enumerate(arch.weights):
        shapes.append(((batch, i), (o, i), True))   # a = h W^T
        shapes.append(((o, batch), (batch, i), False))  # dW = δ^T h
        if k > 0:
            shapes.append(((batch, o), (o, i), False))  # W^T δ
    return shapes


def _time(fn, reps: int) -> float:
    fn()
    best = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        best.append((time.perf_counter() - t) / reps)
    return float(np.median(best))


def roofline(job) -> dict:
    """Best float32 GEMM rate numpy or torch reaches on each network's own layer shapes."""
    from threadpoolctl import threadpool_info

    rng = np.random.default_rng(0)
    out = {"batch": job["batch"], "archs": {}, "threadpools": threadpool_info()}
    try:
        import torch

        out["torch"] = {"version": torch.__version__, "config": torch.__config__.show(),
                        "cpu_capability": torch.backends.cpu.get_cpu_capability()}
    except ImportError:
        torch = None
    for name in job["archs"]:
        arch = common.ARCHS[name]
        gemms = _gemms(arch, job["batch"])
        flops = sum(2 * a[0] * a[1] * (b[0] if t else b[1]) for a, b, t in gemms)
        rates = {}
        pairs = [(rng.random(a, dtype=np.float32), rng.random(b, dtype=np.float32), t)
                 for a, b, t in gemms]
        for threads in sorted({1, CORES}):
            with _limits(threads):
                total = sum(_time(lambda A=A, B=B, t=t: np.matmul(A, B.T if t else B), 10)
                            for A, B, t in pairs)
            rates[f"numpy/{threads}"] = flops / total
            if torch is not None:
                torch.set_num_threads(threads)
                tp = [(torch.from_numpy(A), torch.from_numpy(B), t) for A, B, t in pairs]
                total = sum(_time(lambda A=A, B=B, t=t: torch.mm(A, B.t() if t else B), 10)
                            for A, B, t in tp)
                rates[f"torch/{threads}"] = flops / total
        best = max(rates, key=rates.get)
        out["archs"][name] = {"flops_per_step": flops, "rates_flops_s": rates,
                              "best": best, "roofline_flops_s": rates[best]}
    return out


if __name__ == "__main__":
    job = json.loads(sys.argv[1])
    jobs = {"throughput": throughput, "accuracy": accuracy, "roofline": roofline,
            "recipe": recipe}
    result = jobs[job["kind"]](job)
    print(json.dumps(result))
