"""The multilayer perceptron: forward pass, backpropagation of errors, gradients (000 §9.2).

:meth:`Network.forward` computes a^l and h^l layer by layer (000 Eq. 7a-7i) and keeps them on
the layers. :meth:`Network.backward` starts from the output error δ^m (000 Eq. 8a; the fused
δ^m = ŷ − y for a canonical pair, 004 table) and propagates δ^l = φ'(a^l) ⊙ (W^l)^T δ^{l+1}
backwards (000 Eq. 6f, 8b), leaving ∂L/∂W^l = δ^{l+1} (h^l)^T and ∂L/∂b^l = δ^{l+1}, averaged
over the batch (001 "Batch training"), on every layer.

Examples
--------
>>> import numpy as np
>>> import deltaprop as dp
>>> net = dp.Network([dp.Dense(2, 2, "logistic", rng=0), dp.Dense(2, 1, "logistic", rng=1)])
>>> X = np.array([[0.0, 1.0]]); Y = np.array([[1.0]])
>>> h = net.forward(X)
>>> net.backward(Y)
>>> [g.shape for g in net.gradients()]
[(2, 2), (2,), (1, 2), (1,)]
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import numpy as np

from deltaprop.checks import as_generator, check_array, check_sample_weight
from deltaprop.engine import layers as layer_types
from deltaprop.engine import losses
from deltaprop.engine.flat import flatten_network
from deltaprop.engine.layers import BatchNorm, Dense, Dropout, GaussianNoise, Layer, Maxout
from deltaprop.errors import DeltapropError, InputError, ModelFileError, NotDifferentiableError
from deltaprop.files.archive import load_archive, save_archive

__all__ = ["Network", "ParamInfo", "mlp", "load"]

# 004 table: the loss each output activation is the canonical link of.
_CANONICAL_LOSS = {
    "identity": "squared_error",
    "logistic": "binary_cross_entropy",
    "softmax": "categorical_cross_entropy",
}


class ParamInfo(NamedTuple):
    """Where a parameter array lives: layer index, kind (``"W"``, ``"b"``, or BatchNorm's
    ``"gamma"``, ``"beta"``; only ``"W"`` is penalised and max-normed) and the fan-in."""

    layer_index: int
    kind: str
    fan_in: int


class Network:
    """A feedforward network of layers trained by backpropagation (000 §9.2).

    Parameters
    ----------
    layers : list of Layer
        ``Dense``, ``Maxout``, ``Dropout``, ``GaussianNoise`` and ``BatchNorm`` layers; the last
        one must be ``Dense``. Consecutive sizes must match.
    loss : str or Loss, optional
        Defaults to the canonical loss of the output activation (004 table): squared error for
        identity, binary cross-entropy for logistic, categorical cross-entropy for softmax.
    dtype : {"float32", "float64"}, default "float32"
    seed : int or Generator, optional
        Seeds the generator dropout and noise use when ``forward(training=True)`` gets no
        ``rng``.

    Attributes
    ----------
    a, h : list of ndarray
        After :meth:`forward`: the pre-activations [a^2, ..., a^m] and outputs [h^1 = X, ..., h^m].
    deltas : list of ndarray
        After :meth:`backward`: [δ^2, ..., δ^m].
    """

    def __init__(self, layers: list[Layer], loss=None, dtype="float32", seed=None):
        if isinstance(layers, Layer) or not layers:
            raise InputError("layers must be a non-empty list of layers")
        self.layers = list(layers)
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise InputError(f"layers[{i}] is a {type(layer).__name__}, not a deltaprop layer")
            layer.index = i
        self._check_sizes()
        out = self.layers[-1]
        if type(out) is not Dense:
            raise InputError(f"{out.describe()}: the output layer must be Dense")
        self.output_activation = out.activation
        if loss is None:
            loss = _CANONICAL_LOSS.get(out.activation.name, "squared_error")
        self.loss = losses.get(loss)
        lo, hi = self.output_activation.bounds
        need_lo, need_hi = self.loss.output_bounds
        if lo < need_lo or hi > need_hi:
            raise InputError(
                f"loss {self.loss.name!r} needs outputs in [{need_lo:g}, {need_hi:g}], but the "
                f"output activation {out.activation.name!r} ranges over [{lo:g}, {hi:g}]; use "
                f"{self.loss.canonical!r} (its canonical link, 004)"
            )
        self.fused = self.loss.canonical == self.output_activation.name
        try:
            self.dtype = np.dtype(dtype)
        except TypeError:
            raise InputError(f"dtype must be 'float32' or 'float64', got {dtype!r}") from None
        if self.dtype not in (np.float32, np.float64):
            raise InputError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        for layer in self.layers:
            layer.astype(self.dtype)
        self._flatten()
        self.rng = as_generator(seed)
        self.extras: dict = {}
        self._batch = None

    def _flatten(self) -> None:
        """All parameters in one contiguous buffer, all gradients in another (performance; see
        :func:`deltaprop.engine.flat.flatten_network`)."""
        flatten_network(self)

    def _check_sizes(self) -> None:
        width = None
        prev = None
        for layer in self.layers:
            if not isinstance(layer, Dense):  # Dropout, GaussianNoise, BatchNorm keep the width
                if width is not None:
                    if layer.n_in not in (None, width):
                        raise InputError(f"{layer.describe()} was built for {layer.n_in} units, "
                                         f"but the layer below gives {width}")
                    layer.set_size(width)
                continue
            if width is not None and layer.n_in != width:
                raise InputError(
                    f"{layer.describe()} expects {layer.n_in} inputs, but "
                    f"{prev.describe()} gives {width} outputs"
                )
            width, prev = layer.n_out, layer
        first = next((lay for lay in self.layers if lay.trainable), None)
        if first is None:
            raise InputError("the network needs at least one Dense or Maxout layer")
        for layer in self.layers[:first.index]:
            if layer.n_in not in (None, first.n_in):
                raise InputError(f"{layer.describe()} was built for {layer.n_in} units, but "
                                 f"the network has {first.n_in} inputs")
            layer.set_size(first.n_in)

    # -- structure ---------------------------------------------------------------------------
    @property
    def trainable_layers(self) -> list[Dense]:
        return [lay for lay in self.layers if lay.trainable]

    @property
    def n_inputs(self) -> int:
        return self.trainable_layers[0].n_in

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_out

    @property
    def is_classifier(self) -> bool:
        """True when the outputs are class scores: a cross-entropy loss or step/sign outputs."""
        return self.loss.name.endswith("cross_entropy") or not self.output_activation.differentiable

    def parameters(self) -> list[np.ndarray]:
        """[W¹, b¹, W², b², ...] (with BatchNorm's γ, β where the layers sit): the live arrays
        (changing them in place changes the network)."""
        return [p for layer in self.layers for p in layer.params()]

    def gradients(self) -> list[np.ndarray]:
        """[∂L/∂W¹, ∂L/∂b¹, ...], aligned with :meth:`parameters`, after :meth:`backward`."""
        return [g for layer in self.layers for g in layer.grads()]

    def buffers(self) -> list[np.ndarray]:
        """The saved state that is not trained: BatchNorm's running means and variances."""
        return [b for layer in self.layers for b in layer.buffers()]

    def parameter_info(self) -> list[ParamInfo]:
        """Aligned with :meth:`parameters`: which layer, which kind ("W", "b", "gamma",
        "beta") and that layer's fan-in."""
        return [ParamInfo(layer.index, kind, fan_in)
                for layer in self.layers for kind, fan_in in layer.param_kinds()]

    @property
    def a(self) -> list[np.ndarray]:
        return [lay.a for lay in self.trainable_layers]

    @property
    def h(self) -> list[np.ndarray]:
        return [self.trainable_layers[0].h_in, *(lay.h for lay in self.trainable_layers)]

    @property
    def deltas(self) -> list[np.ndarray]:
        return [lay.delta for lay in self.trainable_layers]

    # -- forward and backward ------------------------------------------------------------------
    def forward(self, X, training: bool = False, rng=None, check: bool = True) -> np.ndarray:
        """Forward pass (000 Eq. 7a-7i): returns h^m and keeps a^l, h^l on every layer.

        ``training=True`` applies dropout and noise drawn from ``rng`` (default: ``self.rng``)
        and normalises BatchNorm layers with the batch's statistics.
        ``check=False`` skips input validation (the training loop validates its data once).
        """
        h = check_array(X, name="X", n_features=self.n_inputs, dtype=self.dtype) if check else X
        if training and rng is None:
            rng = self.rng
        for layer in self.layers:
            h = layer.forward(h, training, rng)
        self._batch = len(h)
        return h

    def adopt_batch(self, n: int) -> None:
        """Record that the layers hold a training pass over ``n`` rows (see
        :meth:`~deltaprop.engine.layers.Dense.adopt_workspace`), so ``backward`` accepts
        targets of ``n`` rows."""
        self._batch = int(n)

    def check_targets(self, Y, name: str = "Y") -> np.ndarray:
        """``Y`` as a finite (N, n_outputs) array within the output activation's range (002 §4
        'Target values') and valid for the loss; InputError naming the entry otherwise."""
        Y = check_array(Y, name=name, n_features=self.n_outputs, dtype=self.dtype, what="outputs")
        lo, hi = self.output_activation.bounds
        if Y.min() < lo or Y.max() > hi:  # two reductions; only a bad Y pays for the search
            r, c = (int(i) for i in np.argwhere((Y < lo) | (Y > hi))[0])
            raise InputError(
                f"{name}[{r}, {c}] = {Y[r, c]:g} lies outside [{lo:g}, {hi:g}], the range of the "
                f"output activation {self.output_activation.name!r} (002 §4 'Target values')"
            )
        self.loss.validate_targets(Y, name)
        return Y

    def _check_targets(self, Y, sample_weight):
        if self._batch is None:
            raise InputError("call forward(X) before backward(Y) or loss_value(Y)")
        Y = self.check_targets(Y)
        if len(Y) != self._batch:
            raise InputError(f"Y has {len(Y)} rows but the last forward pass had {self._batch}")
        return Y, check_sample_weight(sample_weight, len(Y), self.dtype)

    def output_delta(self, Y: np.ndarray) -> np.ndarray:
        """δ^m: ŷ − y for a canonical pair (004), else φ'(a^m) ⊙ ∇L(h^m) (000 Eq. 8a)."""
        out = self.layers[-1]
        if self.fused:
            buf = None if out._ws is None else out._ws.delta  # reused in training mode
            return self.loss.delta_from_logits(out.a, out.h, Y, out=buf)
        grad = self.loss.gradient(out.h, Y)
        try:
            return self.output_activation.backprop(out.a, out.h, grad)
        except NotDifferentiableError as exc:
            raise NotDifferentiableError(f"{out.describe()}: {exc}") from None

    def backward(self, Y, sample_weight=None, check: bool = True) -> None:
        """Backpropagation (000 Eq. 8a-8d): fills ``dW``, ``db`` and ``delta`` of every layer.

        Gradients are means over the batch (weighted means with ``sample_weight``).
        """
        if check:
            Y, sample_weight = self._check_targets(Y, sample_weight)
        delta = self.output_delta(Y)
        if sample_weight is not None:
            delta *= (sample_weight * (len(Y) / sample_weight.sum()))[:, None]
        first = next(layer.index for layer in self.layers if layer.params())
        grad = self.layers[-1].backward_delta(delta, need_input_grad=len(self.layers) - 1 > first)
        for layer in reversed(self.layers[first:-1]):
            grad = layer.backward(grad, need_input_grad=layer.index > first)

    def loss_value(self, Y, sample_weight=None, check: bool = True) -> float:
        """Mean loss of the last forward pass; from the logits a^m when the pair is canonical."""
        if check:
            Y, sample_weight = self._check_targets(Y, sample_weight)
        out = self.layers[-1]
        if self.fused:
            per_sample = self.loss.per_sample_from_logits(out.a, Y)
        else:
            per_sample = self.loss.per_sample(out.h, Y)
        return losses._mean(per_sample, sample_weight)

    def evaluate(self, X, Y, sample_weight=None) -> float:
        """Mean loss on (X, Y) without dropout."""
        self.forward(X)
        return self.loss_value(Y, sample_weight)

    # -- prediction ----------------------------------------------------------------------------
    def predict(self, X) -> np.ndarray:
        """Class indices for softmax outputs, 0/1 for logistic outputs (threshold 0.5), else h^m."""
        h = self.forward(X)
        name = self.output_activation.name
        if name == "softmax" and self.is_classifier:
            return h.argmax(axis=1)
        if name == "logistic" and self.is_classifier:
            labels = (h > 0.5).astype(np.int64)
            return labels[:, 0] if labels.shape[1] == 1 else labels
        return h

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities: softmax rows, or [1 − p, p] for a single logistic output."""
        if self.output_activation.name not in ("softmax", "logistic"):
            raise InputError(
                "predict_proba needs softmax or logistic outputs, this network's output "
                f"activation is {self.output_activation.name!r}"
            )
        h = self.forward(X)
        if self.output_activation.name == "logistic" and h.shape[1] == 1:
            return np.hstack([1.0 - h, h])
        return h

    # -- (de)serialization ---------------------------------------------------------------------
    def to_config(self) -> dict:
        return {
            "layers": [layer.config() for layer in self.layers],
            "loss": self.loss.config(),
            "dtype": self.dtype.name,
        }

    @classmethod
    def from_config(cls, cfg: dict, dtype=None) -> Network:
        built = [layer_types.from_config(c) for c in cfg["layers"]]
        return cls(built, loss=cfg["loss"], dtype=dtype or cfg["dtype"])

    def copy(self, dtype=None) -> Network:
        """Deep copy (optionally in another dtype)."""
        clone = copy.deepcopy(self)
        if dtype is not None:
            clone.dtype = np.dtype(dtype)
            for layer in clone.layers:
                layer.astype(clone.dtype)
        clone._flatten()  # deepcopy copies each view on its own; lay them out flat again
        return clone

    def save(self, path, extras: dict | None = None) -> None:
        """Save the architecture, parameters and buffers (BatchNorm's running statistics), and
        ``extras`` {name: (json, arrays)}, as a safe model file (:mod:`deltaprop.files.archive`:
        npz + JSON, no pickle, atomic)."""
        arrays = {f"param.{i}": p for i, p in enumerate(self.parameters())}
        arrays.update({f"buffer.{i}": b for i, b in enumerate(self.buffers())})
        extra_meta = {}
        for name, (cfg, extra_arrays) in (extras or {}).items():
            extra_meta[name] = cfg
            arrays.update({f"extra.{name}.{k}": v for k, v in extra_arrays.items()})
        save_archive(path, {"network": self.to_config(), "extras": extra_meta}, arrays, "model")

    def summary(self) -> str:
        lines = [f"{'layer':<6}{'type':<34}{'parameters':>12}"]
        for layer in self.layers:
            n = sum(p.size for p in layer.params())
            lines.append(f"{layer.index:<6}{layer!r:<34}{n:>12,}")
        total = sum(p.size for p in self.parameters())
        lines.append(f"loss: {self.loss.name}, dtype: {self.dtype.name}, parameters: {total:,}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Network([{inner}], loss={self.loss.name!r}, dtype={self.dtype.name!r})"


def mlp(sizes, activation="relu", output_activation=None, loss=None, init=None, dropout=0.0,
        seed=None, dtype="float32", maxout_pieces: int = 2, input_noise: float = 0.0,
        hidden_noise: float = 0.0, batch_norm: bool = False,
        input_dropout: float = 0.0) -> Network:
    """Build a network from layer sizes ``[n_in, h1, ..., n_out]``.

    Output activation and loss default to a canonical pair (004 table): softmax + categorical
    cross-entropy for several outputs, logistic + binary cross-entropy for one; given only one of
    the two, the other is its canonical partner.

    Each hidden layer is followed, in this order, by a :class:`BatchNorm` (``batch_norm``), a
    :class:`GaussianNoise` of std ``hidden_noise`` and a :class:`Dropout` of probability
    ``dropout``, where these are set; ``input_noise`` puts a :class:`GaussianNoise` and
    ``input_dropout`` a :class:`Dropout` on the inputs (002 §6 "adding noise", "dropout").

    Examples
    --------
    >>> import deltaprop as dp
    >>> net = dp.mlp([784, 256, 10], activation="relu", seed=0)
    >>> net.loss.name, net.output_activation.name
    ('categorical_cross_entropy', 'softmax')
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise InputError(f"sizes needs at least [n_in, n_out], got {sizes}")
    if output_activation is None:
        if loss is not None:
            canonical = losses.get(loss).canonical
            output_activation = canonical or "identity"
        else:
            output_activation = "softmax" if sizes[-1] > 1 else "logistic"
    rng = as_generator(seed)
    built: list[Layer] = [GaussianNoise(input_noise)] if input_noise else []
    if input_dropout:
        built.append(Dropout(input_dropout))
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1], strict=True):
        if activation == "maxout":
            built.append(Maxout(n_in, n_out, pieces=maxout_pieces, init=init, rng=rng))
        else:
            built.append(Dense(n_in, n_out, activation=activation, init=init, rng=rng))
        if batch_norm:
            built.append(BatchNorm(n_out))
        if hidden_noise:
            built.append(GaussianNoise(hidden_noise))
        if dropout:
            built.append(Dropout(dropout))
    built.append(Dense(sizes[-2], sizes[-1], activation=output_activation, init=init, rng=rng))
    return Network(built, loss=loss, dtype=dtype, seed=rng)


