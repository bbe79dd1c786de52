"""Layers: one object per layer with a forward and a backward pass (003, "AffineLayer.bprop").

A :class:`Dense` layer maps the previous layer's output h^l to a^{l+1} = W h^l + b and
h^{l+1} = φ(a^{l+1}) (000 Eq. 3-4). Rows of every array are samples, so in code the batch form of
Eq. 4 reads ``a = h_in @ W.T + b``. Its backward pass receives ∂L/∂h^{l+1}, forms the error
δ^{l+1} = φ'(a^{l+1}) ⊙ ∂L/∂h^{l+1} (000 Eq. 6c, 8b), the batch-mean gradients
∂L/∂W = δ^{l+1} (h^l)^T and ∂L/∂b = δ^{l+1} (000 Eq. 6a, 6b), and hands back
∂L/∂h^l = W^T δ^{l+1} (000 Eq. 6e) for the layer below.

Index conventions: the network's layer *i* (0-based in Python) holds the notes' W^{i+1}, mapping
h^{i+1} to a^{i+2} (000 numbers the input layer 1).

Between the weighted layers sit layers that keep the width: :class:`Dropout` and
:class:`GaussianNoise` (002 §6, regularisers active only in training) and :class:`BatchNorm`
(Ioffe & Szegedy 2015), whose γ and β are parameters like W and b.
"""

from __future__ import annotations

import numpy as np

from deltaprop.checks import as_generator, check_number, register_name
from deltaprop.engine import activations
from deltaprop.engine import init as initializers
from deltaprop.errors import InputError, NotDifferentiableError

__all__ = ["Layer", "Dense", "Maxout", "Dropout", "GaussianNoise", "BatchNorm", "register",
           "from_config"]


class Layer:
    """Common interface. ``index`` is set by the network and used in error messages.

    ``trainable`` marks the weighted layers (Dense, Maxout: W, b, a, h, δ of 000 Eq. 3-8); a
    layer that keeps the width may still hold parameters (BatchNorm's γ, β): every layer's
    :meth:`params` / :meth:`grads` are the network's, and :meth:`buffers` its other saved
    state (running statistics).
    """

    trainable = False
    index: int | None = None
    n_in: int
    n_out: int
    #: (parameter attribute, gradient attribute) pairs, in :meth:`params` order: the network
    #: lays them out in one flat buffer (:func:`deltaprop.engine.flat.flatten_network`).
    param_attrs: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        where = f"layer {self.index}" if self.index is not None else "layer"
        return f"{where} ({self})"

    def astype(self, dtype: np.dtype) -> None:
        """Cast the parameters to ``dtype`` (the network's dtype)."""

    def params(self) -> list[np.ndarray]:
        return []

    def grads(self) -> list[np.ndarray]:
        return []

    def param_kinds(self) -> list[tuple[str, int]]:
        """(kind, fan-in) of each array of :meth:`params`: only kind "W" is a weight matrix
        (L1/L2 penalties and max-norm act on it; biases, γ and β are left alone)."""
        return []

    def buffers(self) -> list[np.ndarray]:
        """State that is saved with the parameters but not trained (running statistics)."""
        return []

    def set_size(self, n: int) -> None:
        """Take the width ``n`` of the layer below (layers that keep the width)."""
        self.n_in = self.n_out = n


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
    param_attrs = (("W", "dW"), ("b", "db"))

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

    def param_kinds(self):
        return [("W", self.n_in)] if self.b is None else [("W", self.n_in), ("b", self.n_in)]

    def linear(self, h_in: np.ndarray, out: np.ndarray | None = None,
               aT: np.ndarray | None = None) -> np.ndarray:
        """W h^l without the bias (000 Eq. 3), one row per sample: h W^T into ``out``, or with a
        small training batch's ``aT`` buffer (see COLUMN_ROWS) W h^T into it, returned as the
        transposed view (W h^T)^T."""
        if aT is not None:  # 000 Eq. 3 as written, one column per sample: the faster GEMM here
            return np.matmul(self.W, h_in.T, out=aT).T
        # W.T is a transposed view, so BLAS gets a flag, no copy.
        return np.matmul(h_in, self.W.T, out=out)

    def _affine(self, h_in: np.ndarray, out: np.ndarray | None = None,
                aT: np.ndarray | None = None) -> np.ndarray:
        # 000 Eq. 4; the bias add also writes a column-form product back one row per sample.
        Wh = self.linear(h_in, out, aT)
        a = Wh if out is None else out
        if self.b is not None:
            np.add(Wh, self.b, out=a)
        elif Wh is not a:
            np.copyto(a, Wh)
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
            self.a = self._affine(h_in, out=self._ws.a, aT=self._ws.aT)
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


