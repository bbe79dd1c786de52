"""One playground run: data, preprocessing, network and trainer, stepped epoch by epoch.

A :class:`Session` owns a :class:`~deltaprop.Network` built with :func:`deltaprop.mlp` and a
:class:`~deltaprop.Trainer` that it advances with :meth:`~deltaprop.Trainer.partial_fit`, one
epoch at a time (every optimizer, schedule, batch mode, dropout, L1/L2 and max-norm the
trainer has). After each step :meth:`Session.frame` reports what the page draws: the epoch,
training and test loss, per-layer gradient norms and saturated / dead-unit fractions
(:mod:`deltaprop.inspection.diagnostics`, 000 §9.3), the weights, and every neuron's h over the
input
plane (:class:`~deltaprop.playground.grid.InputGrid`).

All public methods take the session's lock, so the page's requests (play, step, reset, a new
state, a probe, a download) and the event stream that trains may come from different threads.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import numpy as np

from deltaprop.data.features import FEATURE_LABELS, FeatureMap
from deltaprop.data.pipeline import encode_targets, make_target_scaler
from deltaprop.data.preprocessing import Preprocessor, Standardizer
from deltaprop.engine.network import mlp
from deltaprop.errors import DeltapropError, DivergenceError, InputError
from deltaprop.inspection import diagnostics
from deltaprop.playground.data import PlaygroundData, make_data, split
from deltaprop.playground.export import model_bytes, model_info
from deltaprop.playground.grid import InputGrid, pack, quantize
from deltaprop.playground.probe import probe
from deltaprop.playground.state import MAX_PARAMETERS, PlaygroundState, schedule_kwargs
from deltaprop.training import Trainer
from deltaprop.training.schedules import get_schedule

__all__ = ["Session", "GRID", "NEURON_STEP", "MAX_SHOWN"]

#: Cells per side of the output heatmap; neuron heatmaps take every NEURON_STEP-th cell.
GRID = 48
NEURON_STEP = 2
#: Units per layer drawn with a heatmap and edges (the rest are counted, not drawn).
MAX_SHOWN = 32
#: Points of the loss curve kept (older ones are thinned out).
MAX_CURVE = 4000


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


class Session:
    """A run of the playground for one page.

    Parameters
    ----------
    state : PlaygroundState
    upload : (X, y, class names or None), optional
        The rows of an uploaded CSV file (used when ``state.dataset == "csv"``).
    """

    def __init__(self, state: PlaygroundState, upload: tuple | None = None) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.upload = upload
        self.layout_version = 0
        self.frame_version = 0
        self.playing = False
        self.streams = 0  # event streams opened; the newest one drives training
        self.error: str | None = None
        self.last_used = time.monotonic()
        self._build(state)

    # -- building --------------------------------------------------------------------------
    def _data(self, state: PlaygroundState) -> PlaygroundData:
        if state.dataset != "csv":
            return make_data(state)
        if self.upload is None:
            raise InputError("dataset 'csv' needs an uploaded file: choose one with "
                             "'Upload CSV'")
        X, y, names = self.upload
        return split("csv", X, y, names, state.train_ratio, state.seed, "target")

    def _build(self, state: PlaygroundState) -> None:
        """Build data, preprocessing, network and trainer; raises InputError for a state
        deltaprop refuses (the session keeps its previous run then)."""
        data = self._data(state)
        classify = data.task == "classification"
        pre = Preprocessor([FeatureMap(state.features), Standardizer()])
        Xtr = pre.fit_transform(data.X_train)
        Xte = pre.transform(data.X_test)
        n_out = data.n_classes if classify else 1
        sizes = [len(state.features), *state.layers, n_out]
        pieces = 2 if state.activation == "maxout" else 1
        n_params = sum((a * pieces + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        if n_params > MAX_PARAMETERS:
            raise InputError(f"the network has {n_params:,} parameters; at most "
                             f"{MAX_PARAMETERS:,} stay interactive")
        out = None if state.output == "auto" else state.output
        loss = None if state.loss == "auto" else state.loss
        if out is None and not classify and loss is None:
            out = "identity"
        net = mlp(sizes, activation=state.activation, output_activation=out, loss=loss,
                     init=None if state.init == "auto" else state.init,
                     dropout=state.dropout, seed=state.seed)
        scaler = None if classify else make_target_scaler(net.output_activation.name)
        if scaler is not None:
            scaler.fit(data.y_train.reshape(-1, 1))
        Ytr = encode_targets(data.y_train, data.task, n_out, scaler, net.dtype)
        Yte = encode_targets(data.y_test, data.task, n_out, scaler, net.dtype)
        net.check_targets(Ytr, "the training targets")
        name, kwargs = schedule_kwargs(state.schedule)
        momentum = state.momentum if state.optimizer in ("momentum", "nesterov") else 0.0
        trainer = Trainer(net, optimizer=state.optimizer,
                             learning_rate=state.learning_rate, momentum=momentum,
                             batch_size=state.batch_size,
                             schedule=get_schedule(name, **kwargs),
                             l1=state.l1, l2=state.l2, max_norm=state.max_norm or None,
                             verbose=0, seed=state.seed)
        grid = InputGrid(data.domain, GRID)
        with self.lock:
            self.state, self.data, self.pre, self.scaler = state, data, pre, scaler
            self.network, self.trainer = net, trainer
            self.X_train, self.Y_train, self.X_test, self.Y_test = Xtr, Ytr, Xte, Yte
            self.grid, self.grid_inputs = grid, pre.transform(grid.points).astype(net.dtype)
            self.epoch, self.curve, self.new_points = 0, [], []
            self.grad_norms: list[float | None] = []
            self.playing, self.error = False, None
            self.layout_version += 1
            self._measure()
            self.changed.notify_all()

    def configure(self, state: PlaygroundState, upload: tuple | None = None) -> None:
        """Start a new run for ``state`` (and new uploaded rows, when given)."""
        with self.lock:
            previous = self.upload
            if upload is not None:
                self.upload = upload
            try:
                self._build(state)
            except BaseException:
                self.upload = previous
                raise

    def reset(self) -> None:
        """Start the same run again from its initial weights."""
        self.configure(self.state)

    # -- training --------------------------------------------------------------------------
    def set_playing(self, playing: bool) -> None:
        self.playing = bool(playing) and self.error is None  # seen between two epochs
        with self.lock:
            self.playing = bool(playing) and self.error is None
            self.frame_version += 1
            self.changed.notify_all()

    def train(self, epochs: int = 1, while_playing: bool = False) -> None:
        """Run ``epochs`` epochs (``while_playing``: stop early when paused); a deltaprop
        error pauses the run and is reported."""
        with self.lock:
            if self.error is not None:
                return
            try:
                for _ in range(epochs):
                    if while_playing and not self.playing:
                        break
                    history = self.trainer.partial_fit(self.X_train, self.Y_train)
                    logs = history.epochs[-1]
                    self.grad_norms = [_finite(v) for v in logs.get("grad_norms", [])]
                    del history.epochs[:-1]  # the page keeps its own curve
                    self.epoch += 1
                    if not math.isfinite(logs["loss"]):
                        raise DivergenceError(f"the loss is {logs['loss']} at epoch "
                                                 f"{self.epoch}: lower the learning rate")
            except DeltapropError as exc:
                self.error = str(exc)
                self.playing = False
            self._measure()
            self.changed.notify_all()

    def _measure(self) -> None:
        net = self.network
        with np.errstate(all="ignore"):
            train = _finite(net.evaluate(self.X_train, self.Y_train))
            test = _finite(net.evaluate(self.X_test, self.Y_test))
        point = [self.epoch, train, test]
        self.metrics = {"train_loss": train, "test_loss": test,
                        "train_accuracy": self._accuracy(self.X_train, self.data.y_train),
                        "test_accuracy": self._accuracy(self.X_test, self.data.y_test)}
        self.curve.append(point)
        self.new_points.append(point)
        if len(self.curve) > MAX_CURVE:
            self.curve = self.curve[::2]
        self.frame_version += 1

    def _accuracy(self, X: np.ndarray, y: np.ndarray) -> float | None:
        if self.data.task != "classification":
            return None
        return float(np.mean(self.network.forward(X).argmax(axis=1) == y))

    # -- what the page draws ---------------------------------------------------------------
    def layout(self) -> dict[str, Any]:
        """Everything that changes only with a new run: data, structure, feature maps."""
        with self.lock:
            d, net = self.data, self.network
            feats = FeatureMap(self.state.features).transform(self.grid.points)
            small = self.grid.subsample(feats, NEURON_STEP)
            feature_maps = []
            for j in range(small.shape[1]):
                half = float(np.abs(small[:, j]).max()) or 1.0
                feature_maps.append(pack(quantize(small[:, j], 0.0, half)))
            layers = []
            for layer in net.trainable_layers:
                layers.append({"units": layer.n_out, "shown": min(layer.n_out, MAX_SHOWN),
                               "activation": getattr(layer.activation, "name", "maxout")
                               if type(layer).__name__ != "Maxout" else "maxout"})

            def points(X: np.ndarray, y: np.ndarray) -> list[list[float]]:
                return np.round(np.column_stack([X, y]), 5).tolist()

            return {
                "type": "layout", "version": self.layout_version,
                "state": self.state.to_query(), "task": d.task, "dataset": d.name,
                "classes": d.class_names, "target": d.target_name,
                "domain": list(d.domain), "grid": self.grid.size,
                "neuron_grid": self.grid.size // NEURON_STEP,
                "features": [{"key": f, "label": FEATURE_LABELS[f]}
                             for f in self.state.features],
                "feature_maps": feature_maps, "layers": layers,
                "loss": net.loss.name, "output_activation": net.output_activation.name,
                "train": points(d.X_train, d.y_train), "test": points(d.X_test, d.y_test),
                "y_range": self._y_range(), "curve": list(self.curve),
                "summary": net.summary(),
            }

    def _y_range(self) -> list[float] | None:
        if self.data.task == "classification":
            return None
        y = np.concatenate([self.data.y_train, self.data.y_test])
        center = float(y.mean())
        return [center, float(np.abs(y - center).max()) or 1.0]

    def frame(self) -> dict[str, Any]:
        """The page's update after a step: numbers, diagnostics, weights and heatmaps."""
        with self.lock:
            net = self.network
            with np.errstate(all="ignore"):
                out = net.forward(self.grid_inputs)
                maps, units = [], []
                for layer in net.trainable_layers[:-1]:
                    shown = min(layer.n_out, MAX_SHOWN)
                    h = self.grid.subsample(np.asarray(layer.h[:, :shown], np.float64),
                                            NEURON_STEP)
                    center, half = self._scale(layer, h)
                    maps.append(pack(quantize(h, center[None, :], half[None, :]).T))
                    units.append({"center": center.round(6).tolist(),
                                  "half": half.round(6).tolist()})
                output = self._output_map(np.asarray(out, np.float64))
                sat = diagnostics.saturation_fractions(net, self.X_train)
                dead = diagnostics.dead_unit_fractions(net, self.X_train)
            hidden = [layer.index for layer in net.trainable_layers[:-1]]
            frame = {
                "type": "frame", "version": self.layout_version, "epoch": self.epoch,
                "playing": self.playing, "error": self.error,
                **self.metrics,
                "learning_rate": _finite(self._learning_rate()),
                "points": self.new_points,
                "grad_norms": self.grad_norms,
                "saturated": [_finite(sat.get(i, float("nan"))) for i in hidden],
                "dead": [_finite(dead[i]) if i in dead else None for i in hidden],
                "weights": self._weights(), "maps": maps, "units": units, "output": output,
            }
            self.new_points = []
            return frame

    def _learning_rate(self) -> float:
        opt = self.trainer.optimizer
        return self.state.learning_rate if opt is None else opt.learning_rate

    @staticmethod
    def _scale(layer: Any, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Colour scale per unit: an activation's own range when it is bounded, else 0 ± the
        largest |h| on the grid."""
        act = getattr(layer, "activation", None)
        lo, hi = act.bounds if act is not None and type(layer).__name__ != "Maxout" else (
            -np.inf, np.inf)
        n = h.shape[1]
        if np.isfinite(lo) and np.isfinite(hi):
            return np.full(n, (lo + hi) / 2), np.full(n, (hi - lo) / 2)
        half = np.nan_to_num(np.abs(h).max(axis=0), nan=1.0, posinf=1.0)
        return np.zeros(n), np.where(half > 1e-9, half, 1.0)

    def _output_map(self, out: np.ndarray) -> dict[str, Any]:
        if self.data.task == "classification":
            name = self.network.output_activation.name
            if name == "softmax":
                probs = out
            elif name == "logistic":
                probs = out / np.maximum(out.sum(axis=1, keepdims=True), 1e-12)
            else:
                probs = np.eye(out.shape[1])[out.argmax(axis=1)]
            return {"kind": "classes", "data": pack(quantize(probs.T, 0.5, 0.5))}
        values = self.outputs_to_targets(out)[:, 0]
        center, half = self._y_range()
        return {"kind": "values", "data": pack(quantize(values, center, half))}

    def outputs_to_targets(self, out: np.ndarray) -> np.ndarray:
        return out if self.scaler is None else self.scaler.inverse_transform(out)

    def _weights(self) -> list[list[list[float]]]:
        """Per trainable layer the shown units' incoming weights (maxout: the piece with the
        largest |w| per edge)."""
        result = []
        shown_in = min(self.network.n_inputs, MAX_SHOWN)
        for layer in self.network.trainable_layers:
            W = np.asarray(layer.W, np.float64)
            pieces = layer.W.shape[0] // layer.n_out
            if pieces > 1:
                W3 = W.reshape(layer.n_out, pieces, layer.n_in)
                pick = np.abs(W3).argmax(axis=1)
                W = np.take_along_axis(W3, pick[:, None, :], axis=1)[:, 0, :]
            shown_out = min(layer.n_out, MAX_SHOWN)
            result.append(np.round(np.nan_to_num(W[:shown_out, :shown_in]), 4).tolist())
            shown_in = shown_out
        return result

    # -- the probe and the model file --------------------------------------------------------
    def probe(self, x1: float, x2: float) -> dict[str, Any]:
        """One forward/backward pass and update for the training point nearest (x1, x2)."""
        with self.lock:
            raw = np.array([[float(x1), float(x2)]])
            if not np.isfinite(raw).all():
                raise InputError("the probe point must be finite numbers x1, x2")
            span = np.array([self.data.domain[1] - self.data.domain[0],
                             self.data.domain[3] - self.data.domain[2]])
            dist = (((self.data.X_train - raw) / span) ** 2).sum(axis=1)
            i = int(dist.argmin())
            point = self.data.X_train[i]
            result = probe(self.network, self.X_train[i], self.Y_train[i],
                           self._learning_rate())
            params = result.pop("params")
            if params is not None:
                for live, new in zip(self.network.parameters(), params, strict=True):
                    np.copyto(live, new.astype(live.dtype))
                self._measure()
                self.changed.notify_all()
            result.update(point=np.round(point, 6).tolist(), index=i,
                          label=self._label(self.data.y_train[i]),
                          features=list(self.state.features),
                          prediction=self._label_of_output(result["output"]))
            return result

    def _label(self, y: Any) -> str:
        if self.data.class_names is not None:
            return self.data.class_names[int(y)]
        return f"{float(y):.4g}"

    def _label_of_output(self, output: list[float]) -> str:
        out = np.asarray([output], dtype=np.float64)
        if self.data.class_names is not None:
            return self.data.class_names[int(out.argmax())]
        return f"{float(self.outputs_to_targets(out)[0, 0]):.4g}"

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Network outputs for raw (x1, x2) rows (probabilities / values in target units)."""
        with self.lock:
            out = self.network.forward(self.pre.transform(X).astype(self.network.dtype))
            return out if self.data.task == "classification" else self.outputs_to_targets(out)

    def model_file(self) -> bytes:
        """The current network as a model.npz for ``deltaprop predict`` / ``load``."""
        with self.lock:
            info = model_info(self.data.task, self.data.class_names, self.data.target_name,
                              self.data.name, self.state.seed, self.pre, self.scaler,
                              {"playground": self.state.to_query(), "epoch": self.epoch})
            return model_bytes(self.network, info)