def load(path) -> Network:
    """Load a network saved with :meth:`Network.save`; its ``extras`` dict holds the extras.

    Raises
    ------
    ModelFileError
        If the file is missing, truncated, tampered with, foreign or from a newer version.
    """
    meta, arrays = load_archive(path, "model")
    try:
        _check_stored_parameters(meta["network"], arrays, path)
        network = Network.from_config(meta["network"])
        params = network.parameters()
        if len(params) != sum(1 for n in arrays if n.startswith("param.")):
            raise ModelFileError(f"{path}: parameter count does not match the architecture")
        for i, p in enumerate(params):
            stored = arrays[f"param.{i}"]
            if stored.shape != p.shape or stored.dtype != p.dtype:
                raise ModelFileError(f"{path}: parameter {i} is {stored.dtype} {stored.shape}, "
                                     f"the architecture needs {p.dtype} {p.shape}")
            p[...] = stored
        for i, b in enumerate(network.buffers()):
            stored = arrays.get(f"buffer.{i}")
            if stored is None or stored.shape != b.shape or stored.dtype != b.dtype:
                raise ModelFileError(f"{path}: running statistics {i} are missing or do not "
                                     f"match the architecture ({b.dtype} {b.shape})")
            b[...] = stored
        extras_meta = meta.get("extras", {})
        network.extras = {
            name: (cfg, {k[len(f"extra.{name}."):]: v for k, v in arrays.items()
                         if k.startswith(f"extra.{name}.")})
            for name, cfg in extras_meta.items()
        }
    except ModelFileError:
        raise
    except (DeltapropError, KeyError, TypeError, ValueError, AttributeError, IndexError,
            OverflowError, MemoryError) as exc:
        raise ModelFileError(f"{path}: the stored architecture is invalid: {exc}") from None
    return network