class GaussianNoise(Layer):
    """Additive Gaussian noise (002 §6: "add random noise" to expand the training data; on a
    hidden layer, noise on the hidden representation): in training h = h_in + n with
    n ~ N(0, std²) drawn from the trainer's generator, the identity at prediction time.

    Like :class:`Dropout` it keeps the width (``n`` is taken from the layer below) and
    ``frozen = True`` reuses the last draw (gradient checks). Its backward pass hands the error
    through unchanged: ∂(h_in + n)/∂h_in = I.

    Parameters
    ----------
    std : float
        Standard deviation σ of the noise (0: the identity).
    n : int, optional
        Width; set by the network.

    Examples
    --------
    >>> import numpy as np, deltaprop as dp
    >>> noise = dp.GaussianNoise(0.1)
    >>> x = np.zeros((2, 3))
    >>> noisy = noise.forward(x, training=True, rng=np.random.default_rng(0))
    >>> noise.forward(x) is x, bool(noisy.std() > 0)
    (True, True)
    """

    def __init__(self, std: float = 0.1, n: int | None = None):
        self.std = check_number("noise std", std, low=0.0)
        self.n_in = self.n_out = n
        self.noise = None
        self.frozen = False

    def forward(self, h_in, training=False, rng=None):
        """h_in + N(0, std²) noise in training (from ``rng``), h_in itself at prediction."""
        if not training or self.std == 0.0:
            self.noise = None
            return h_in
        if not (self.frozen and self.noise is not None and self.noise.shape == h_in.shape):
            if rng is None:
                raise InputError(f"{self.describe()} needs a random generator in training mode")
            self.noise = rng.standard_normal(h_in.shape, dtype=h_in.dtype)
            self.noise *= h_in.dtype.type(self.std)
        return h_in + self.noise

    def backward(self, grad_h, need_input_grad=True):
        return grad_h

    def config(self):
        return {"type": "GaussianNoise", "std": self.std, "n": self.n_in}

    def __repr__(self):
        return f"GaussianNoise std={self.std:g}"


class BatchNorm(Layer):
    """Batch normalisation (Ioffe & Szegedy 2015, Algorithm 1): y = γ x̂ + β with
    x̂ = (x − μ) / √(σ² + ε), per unit.

    In training μ and σ² are the batch's mean and (biased) variance, and the running averages
    μ_r ← m μ_r + (1 − m) μ, σ²_r ← m σ²_r + (1 − m) σ² N/(N − 1) (the paper's unbiased
    estimate, §3.1) are updated; at prediction time (and for a training batch of one row,
    e.g. a short last batch, which has no spread) x̂ uses μ_r and σ²_r, so the layer is a fixed
    affine map. γ (init 1) and β (init 0) are trained like W and b (kinds "gamma" and "beta":
    no weight penalty, no max-norm).

    The backward pass differentiates the mean loss through the batch statistics (the paper's
    §3 chain rule): with g = ∂L/∂y per sample and ĝ = γ g,
    ∂L/∂x = (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)) / √(σ² + ε),
    ∂L/∂γ = mean(g ⊙ x̂), ∂L/∂β = mean(g) (batch means, as 000 Eq. 6a-6b's dW and db).

    Parameters
    ----------
    n : int, optional
        Units (the width of the layer below; set by the network when None).
    momentum : float, default 0.9
        m in [0, 1) of the running averages.
    eps : float, default 1e-5
        ε > 0 in the square root.

    Attributes
    ----------
    gamma, beta : ndarray of shape (n,)
        Scale and shift; ``dgamma``, ``dbeta`` their gradients after the backward pass.
    running_mean, running_var : ndarray of shape (n,)
        The statistics used at prediction time (saved with the model and in checkpoints).
    x_hat, h : ndarray
        The last forward pass's normalised input x̂ and output y.

    Examples
    --------
    >>> import numpy as np, deltaprop as dp
    >>> bn = dp.BatchNorm(2)
    >>> y = bn.forward(np.array([[1.0, 10.0], [3.0, 30.0]]), training=True)
    >>> np.round(y, 3)
    array([[-1., -1.],
           [ 1.,  1.]])
    """

    param_attrs = (("gamma", "dgamma"), ("beta", "dbeta"))

    def __init__(self, n: int | None = None, momentum: float = 0.9, eps: float = 1e-5):
        self.momentum = check_number("batch norm momentum", momentum, low=0.0, high=1.0,
                                     high_open=True)
        self.eps = check_number("batch norm eps", eps, low=0.0, low_open=True)
        self.n_in = self.n_out = None
        self.gamma = self.beta = self.dgamma = self.dbeta = None
        self.running_mean = self.running_var = None
        self.h_in = self.x_hat = self.h = self._inv_std = None
        self._batch_stats = False
        if n is not None:
            self.set_size(check_number("n", n, low=1, integer=True))

    def set_size(self, n):
        if self.n_in == n:
            return
        if self.n_in is not None:
            raise InputError(f"{self.describe()} was built for {self.n_in} units, but the layer "
                             f"below gives {n}")
        self.n_in = self.n_out = n
        self.gamma, self.beta = np.ones(n), np.zeros(n)
        self.dgamma, self.dbeta = np.zeros(n), np.zeros(n)
        self.running_mean, self.running_var = np.zeros(n), np.ones(n)

    def astype(self, dtype):
        for name in ("gamma", "beta", "dgamma", "dbeta", "running_mean", "running_var"):
            setattr(self, name, getattr(self, name).astype(dtype, copy=False))

    def params(self):
        return [self.gamma, self.beta]

    def grads(self):
        return [self.dgamma, self.dbeta]

    def param_kinds(self):
        return [("gamma", 1), ("beta", 1)]

    def buffers(self):
        return [self.running_mean, self.running_var]

    def forward(self, h_in, training=False, rng=None):
        """y = γ x̂ + β; batch statistics in training (updating the running ones), else the
        running statistics."""
        self.h_in = h_in
        n = len(h_in)
        self._batch_stats = training and n > 1
        if self._batch_stats:
            mean = h_in.mean(axis=0)
            centred = h_in - mean
            var = np.einsum("ij,ij->j", centred, centred) / n
            m = self.momentum
            self.running_mean *= m
            self.running_mean += (1.0 - m) * mean
            self.running_var *= m
            self.running_var += ((1.0 - m) * n / (n - 1)) * var
        else:
            centred = h_in - self.running_mean
            var = self.running_var
        self._inv_std = 1.0 / np.sqrt(var + self.eps)
        self.x_hat = centred * self._inv_std
        self.h = self.x_hat * self.gamma + self.beta
        return self.h

    def backward(self, grad_h, need_input_grad=True):
        """∂L/∂γ, ∂L/∂β (batch means) and ∂L/∂x through the statistics of the forward pass."""
        np.mean(grad_h * self.x_hat, axis=0, out=self.dgamma)
        np.mean(grad_h, axis=0, out=self.dbeta)
        if not need_input_grad:
            return None
        g_hat = grad_h * self.gamma
        if self._batch_stats:
            g_hat = g_hat - g_hat.mean(axis=0) - self.x_hat * (g_hat * self.x_hat).mean(axis=0)
        return g_hat * self._inv_std

    def config(self):
        return {"type": "BatchNorm", "n": self.n_in, "momentum": self.momentum, "eps": self.eps}

    def __repr__(self):
        return f"BatchNorm {self.n_in}" if self.n_in is not None else "BatchNorm"


