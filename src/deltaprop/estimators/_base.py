"""The base shared by :class:`MLPClassifier` and :class:`MLPRegressor`: the parameters and their
validation, network construction, the data checks and the dispatch to a solver."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import scipy.sparse
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from deltaprop import activations as _activations
from deltaprop.callbacks import History
from deltaprop.estimators._files import _FilesMixin
from deltaprop.estimators._solvers import _SolversMixin
from deltaprop.network import mlp

_SOLVERS = ("sgd", "adam", "lbfgs")
_LEARNING_RATES = ("constant", "invscaling", "adaptive")


def _check_number(name: str, value: Any, low: float, *, integer: bool = False,
                  low_open: bool = False, high: float | None = None,
                  high_open: bool = False) -> None:
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low)
    if high is not None:
        ok = ok and (value < high if high_open else value <= high)
    if not ok:
        lo, hi = "(" if low_open else "[", ")" if high_open or high is None else "]"
        rng = f"{lo}{low}, {'inf' if high is None else high}{hi}"
        raise ValueError(f"The '{name}' parameter must be {'an int' if integer else 'a float'} "
                         f"in the range {rng}. Got {value!r} instead.")


def _stochastic(est: Any) -> bool:
    """``partial_fit`` exists only for the stochastic solvers (as in scikit-learn)."""
    if est.solver not in ("sgd", "adam"):
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                             f"{est.solver!r} is not stochastic.")
    return True


def _dense(X: Any) -> np.ndarray:
    """The engine computes on dense arrays: sparse input is densified (like a .toarray())."""
    return X.toarray() if scipy.sparse.issparse(X) else X


class _BaseMLP(_SolversMixin, _FilesMixin, BaseEstimator):
    """Shared implementation of :class:`MLPClassifier` and :class:`MLPRegressor`."""

    def __init__(self, hidden_layer_sizes: Any = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size: int | str = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: Any = None, tol: float = 1e-4, verbose: bool = False,
                 warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10, max_fun: int = 15000,
                 init: Any = None, output_activation: str | None = None,
                 loss: str | None = None, dropout: float = 0.0, l1: float = 0.0,
                 max_norm: float | None = None, clip_value: float | None = None,
                 clip_norm: float | None = None, schedule: Any = None,
                 layer_learning_rates: Any = None, sampling: str = "uniform",
                 augment: Any = None, dtype: str = "float32", callbacks: Any = None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.init = init
        self.output_activation = output_activation
        self.loss = loss
        self.dropout = dropout
        self.l1 = l1
        self.max_norm = max_norm
        self.clip_value = clip_value
        self.clip_norm = clip_norm
        self.schedule = schedule
        self.layer_learning_rates = layer_learning_rates
        self.sampling = sampling
        self.augment = augment
        self.dtype = dtype
        self.callbacks = callbacks

    # -- tags and pickling -------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # accepted and densified: the engine is dense
        return tags

    def __getstate__(self) -> dict[str, Any]:
        # The trainer (optimizer moments, callbacks, progress bar stream) is not pickled; a
        # later partial_fit or warm start after unpickling starts a fresh optimizer.
        state = dict(super().__getstate__())
        state.pop("_trainer", None)
        return state

    # -- sklearn-style fitted attributes as views of the network -----------------------------
    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices, ``coefs_[i]`` of shape (n_in, n_out) (views of the network's W.T)."""
        check_is_fitted(self, "_network")
        return [layer.W.T for layer in self._network.trainable_layers]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors, ``intercepts_[i]`` of shape (n_out,) (views of the network's b)."""
        check_is_fitted(self, "_network")
        return [layer.b for layer in self._network.trainable_layers]

    @property
    def network_(self):
        """The fitted :class:`deltaprop.Network`."""
        check_is_fitted(self, "_network")
        return self._network

    # -- parameter validation ----------------------------------------------------------------
    def _validated_hidden(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = [sizes]
        try:
            sizes = list(sizes)
        except TypeError:
            raise ValueError("The 'hidden_layer_sizes' parameter must be an int or an iterable "
                             f"of ints. Got {self.hidden_layer_sizes!r} instead.") from None
        if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in sizes):
            raise ValueError("The 'hidden_layer_sizes' parameter must be an int or an iterable "
                             f"of ints. Got {self.hidden_layer_sizes!r} instead.")
        if any(s <= 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(s) for s in sizes]

    def _validate_params(self) -> None:
        act = self.activation
        known = [n for n in _activations.names() if n not in ("step", "sign", "softmax")]
        if not isinstance(act, str) or (act.lower() not in [*known, "maxout", "sigmoid",
                                                              "linear", "lrelu"]):
            raise ValueError(f"The 'activation' parameter must be one of {[*known, 'maxout']}. "
                             f"Got {act!r} instead.")
        for name, value, allowed in (("solver", self.solver, _SOLVERS),
                                     ("learning_rate", self.learning_rate, _LEARNING_RATES),
                                     ("sampling", self.sampling, ("uniform", "hard")),
                                     ("dtype", str(np.dtype(self.dtype)) if isinstance(
                                         self.dtype, str | type | np.dtype) else self.dtype,
                                      ("float32", "float64"))):
            if value not in allowed:
                raise ValueError(f"The '{name}' parameter must be one of {list(allowed)}. "
                                 f"Got {value!r} instead.")
        _check_number("alpha", self.alpha, 0.0)
        _check_number("learning_rate_init", self.learning_rate_init, 0.0, low_open=True)
        _check_number("power_t", self.power_t, 0.0)
        _check_number("max_iter", self.max_iter, 1, integer=True)
        _check_number("tol", self.tol, 0.0)
        _check_number("momentum", self.momentum, 0.0, high=1.0)
        _check_number("validation_fraction", self.validation_fraction, 0.0, low_open=True,
                      high=1.0, high_open=True)
        for name in ("beta_1", "beta_2"):
            _check_number(name, getattr(self, name), 0.0, high=1.0, high_open=True)
        _check_number("epsilon", self.epsilon, 0.0, low_open=True)
        _check_number("n_iter_no_change", self.n_iter_no_change, 1, integer=True)
        _check_number("max_fun", self.max_fun, 1, integer=True)
        _check_number("dropout", self.dropout, 0.0, high=1.0, high_open=True)
        _check_number("l1", self.l1, 0.0)
        if self.batch_size != "auto":
            _check_number("batch_size", self.batch_size, 1, integer=True)
        if self.solver == "lbfgs":
            loop_only = {"dropout": self.dropout != 0, "max_norm": self.max_norm is not None,
                         "clip_value": self.clip_value is not None,
                         "clip_norm": self.clip_norm is not None,
                         "schedule": self.schedule is not None,
                         "layer_learning_rates": self.layer_learning_rates is not None,
                         "sampling": self.sampling != "uniform",
                         "augment": self.augment is not None}
            bad = [k for k, v in loop_only.items() if v]
            if bad:
                raise ValueError(f"{', '.join(bad)} only apply to the stochastic solvers "
                                 "('sgd', 'adam'), not to solver='lbfgs'")

    # -- data --------------------------------------------------------------------------------
    def _np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    def _validate_X(self, X: Any, reset: bool) -> np.ndarray:
        X = validate_data(self, X, reset=reset, accept_sparse=["csr", "csc", "coo"],
                          dtype=[self._np_dtype(), np.float64, np.float32])
        return np.asarray(_dense(X), dtype=self._np_dtype())

    def _seeds(self) -> tuple[int, int, int]:
        rs = check_random_state(self.random_state)
        a, b, c = (int(s) for s in rs.randint(0, np.iinfo(np.int32).max, size=3))
        return a, b, c

    def _build_network(self, n_in: int, n_out: int, seed: int):
        return mlp([n_in, *self._validated_hidden(), n_out], activation=self.activation,
                   output_activation=self._output_activation(), loss=self._loss_name(),
                   init="xavier_uniform" if self.init is None else self.init,
                   dropout=self.dropout, seed=seed, dtype=self.dtype)

    def _loss_name(self) -> str | None:
        return self.loss

    def _set_shape_attributes(self, n_out: int) -> None:
        self.n_layers_ = len(self._validated_hidden()) + 2
        self.n_outputs_ = n_out
        self.out_activation_ = self._network.output_activation.name

    # -- fitting -----------------------------------------------------------------------------
    def _fit(self, X: np.ndarray, Y: np.ndarray, sample_weight: Any, strat: Any,
             incremental: bool = False) -> _BaseMLP:
        self._validate_params()
        n = len(X)
        sw = self._check_sample_weight(sample_weight, n)
        net_seed, trainer_seed, split_seed = self._seeds()
        reuse = (self.warm_start or incremental) and hasattr(self, "_network")
        if reuse:
            if self._network.n_outputs != Y.shape[1] or self._network.n_inputs != X.shape[1]:
                raise ValueError("warm_start can only be used where `y` has the same classes "
                                 "(outputs) as in the previous call to fit.")
        else:
            self._network = self._build_network(X.shape[1], Y.shape[1], net_seed)
            self._trainer = None
            self.loss_curve_, self.t_, self.n_iter_ = [], 0, 0
            self.history_ = History()
        self._set_shape_attributes(Y.shape[1])
        if self.solver == "lbfgs":
            return self._fit_lbfgs(X, Y, sw)
        if incremental:
            return self._partial_epoch(X, Y, sw, trainer_seed)
        return self._fit_stochastic(X, Y, sw, strat, trainer_seed, split_seed)

    def _check_sample_weight(self, sample_weight: Any, n: int) -> np.ndarray | None:
        if sample_weight is None:
            return None
        if isinstance(sample_weight, numbers.Number):
            return np.full(n, float(sample_weight))
        sw = np.asarray(sample_weight, dtype=np.float64)
        if sw.ndim != 1:
            raise ValueError(f"Sample weights must be 1D array or scalar, got shape {sw.shape}")
        if sw.shape != (n,):
            raise ValueError(f"sample_weight.shape == {sw.shape}, expected ({n},)!")
        if not np.isfinite(sw).all() or (sw < 0).any():
            raise ValueError("Negative values or non-finite values in sample_weight are not "
                             "allowed")
        if sw.sum() <= 0:
            raise ValueError("Sample weights must not all be zero: their sum must be positive")
        return sw

    # -- prediction helpers ------------------------------------------------------------------
    def _forward(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "_network")
        X = self._validate_X(X, reset=False)
        return np.asarray(self._network.forward(X, check=False), dtype=np.float64)