def _check_stored_parameters(cfg: dict, arrays: dict, path) -> None:
    """Compare the parameter shapes the architecture ``cfg`` declares with the stored arrays,
    before anything is built: a file declaring a layer far larger than its arrays is refused
    without allocating that layer."""
    if not isinstance(cfg, dict) or not isinstance(cfg.get("layers"), list):
        raise ModelFileError(f"{path}: the stored architecture has no list of layers")
    dtype = cfg.get("dtype")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"{path}: the stored architecture has dtype {dtype!r}, expected "
                             "'float32' or 'float64'")
    shapes = []
    for i, layer_cfg in enumerate(cfg["layers"]):
        if not isinstance(layer_cfg, dict):
            raise ModelFileError(f"{path}: layer {i} of the stored architecture is not a table")
        try:
            layer_shapes = layer_types.config_param_shapes(layer_cfg)
        except InputError as exc:
            raise ModelFileError(f"{path}: layer {i} of the stored architecture: {exc}") from None
        if layer_shapes is None:  # a registered custom layer: its own code sizes it
            return
        shapes += layer_shapes
    stored = sum(1 for n in arrays if n.startswith("param."))
    if stored != len(shapes):
        raise ModelFileError(f"{path}: the architecture declares {len(shapes)} parameter "
                             f"arrays, the file stores {stored}")
    for i, shape in enumerate(shapes):
        got = arrays.get(f"param.{i}")
        if got is None or got.shape != shape or got.dtype.name != dtype:
            where = "missing" if got is None else f"{got.dtype.name} {got.shape}"
            raise ModelFileError(f"{path}: parameter {i} is {where}, the architecture declares "
                                 f"{dtype} {shape}")