_MAX_WORKSPACES = 4

# Training batches of at most COLUMN_ROWS rows into layers of at least COLUMN_UNITS units compute
# a^T = W h^T rather than a = h W^T (the same products). OpenBLAS packs the operands differently
# for the two: on MNIST's first layer (784 -> 256) with 32 rows the column form takes 47 µs
# against 87 µs (2 threads; 784 -> 1024: 166 against 310 µs), at 128 rows the two are within
# ~10 % either way, and from 256 rows on the row form wins (1,024 rows: 0.92 against 1.57 ms).
COLUMN_ROWS = 64
COLUMN_UNITS = 64


class _Workspace:
    """Per-layer buffers for one batch shape: a, h, δ (n × units) and W^T δ (n × n_in), and for
    small batches a^T (units × n), where the layer computes a^T = W h^T (see COLUMN_ROWS)."""

    __slots__ = ("n", "a", "aT", "h", "delta", "grad_in")

    def __init__(self, n: int, n_in: int, rows: int, units: int, dtype):
        self.n = n
        self.a = np.empty((n, rows), dtype=dtype)
        self.aT = (np.empty((rows, n), dtype=dtype)
                   if n <= COLUMN_ROWS and rows >= COLUMN_UNITS else None)
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
    if kind == "GaussianNoise":
        return GaussianNoise(cfg["std"], n=cfg.get("n"))
    if kind == "BatchNorm":
        return BatchNorm(cfg.get("n"), momentum=cfg["momentum"], eps=cfg["eps"])
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


def config_param_shapes(cfg: dict) -> list[tuple[int, ...]] | None:
    """The shapes of the parameters (W, then b) of the layer :func:`from_config` would build
    from ``cfg``, computed without building it (nothing is allocated).

    A model file's loader compares them with the stored arrays before it builds the network,
    so a small file that declares a huge layer is refused instead of allocated. None for a
    registered custom layer, whose shapes only its own code knows.
    """
    kind = cfg.get("type")
    if kind in ("Dropout", "GaussianNoise"):
        return []
    if kind == "BatchNorm":  # γ and β, one per unit
        n = check_number("n", cfg.get("n"), low=1, integer=True)
        return [(n,), (n,)]
    if kind in _CUSTOM:  # a registered layer: its shapes are known once it is built
        return None
    if kind not in ("Dense", "Maxout"):
        raise InputError(f"unknown layer type {kind!r}; {HOW_TO_REGISTER}")
    n_in = check_number("n_in", cfg.get("n_in"), low=1, integer=True)
    n_out = check_number("n_out", cfg.get("n_out"), low=1, integer=True)
    if kind == "Maxout":
        pieces = check_number("pieces", cfg.get("pieces"), low=1, integer=True)
    else:
        pieces = activations.get(cfg.get("activation")).pieces
    if not isinstance(cfg.get("bias"), bool):
        raise InputError(f"bias must be true or false, got {cfg.get('bias')!r}")
    rows = n_out * pieces
    return [(rows, n_in), (rows,)] if cfg["bias"] else [(rows, n_in)]
