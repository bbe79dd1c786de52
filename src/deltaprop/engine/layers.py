"""Layers: one object per layer with a forward and a backward pass (003, "AffineLayer.bprop").

A :class:`Dense` layer maps the previous layer's output h^l to a^{l+1} = W h^l + b and
h^{l+1} = φ(a^{l+1}) (000 Eq. 3-4). Rows of every array are samples, so in code the batch form of
Eq. 4 reads ``a = h_in @ W.T + b``. Its backward pass receives ∂L/∂h^{l+1}, forms the error
δ^{l+1} = φ'(a^{l+1}) ⊙ ∂L/∂h^{l+1} (000 Eq. 6c, 8b), the batch-mean gradients
∂L/∂W = δ^{l+1} (h^l)^T and ∂L/∂b = δ^{l+1} (000 Eq. 6a, 6b), and hands back
∂L/∂h^l = W^T δ^{l+1} (000 Eq. 6e) for the layer below.

Index conventions: the network's layer *i* (0-based in Python) holds the notes' W^{i+1}, mapping
h^{i+1} to a^{i+2} (000 numbers the input layer 1).
"""

from __future__ import annotations

import numpy as np

from deltaprop.checks import as_generator, check_number, register_name
from deltaprop.engine import activations
from deltaprop.engine import init as initializers
from deltaprop.errors import InputError, NotDifferentiableError

__all__ = ["Layer", "Dense", "Maxout", "Dropout", "register", "from_config"]


class Layer:
    """Common interface. ``index`` is set by the network and used in error messages."""

    trainable = False
    index: int | None = None
    n_in: int
    n_out: int

    def describe(self) -> str:
        where = f"layer {self.index}" if self.index is not None else "layer"
        return f"{where} ({self})"

    def astype(self, dtype: np.dtype) -> None:
        """Cast the parameters to ``dtype`` (the network's dtype)."""

    def params(self) -> list[np.ndarray]:
        return []

    def grads(self) -> list[np.ndarray]:
        return []


class Dense(Layer):
    """Fully connected layer with activation φ: h^{l+1} = φ(W h^l + b) (000 Eq. 3-4).

    Parameters
    ----------
    n_in, n_out : int
        Number of inputs (units of the layer below) and of units.
    activation : str, dict or Activation, default "relu"
        Any name in :func:`deltaprop.engine.activations.names`.
    init : str, dict, array or callable, optional
        Weight initializer (:mod:`deltaprop.engine.init`); default from 000 Table 2 for the
        activation.
    bias : bool, default True
        Whether the layer has biases b (the augmented unit h_0 = 1 of 000 §9.2.2).
    rng : int or numpy.random.Generator, optional
        Seed or generator for the initial weights.

    Attributes
    ----------
    W : ndarray of shape (n_out, n_in)
        Weights; row i holds the weights into unit i (w_ij^l of 000 Eq. 4). Writable in place.
    b : ndarray of shape (n_out,) or None
    dW, db : ndarray
        Batch-mean gradients after :meth:`Network.backward`.
    h_in, a, h, delta : ndarray
        The last forward pass's input h^l, pre-activation a^{l+1}, output h^{l+1} and, after the
        backward pass, the error δ^{l+1}.

    Examples
    --------
    >>> import deltaprop as dp
    >>> layer = dp.Dense(2, 3, activation="tanh", rng=0)
    >>> layer.W.shape, layer.b.shape
    ((3, 2), (3,))
    """

    trainable = True

    def __init__(self, n_in: int, n_out: int, activation="relu", init=None, bias: bool = True,
                 rng: int | np.random.Generator | None = None):
        self.n_in = check_number("n_in", n_in, low=1, integer=True)
        self.n_out = check_number("n_out", n_out, low=1, integer=True)
        self.activation = activations.get(activation)
        self.init = initializers.default_for(self.activation.name) if init is None else init
        self.W = np.asarray(
            initializers.get(self.init)(self.n_in, self._rows, as_generator(rng)), dtype=np.float64
        )
        self.b = np.zeros(self._rows) if bias else None
        self.dW = np.zeros_like(self.W)
        self.db = None if self.b is None else np.zeros_like(self.b)
        self.h_in = self.a = self.h = self.delta = None
        self._ws = None  # the training workspace of the last forward pass (None: inference)
        self._workspaces: dict[tuple[int, np.dtype], _Workspace] = {}

    @property
    def _rows(self) -> int:
        """Rows of W: one per unit, ``pieces`` per unit for maxout."""
        return self.n_out * self.activation.pieces

    @classmethod
    def from_augmented(cls, W_aug, activation="relu") -> Dense:
        """Build from augmented weights, bias in column 0, one row per unit (000 Eq. 1, 002 §3).

        ``W_aug`` has shape (n_out, n_in + 1): row i is [b_i, w_i1, ..., w_i,n_in], as in
        000 Eq. 1a ``w_1. = [1.5, −1, −1]``.
        """
        W_aug = _matrix(W_aug, "W_aug")
        if W_aug.shape[1] < 2:
            raise InputError(f"W_aug needs at least 2 columns (bias + 1 weight), got {W_aug.shape}")
        layer = cls(W_aug.shape[1] - 1, W_aug.shape[0], activation=activation, init="zeros")
        layer.W[...] = W_aug[:, 1:]
        layer.b[...] = W_aug[:, 0]
        return layer

    @classmethod
    def from_transfer(cls, T, activation="relu") -> Dense:
        """Build from 001's transfer matrix 𝕎 of shape (n_in + 1, n_out), bias row first.

        001 feeds forward with φ(𝕎^T x), so column j of 𝕎 is unit j's weights [w_0j, w_1j, ...];
        deltaprop's W is 𝕎[1:].T and b is 𝕎[0].
        """
        T = _matrix(T, "T")
        if T.shape[0] < 2:
            raise InputError(f"T needs at least 2 rows (bias + 1 input), got shape {T.shape}")
        return cls.from_augmented(T.T, activation=activation)

    def astype(self, dtype):
        self.W = self.W.astype(dtype, copy=False)
        self.dW = self.dW.astype(dtype, copy=False)
        if self.b is not None:
            self.b = self.b.astype(dtype, copy=False)
            self.db = self.db.astype(dtype, copy=False)

    def params(self):
        return [self.W] if self.b is None else [self.W, self.b]

    def grads(self):
        return [self.dW] if self.b is None else [self.dW, self.db]

    def _affine(self, h_in: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        # 000 Eq. 4, one row per sample; W.T is a transposed view, so BLAS gets a flag, no copy.
        a = np.matmul(h_in, self.W.T, out=out)
        if self.b is not None:
            a += self.b
        return a

    def workspace(self, n: int, dtype) -> _Workspace:
        """The reused buffers for a batch of ``n`` rows (allocated once per batch shape)."""
        key = (n, np.dtype(dtype))
        ws = self._workspaces.get(key)
        if ws is None:
            if len(self._workspaces) >= _MAX_WORKSPACES:  # e.g. many evaluation sizes
                self._workspaces.clear()
            ws = self._workspaces[key] = _Workspace(n, self.n_in, self._rows, self.n_out, dtype)
        return ws

    def forward(self, h_in: np.ndarray, training: bool = False, rng=None) -> np.ndarray:
        """h^{l+1} = φ(a^{l+1}), a^{l+1} = W h^l + b (000 Eq. 3-4); keeps h_in, a and h.

        In training mode a, h (and later δ, W^T δ) live in per-batch-shape buffers that the next
        training pass of the same shape overwrites, so a training step allocates nothing; at
        prediction time every call returns fresh arrays.
        """
        self.h_in = h_in
        self._ws = self.workspace(len(h_in), h_in.dtype) if training else None
        if self._ws is None:
            self.a = self._affine(h_in)
            self.h = self.activation.value(self.a)
        else:
            self.a = self._affine(h_in, out=self._ws.a)
            self.h = self.activation.value_into(self.a, self._ws.h)
        return self.h

    def adopt_workspace(self, ws: _Workspace, h_in: np.ndarray | None) -> None:
        """Leave the layer as a training pass over ``ws``'s batch leaves it (a, h, δ in the
        workspace's buffers): for steps that fill the buffers by other means (compiled
        kernels) and hand the layer back to the readable engine."""
        self._ws, self.a, self.h, self.delta = ws, ws.a, ws.h, ws.delta
        if h_in is not None:
            self.h_in = h_in

    def backward(self, grad_h: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """δ^{l+1} = φ'(a^{l+1}) ⊙ ∂L/∂h^{l+1} (000 Eq. 6c, 8b), then the gradients."""
        out = None if self._ws is None else self._ws.delta
        try:
            delta = self.activation.backprop(self.a, self.h, grad_h, out=out)
        except NotDifferentiableError as exc:
            raise NotDifferentiableError(f"{self.describe()}: {exc}") from None
        return self.backward_delta(delta, need_input_grad)

    def backward_delta(self, delta: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Given δ^{l+1}: ∂L/∂W = mean δ (h^l)^T, ∂L/∂b = mean δ (000 Eq. 6a-6b); returns W^T δ."""
        self.delta = delta
        n = delta.shape[0]
        if n == 1:  # an outer product: BLAS's GEMM with K = 1 is several times slower
            np.multiply(delta.T, self.h_in, out=self.dW)
        else:
            np.matmul(delta.T, self.h_in, out=self.dW)  # transposes passed as flags, not copied
            self.dW /= n
        if self.b is not None:
            np.add.reduce(delta, axis=0, out=self.db)
            if n > 1:
                self.db /= n
        if not need_input_grad:  # the first layer's input delta is never needed
            return None
        out = None if self._ws is None or self._ws.n != n else self._ws.grad_in
        return np.matmul(delta, self.W, out=out)  # 000 Eq. 6e: Σ_k δ_k w_ki

    def config(self) -> dict:
        return {
            "type": "Dense",
            "n_in": self.n_in,
            "n_out": self.n_out,
            "activation": self.activation.config(),
            "bias": self.b is not None,
        }

    def __repr__(self) -> str:
        return f"Dense {self.n_in}→{self.n_out}, {self.activation.name!r}"


class Maxout(Dense):
    """A layer of maxout units: h_j = max_k a_{j,k} over ``pieces`` affine pieces (000 Table 1).

    A :class:`Dense` layer whose activation is :class:`~deltaprop.engine.activations.Maxout`:
    ``W`` has shape (n_out · pieces, n_in), rows j·pieces … (j+1)·pieces − 1 are unit j's
    pieces, ``a`` holds every piece and ``h`` one value per unit; δ (over the pieces) is
    unit j's error on its winning piece and 0 on the others.

    Examples
    --------
    >>> import deltaprop as dp
    >>> layer = dp.Maxout(4, 3, pieces=2, rng=0)
    >>> layer.W.shape
    (6, 4)
    """

    def __init__(self, n_in: int, n_out: int, pieces: int = 2, init=None, bias: bool = True,
                 rng: int | np.random.Generator | None = None):
        super().__init__(n_in, n_out, activation=activations.Maxout(pieces),
                         init="he_normal" if init is None else init, bias=bias, rng=rng)

    @property
    def pieces(self) -> int:
        return self.activation.pieces

    def config(self):
        return {"type": "Maxout", "n_in": self.n_in, "n_out": self.n_out,
                "pieces": self.pieces, "bias": self.b is not None}

    def __repr__(self):
        return f"Maxout {self.n_in}→{self.n_out} × {self.pieces} pieces"


class Dropout(Layer):
    """Inverted dropout (002 §6 "Dropout"): in training, each unit is dropped with probability p.

    Kept units are scaled by 1/(1 − p), so at prediction time the layer is the identity and the
    expected activation is unchanged. ``frozen = True`` reuses the last mask (gradient checks).
    """

    def __init__(self, p: float = 0.5, n: int | None = None):
        p = float(p)
        if not 0.0 <= p < 1.0:
            raise InputError(f"dropout probability p must be in [0, 1), got {p}")
        self.p = p
        self.n_in = self.n_out = n  # set by the network from the layer below
        self.mask = None
        self.frozen = False

    def forward(self, h_in, training=False, rng=None):
        if not training or self.p == 0.0:
            self.mask = None
            return h_in
        if not (self.frozen and self.mask is not None and self.mask.shape == h_in.shape):
            if rng is None:
                raise InputError(f"{self.describe()} needs a random generator in training mode")
            keep = rng.random(h_in.shape) >= self.p
            self.mask = keep.astype(h_in.dtype) / h_in.dtype.type(1.0 - self.p)
        return h_in * self.mask

    def backward(self, grad_h, need_input_grad=True):
        return grad_h if self.mask is None else grad_h * self.mask

    def config(self):
        return {"type": "Dropout", "p": self.p, "n": self.n_in}

    def __repr__(self):
        return f"Dropout p={self.p}"


_MAX_WORKSPACES = 4


class _Workspace:
    """Per-layer buffers for one batch shape: a, h, δ (n × units) and W^T δ (n × n_in)."""

    __slots__ = ("n", "a", "h", "delta", "grad_in")

    def __init__(self, n: int, n_in: int, rows: int, units: int, dtype):
        self.n = n
        self.a = np.empty((n, rows), dtype=dtype)
        self.h = np.empty((n, units), dtype=dtype)
        self.delta = np.empty((n, rows), dtype=dtype)
        self.grad_in = np.empty((n, n_in), dtype=dtype)


def _matrix(values, name: str) -> np.ndarray:
    try:
        m = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a numeric matrix: {exc}") from None
    if m.ndim != 2:
        raise InputError(f"{name} must be 2-D, got shape {m.shape}")
    if not np.isfinite(m).all():
        raise InputError(f"{name} contains NaN or inf")
    return m


_BUILTIN = frozenset({"Dense", "Maxout", "Dropout"})
_CUSTOM: dict[str, type[Layer]] = {}
HOW_TO_REGISTER = ("a custom layer must be registered before a file that uses it is loaded: "
                   "deltaprop.register_layer(YourClass)")


def register(cls: type[Layer], name: str | None = None) -> type[Layer]:
    """Register a user-defined :class:`Layer` subclass so that model files holding it load;
    returns the class, so it works as a decorator (``@deltaprop.register_layer``).

    ``name`` (default the class name) is the ``"type"`` its ``config()`` must return and the
    model file stores. The layer is rebuilt by ``cls.from_config(config)`` when the class has
    that classmethod, else by ``cls(**config_without_type)``; its parameters are then filled
    from the file. Model files never carry code: a file naming a layer type loads only where
    that type is registered.
    """
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise InputError(f"register_layer needs a Layer subclass, got {cls!r}")
    register_name(_CUSTOM, cls.__name__ if name is None else name, cls, "layer type", _BUILTIN)
    return cls


def from_config(cfg: dict) -> Layer:
    """Rebuild a layer (with zero weights) from :meth:`config`."""
    kind = cfg.get("type")
    if kind == "Dense":
        return Dense(cfg["n_in"], cfg["n_out"], activation=cfg["activation"], init="zeros",
                     bias=cfg["bias"])
    if kind == "Maxout":
        return Maxout(cfg["n_in"], cfg["n_out"], pieces=cfg["pieces"], init="zeros",
                      bias=cfg["bias"])
    if kind == "Dropout":
        return Dropout(cfg["p"], n=cfg.get("n"))
    if kind in _CUSTOM:
        cls = _CUSTOM[kind]
        build = getattr(cls, "from_config", None)
        if build is not None:
            return build(cfg)
        try:
            return cls(**{k: v for k, v in cfg.items() if k != "type"})
        except TypeError as exc:
            raise InputError(f"layer type {kind!r} cannot be rebuilt from {cfg}: {exc}") from None
    raise InputError(f"unknown layer type {kind!r}; {HOW_TO_REGISTER}")
