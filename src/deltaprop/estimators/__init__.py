"""scikit-learn compatible estimators: :class:`MLPClassifier` and :class:`MLPRegressor`.

They take scikit-learn's parameter names with scikit-learn's meanings (a drop-in for
``sklearn.neural_network.MLPClassifier`` / ``MLPRegressor``), build a :class:`deltaprop.Network`
with :func:`deltaprop.mlp` and train it with :class:`deltaprop.training.Trainer` ('sgd',
'adam') or with SciPy's L-BFGS-B over the flat parameter vector ('lbfgs'). On top of that they
expose deltaprop's own options: every activation and initializer of the engine, output
activation and loss, dropout, L1, max-norm, gradient clipping, learning-rate schedules,
per-layer learning rates, hard-example sampling, dtype (float32 by default), callbacks and the
training :class:`~deltaprop.callbacks.History`.

This is the only deltaprop module that imports scikit-learn's estimator machinery (public API
only). It is longer than the ~400-line guideline because the two estimators share one base
whose halves (parameter mapping + stochastic solvers, L-BFGS, model files) only make sense
together; the sections below keep them apart.

Mapping of scikit-learn semantics
---------------------------------
- ``alpha`` is scikit-learn's L2 penalty: its loss adds ``alpha / (2 n) ||W||²`` where ``n`` is
  the number of samples in the batch the gradient is computed on. deltaprop's trainer adds
  ``l2 / 2 ||W||²``, so the estimators pass ``l2 = alpha / batch_size`` to the trainer (sgd,
  adam) and use ``alpha / n_samples`` (sum of sample weights) with 'lbfgs': the same objective
  as scikit-learn, biases excluded.
- ``learning_rate='invscaling'`` is ``eta_0 / (samples seen + 1) ** power_t``, updated after
  every epoch as in scikit-learn; ``'adaptive'`` divides the rate by 5 whenever the stopping
  rule below fires, and stops once it is below 1e-6 (sgd only, as in scikit-learn).
- Stopping (scikit-learn's rule): after every epoch, if the training loss (or, with
  ``early_stopping``, the validation accuracy/R² on a ``validation_fraction`` hold-out, stratified
  for single-label classification, 002 §5) has not improved by ``tol`` for more than
  ``n_iter_no_change`` consecutive epochs, training stops; with early stopping the weights of
  the best validation epoch are restored.
- The regression loss is deltaprop's ``squared_error`` ½‖ŷ − y‖² per sample (scikit-learn
  divides it also by the number of outputs; identical for one output).
- ``shuffle=False`` is not supported by the trainer (mini-batches are always drawn from a fresh
  permutation); it warns and reshuffles.

Examples
--------
>>> from sklearn.datasets import load_iris
>>> from deltaprop.estimators import MLPClassifier
>>> X, y = load_iris(return_X_y=True)
>>> clf = MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=2000, random_state=0)
>>> clf.fit(X, y).score(X, y) > 0.9
True
"""

from __future__ import annotations

import copy
import json
import math
import numbers
import warnings
from typing import Any

import numpy as np
import scipy.optimize
import scipy.sparse
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from deltaprop import activations as _activations
from deltaprop.callbacks import Callback, History
from deltaprop.errors import InputError
from deltaprop.model_selection import split_indices
from deltaprop.network import mlp
from deltaprop.optimizers import Adam, Momentum
from deltaprop.schedules import InverseScaling, Schedule, get_schedule
from deltaprop.training import Trainer

__all__ = ["MLPClassifier", "MLPRegressor", "load_estimator"]

_EXTRAS_KEY = "sklearn_estimator"
_SOLVERS = ("sgd", "adam", "lbfgs")
_LEARNING_RATES = ("constant", "invscaling", "adaptive")
_FITTED = ("loss_", "loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_",
           "n_iter_", "t_", "n_layers_", "n_outputs_", "out_activation_", "n_features_in_")


# ===========================================================================================
# Training-loop helpers: scikit-learn's stopping rule and 'adaptive' rate as deltaprop pieces
# ===========================================================================================

class _AdaptiveRate(Schedule):
    """Constant rate that :class:`_SklearnStopping` divides by 5 ('adaptive', sgd only)."""

    name = "constant"

    def start(self, learning_rate: float) -> None:
        super().start(learning_rate)
        self.current = float(learning_rate)

    def rate(self, t: int) -> float:
        return self.current


class _SklearnStopping(Callback):
    """scikit-learn's stopping rule: more than ``n_iter_no_change`` epochs in a row without an
    improvement of ``tol`` in the training loss (or in the validation score when
    ``val_key`` is given) stop training, or, with an :class:`_AdaptiveRate`, divide the rate
    by 5 until it falls below 1e-6."""

    def __init__(self, tol: float, n_iter_no_change: int, val_key: str | None,
                 adaptive: _AdaptiveRate | None, verbose: bool, best_loss: float = math.inf):
        self.tol, self.n_iter_no_change, self.val_key = tol, n_iter_no_change, val_key
        self.adaptive, self.verbose = adaptive, verbose
        self.best_loss, self.best_score, self.count = best_loss, -math.inf, 0
        self.scores: list[float] = []
        self.best_params: list[np.ndarray] | None = None

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        loss = logs["loss"]
        if self.verbose:
            print(f"Iteration {epoch}, loss = {loss:.8f}")
        if self.val_key is not None:
            score = float(logs[self.val_key])
            self.scores.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            self.count = self.count + 1 if score < self.best_score + self.tol else 0
            if score > self.best_score:
                self.best_score = score
                self.best_params = [p.copy() for p in trainer.network.parameters()]
        else:
            self.count = self.count + 1 if loss > self.best_loss - self.tol else 0
            self.best_loss = min(self.best_loss, loss)
        if self.count <= self.n_iter_no_change:
            return
        what = "Validation score" if self.val_key else "Training loss"
        if self.adaptive is not None and self.adaptive.current > 1e-6:
            self.adaptive.current /= 5.0
            self.count = 0
            if self.verbose:
                print(f"{what} did not improve more than tol={self.tol} for "
                      f"{self.n_iter_no_change} consecutive epochs. Setting learning rate to "
                      f"{self.adaptive.current:f}")
            return
        if self.verbose:
            print(f"{what} did not improve more than tol={self.tol} for "
                  f"{self.n_iter_no_change} consecutive epochs. Stopping.")
        trainer.stop_training, trainer.stop_reason = True, "no_improvement"


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


# ===========================================================================================
# Shared base: parameters, network construction, stochastic solvers ('sgd', 'adam')
# ===========================================================================================

class _BaseMLP(BaseEstimator):
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
        if self.shuffle is False and self.solver != "lbfgs":
            warnings.warn("shuffle=False is not supported by deltaprop's Trainer: every epoch "
                          "still draws its mini-batches from a fresh permutation", UserWarning,
                          stacklevel=4)

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

    def _batch(self, n: int) -> int:
        return min(200, n) if self.batch_size == "auto" else min(int(self.batch_size), n)

    def _make_trainer(self, n: int, mean_weight: float, seed: int, extra: list[Callback]):
        lr0 = float(self.learning_rate_init)
        schedule, adaptive = copy.deepcopy(self.schedule), None
        if self.solver == "adam":
            optimizer: Any = Adam(lr0, self.beta_1, self.beta_2, self.epsilon)
        else:
            optimizer = "sgd"
            if self.momentum > 0:
                optimizer = Momentum(lr0, float(self.momentum), bool(self.nesterovs_momentum))
            if schedule is None and self.learning_rate == "invscaling":
                schedule = InverseScaling(decay=float(n), power=float(self.power_t))
            elif schedule is None and self.learning_rate == "adaptive":
                schedule = adaptive = _AdaptiveRate()
        batch = self._batch(n)
        user = list(self.callbacks or ())
        trainer = Trainer(self._network, optimizer=optimizer, learning_rate=lr0,
                          batch_size=batch, schedule=get_schedule(schedule),
                          clip_value=self.clip_value, clip_norm=self.clip_norm,
                          l1=float(self.l1), l2=float(self.alpha) / (batch * mean_weight),
                          max_norm=self.max_norm, layer_learning_rates=self.layer_learning_rates,
                          sampling=self.sampling, augment=self.augment,
                          callbacks=[*extra, *user], verbose=0, seed=seed)
        return trainer, adaptive

    def _fit_stochastic(self, X, Y, sw, strat, trainer_seed: int, split_seed: int) -> _BaseMLP:
        validation = None
        if self.early_stopping:
            tr, va = split_indices(len(X), (1 - self.validation_fraction,
                                            self.validation_fraction),
                                   stratify_labels=strat, seed=split_seed)
            validation = (X[va], Y[va])
            X, Y, sw = X[tr], Y[tr], None if sw is None else sw[tr]
        mean_w = 1.0 if sw is None else float(sw.mean())
        stopper = _SklearnStopping(float(self.tol), int(self.n_iter_no_change),
                                   self._val_key() if self.early_stopping else None,
                                   None, bool(self.verbose))
        trainer, adaptive = self._make_trainer(len(X), mean_w, trainer_seed, [stopper])
        stopper.adaptive = adaptive
        history = trainer.fit(X, Y, epochs=int(self.max_iter), validation_data=validation,
                              sample_weight=sw)
        self._trainer = trainer
        losses = [float(v) for v in history["loss"]]
        self.loss_curve_ = [*self.loss_curve_, *losses]
        self.history_ = History([*self.history_.epochs, *history.epochs], history.best_epoch,
                                history.stop_reason)
        self.n_iter_ = len(losses)
        self.t_ += len(X) * len(losses)
        self.loss_ = losses[-1]
        if self.early_stopping:
            self.validation_scores_ = stopper.scores
            self.best_validation_score_ = stopper.best_score
            self.best_loss_ = None
            if stopper.best_params is not None:
                for p, best in zip(self._network.parameters(), stopper.best_params, strict=True):
                    p[...] = best
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = min(self.loss_curve_)
        if history.stop_reason == "max_epochs" and self.n_iter_ == self.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                          "and the optimization hasn't converged yet.", ConvergenceWarning,
                          stacklevel=4)
        return self

    def _partial_epoch(self, X, Y, sw, trainer_seed: int) -> _BaseMLP:
        trainer = getattr(self, "_trainer", None)
        if trainer is None:
            mean_w = 1.0 if sw is None else float(sw.mean())
            trainer, _ = self._make_trainer(len(X), mean_w, trainer_seed, [])
            self._trainer = trainer
        history = trainer.partial_fit(X, Y, sample_weight=sw)
        loss = float(history.epochs[-1]["loss"])
        self.history_.epochs.append(history.epochs[-1])
        self.loss_curve_.append(loss)
        self.n_iter_ += 1
        self.t_ += len(X)
        self.loss_ = loss
        self.best_loss_ = min(self.loss_curve_)
        self.validation_scores_ = self.best_validation_score_ = None
        return self

    # ---------------------------------------------------------------------------------------
    # L-BFGS: scipy.optimize.minimize over the flat parameter vector
    # ---------------------------------------------------------------------------------------
    def _fit_lbfgs(self, X: np.ndarray, Y: np.ndarray, sw: np.ndarray | None) -> _BaseMLP:
        # The line search needs float64 resolution (a float32 objective ends it early with
        # "ABNORMAL"), so L-BFGS optimizes a float64 copy and casts the result back to dtype.
        net = self._network.copy(dtype=np.float64)
        X, Y = X.astype(np.float64), Y.astype(np.float64)
        params = net.parameters()
        is_w = [i.kind == "W" for i in net.parameter_info()]
        bounds = np.cumsum([0, *(p.size for p in params)])
        l2 = float(self.alpha) / (len(X) if sw is None else float(sw.sum()))
        l1 = float(self.l1)
        swd = None if sw is None else sw.astype(net.dtype)

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            for p, lo, hi in zip(params, bounds[:-1], bounds[1:], strict=True):
                p[...] = theta[lo:hi].reshape(p.shape)
            net.forward(X, check=False)
            value = float(net.loss_value(Y, swd, check=False))
            net.backward(Y, swd, check=False)
            grads = [g.astype(np.float64).ravel() for g in net.gradients()]
            for k, (p, w) in enumerate(zip(params, is_w, strict=True)):
                if w and (l2 or l1):
                    flat = p.astype(np.float64).ravel()
                    value += 0.5 * l2 * float(flat @ flat) + l1 * float(np.abs(flat).sum())
                    grads[k] = grads[k] + l2 * flat + l1 * np.sign(flat)
            return value, np.concatenate(grads)

        theta0 = np.concatenate([p.astype(np.float64).ravel() for p in params])
        with np.errstate(over="ignore", invalid="ignore"):
            res = scipy.optimize.minimize(
                objective, theta0, method="L-BFGS-B", jac=True,
                options={"maxfun": int(self.max_fun), "maxiter": int(self.max_iter),
                         "gtol": float(self.tol)})
        objective(res.x)  # leave the network at the optimum (the last call may be elsewhere)
        for p, best in zip(self._network.parameters(), params, strict=True):
            p[...] = best
        self.n_iter_ = int(res.nit)
        self.loss_ = float(res.fun)
        self.t_ = getattr(self, "t_", 0) + len(X) * self.n_iter_
        self.loss_curve_ = self.best_loss_ = None
        self.validation_scores_ = self.best_validation_score_ = None
        if res.status != 0:
            warnings.warn(f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                          f"(status={res.status}): {res.message}. Increase max_iter or max_fun "
                          "or scale the data.", ConvergenceWarning, stacklevel=4)
        return self

    # -- prediction helpers ------------------------------------------------------------------
    def _forward(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "_network")
        X = self._validate_X(X, reset=False)
        return np.asarray(self._network.forward(X, check=False), dtype=np.float64)

    # ---------------------------------------------------------------------------------------
    # Saving and loading through deltaprop's safe model file (no pickle)
    # ---------------------------------------------------------------------------------------
    def save(self, path: Any) -> None:
        """Write the fitted estimator to a deltaprop model file (npz without pickle + JSON).

        The network travels as usual; the estimator's parameters, fitted attributes, class
        labels and feature names go into the file's ``extras["sklearn_estimator"]``. User
        ``callbacks`` and ``augment`` callables are not stored (they come back as None).

        Parameters
        ----------
        path : str or path-like

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> X = np.array([[0., 0.], [1., 1.], [0., 1.], [1., 0.]]); y = ["a", "b", "b", "a"]
        >>> clf = MLPClassifier((4,), solver="lbfgs", random_state=0).fit(X, y)
        >>> path = os.path.join(tempfile.mkdtemp(), "clf.dpm")
        >>> clf.save(path); (load_estimator(path).predict(X) == clf.predict(X)).all()
        np.True_
        """
        check_is_fitted(self, "_network")
        params = self.get_params(deep=False)
        params["callbacks"] = params["augment"] = None
        if isinstance(params["schedule"], Schedule):
            params["schedule"] = {"__schedule__": params["schedule"].get_state()[0]}
        if not isinstance(params["random_state"], int | type(None)):
            params["random_state"] = None
        if isinstance(params["hidden_layer_sizes"], tuple | list):
            params["hidden_layer_sizes"] = [int(s) for s in params["hidden_layer_sizes"]]
        try:
            json.dumps(params, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InputError(f"cannot save {type(self).__name__}: a parameter is not "
                             f"JSON-serializable ({exc}); pass names or dicts") from None
        fitted = {k: getattr(self, k) for k in _FITTED if hasattr(self, k)}
        fitted = {k: (float(v) if isinstance(v, np.floating) else v) for k, v in fitted.items()}
        cfg: dict[str, Any] = {"class": type(self).__name__, "params": params,
                               "fitted": fitted, "history": self.history_.to_dict()}
        arrays: dict[str, np.ndarray] = {}
        if hasattr(self, "feature_names_in_"):
            cfg["feature_names_in"] = [str(f) for f in self.feature_names_in_]
        self._save_classes(cfg, arrays)
        self._network.save(path, extras={_EXTRAS_KEY: (cfg, arrays)})

    def _save_classes(self, cfg: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Classifiers store ``classes_`` here; regressors have none."""

    def _load_classes(self, cfg: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Inverse of :meth:`_save_classes`."""

    @classmethod
    def load(cls, path: Any) -> _BaseMLP:
        """Load an estimator saved with :meth:`save`; it must be of this class."""
        est = load_estimator(path)
        if not isinstance(est, cls):
            raise InputError(f"{path} holds a {type(est).__name__}, not a {cls.__name__}")
        return est


def load_estimator(path: Any) -> _BaseMLP:
    """Load an :class:`MLPClassifier` or :class:`MLPRegressor` saved with ``est.save(path)``.

    Raises
    ------
    ModelFileError
        If the file is missing, truncated, tampered with or foreign (see :func:`deltaprop.load`).
    InputError
        If it holds a plain network without estimator state.
    """
    from deltaprop.modelfile import load

    net = load(path)
    if _EXTRAS_KEY not in net.extras:
        raise InputError(f"{path} holds a deltaprop network but no scikit-learn estimator state; "
                         "load it with deltaprop.load")
    cfg, arrays = net.extras[_EXTRAS_KEY]
    cls = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}.get(cfg.get("class"))
    if cls is None:
        raise InputError(f"{path}: unknown estimator class {cfg.get('class')!r}")
    params = dict(cfg["params"])
    if isinstance(params.get("hidden_layer_sizes"), list):
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    if isinstance(params.get("schedule"), dict) and "__schedule__" in params["schedule"]:
        params["schedule"] = Schedule.from_state(params["schedule"]["__schedule__"], {})
    est = cls(**params)
    for key, value in cfg["fitted"].items():
        setattr(est, key, value)
    if "feature_names_in" in cfg:
        est.feature_names_in_ = np.asarray(cfg["feature_names_in"], dtype=object)
    est.history_ = History.from_dict(cfg["history"])
    est._load_classes(cfg, arrays)
    net.extras = {}
    est._network = net
    return est


# ===========================================================================================
# The two estimators
# ===========================================================================================

class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multilayer-perceptron classifier, a drop-in for ``sklearn.neural_network.MLPClassifier``.

    Binary problems get one logistic output with binary cross-entropy, multiclass problems
    softmax with categorical cross-entropy, multilabel indicator targets one logistic output
    per label (004 table). The parameters are scikit-learn's (same names, meanings and
    defaults) followed by deltaprop's own; see the module docstring for how ``alpha``, the
    rate schedules and stopping map onto deltaprop's trainer.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default (100,)
    activation : str, default "relu"
        Hidden-layer activation: scikit-learn's "identity", "logistic", "tanh", "relu", or any
        other differentiable deltaprop activation ("scaled_tanh", "leaky_relu", "elu") or
        "maxout".
    solver : {"adam", "sgd", "lbfgs"}, default "adam"
    alpha : float, default 1e-4
        L2 penalty (scikit-learn's scaling, see the module docstring).
    batch_size : int or "auto", default "auto"
        "auto" is min(200, n_samples).
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        Rate schedule for solver="sgd".
    learning_rate_init, power_t : float
    max_iter : int, default 200
        Epochs (sgd, adam) or L-BFGS iterations.
    shuffle : bool, default True
    random_state : int, RandomState or None
        Seeds initialization, batching, dropout and the validation split: a fixed value gives
        bit-identical fits.
    tol : float, default 1e-4
    verbose : bool
        Print the loss (and validation score) after every epoch.
    warm_start : bool
        Continue from the previous fit's weights (with a fresh optimizer state).
    momentum, nesterovs_momentum : float, bool
        Momentum method for solver="sgd".
    early_stopping : bool
        Hold out ``validation_fraction`` of the data (stratified) and stop on its accuracy.
    validation_fraction, beta_1, beta_2, epsilon, n_iter_no_change, max_fun
        As in scikit-learn.
    init : str or dict, optional
        Weight initializer of :mod:`deltaprop.init`. The default is scikit-learn's: Glorot
        (Xavier) uniform for every layer, U[-r, r] with r = sqrt(6 / (fan_in + fan_out)).
        Pass e.g. "he_normal" for the notes' choice for ReLU units (000 Table 2).
    output_activation : {"logistic", "softmax"}, optional
        Default: logistic for binary and multilabel targets, softmax for multiclass.
    loss : str, optional
        Loss name of :mod:`deltaprop.losses` (default: the output activation's canonical loss).
    dropout : float, default 0
        Dropout probability after every hidden layer (stochastic solvers).
    l1 : float, default 0
        L1 penalty lambda ||W||_1 added to the trainer's gradient (weights only).
    max_norm, clip_value, clip_norm : float, optional
        Max-norm constraint per neuron, component-wise and global-norm gradient clipping.
    schedule : str or Schedule, optional
        A deltaprop learning-rate schedule; overrides ``learning_rate``.
    layer_learning_rates : None, "fan_in" or list of float
    sampling : {"uniform", "hard"}, default "uniform"
        "hard" draws pairs with probability increasing with their loss (002 §4).
    augment : callable, optional
        ``augment(X_batch, rng) -> X_batch`` applied to every training batch.
    dtype : {"float32", "float64"}, default "float32"
    callbacks : list of deltaprop Callback, optional
        Extra training-loop callbacks (used as given, not copied).

    Attributes
    ----------
    classes_ : ndarray
    loss_, best_loss_ : float
    loss_curve_ : list of float
    validation_scores_ : list of float or None
    best_validation_score_ : float or None
    coefs_, intercepts_ : list of ndarray
        Views of the network's weights (scikit-learn's (n_in, n_out) orientation) and biases.
    n_iter_, t_, n_layers_, n_outputs_, out_activation_, n_features_in_, feature_names_in_
    history_ : deltaprop.callbacks.History
        Per-epoch logs of the training loop.
    network_ : deltaprop.Network

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((16,), solver="lbfgs", max_iter=2000, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape, clf.out_activation_
    ((2, 3), 'softmax')
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _output_activation(self) -> str:
        if self.output_activation is not None:
            if self.output_activation not in ("logistic", "softmax", "sigmoid"):
                raise ValueError("MLPClassifier's output_activation must be 'logistic' or "
                                 f"'softmax', got {self.output_activation!r}")
            return self.output_activation
        return "softmax" if self._n_codes > 2 and not self._multilabel else "logistic"

    def _val_key(self) -> str:
        return "val_accuracy"

    def _encode(self, y: Any, classes: Any = None) -> tuple[np.ndarray, Any]:
        """Targets as rows of 0/1 for the network, and the labels to stratify on."""
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self._multilabel = type_of_target(y) == "multilabel-indicator"
        if self._multilabel:
            if classes is None:
                classes = np.arange(y.shape[1])
            self._n_codes = y.shape[1]
            return np.asarray(y, dtype=self._np_dtype()), None
        if classes is None:
            classes = np.unique(y)
        classes = np.asarray(classes)
        if len(classes) < 2:
            raise ValueError("MLPClassifier needs samples of at least 2 classes in the data, "
                             f"but the data contains only one class: {classes[0]!r}")
        codes = np.searchsorted(classes, y)
        unseen = (codes >= len(classes)) | (classes[np.minimum(codes, len(classes) - 1)] != y)
        if unseen.any():
            raise ValueError(f"y has labels {np.unique(y[unseen]).tolist()} not in classes "
                             f"{classes.tolist()}")
        self._n_codes = len(classes)
        if len(classes) == 2 and self._output_activation() != "softmax":
            Y = codes[:, None]
        else:
            Y = np.eye(len(classes))[codes]
        return np.asarray(Y, dtype=self._np_dtype()), codes

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPClassifier:
        """Fit the network to data ``X`` and class labels (or label indicators) ``y``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc", "coo"], multi_output=True,
                             dtype=[self._np_dtype(), np.float64, np.float32])
        X = np.asarray(_dense(X), dtype=self._np_dtype())
        old = getattr(self, "classes_", None) if self.warm_start else None
        Y, strat = self._encode(y)
        if old is not None and hasattr(self, "_network") and not np.array_equal(
                old, self._classes_of(y)):
            raise ValueError("warm_start can only be used where `y` has the same classes as in "
                             "the previous call to fit. Previously got "
                             f"{old}, `y` has {self._classes_of(y)}")
        self.classes_ = self._classes_of(y)
        return self._fit(X, Y, sample_weight, strat)

    def _classes_of(self, y: np.ndarray) -> np.ndarray:
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        return np.arange(y.shape[1]) if type_of_target(y) == "multilabel-indicator" \
            else np.unique(y)

    @available_if(_stochastic)
    def partial_fit(self, X: Any, y: Any, classes: Any = None,
                    sample_weight: Any = None) -> MLPClassifier:
        """One epoch over (X, y), keeping the optimizer state (solvers 'sgd' and 'adam').

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        classes : array-like, optional
            Every class label; required on the first call (unless y is multilabel).
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        first = not hasattr(self, "_network")
        X, y = validate_data(self, X, y, reset=first, accept_sparse=["csr", "csc", "coo"],
                             multi_output=True, dtype=[self._np_dtype(), np.float64, np.float32])
        X = np.asarray(_dense(X), dtype=self._np_dtype())
        if first:
            if classes is None and type_of_target(y) != "multilabel-indicator":
                raise ValueError("classes must be passed on the first call to partial_fit.")
            Y, _ = self._encode(y, None if classes is None else np.unique(classes))
            self.classes_ = (np.arange(y.shape[1]) if self._multilabel
                             else np.unique(classes))
        else:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(f"`classes={list(classes)}` is not the same as on the last "
                                 f"call to partial_fit, was: {list(self.classes_)}")
            Y, _ = self._encode(y, None if self._multilabel else self.classes_)
        return self._fit(X, Y, sample_weight, None, incremental=True)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes) (or (n_samples, n_labels)).

        Returns
        -------
        ndarray of float64; rows sum to 1 except for multilabel targets.
        """
        out = self._forward(X)
        if self._multilabel:
            return out
        if out.shape[1] == 1:
            return np.hstack([1.0 - out, out])
        return out / out.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithm of :meth:`predict_proba` (-inf where a probability is exactly 0)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted class labels (or label-indicator rows for multilabel targets)."""
        proba = self.predict_proba(X)
        if self._multilabel:
            return (proba > 0.5).astype(np.int64)
        return self.classes_[np.argmax(proba, axis=1)]

    def _save_classes(self, cfg: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        cfg["multilabel"], cfg["n_codes"] = bool(self._multilabel), int(self._n_codes)
        if self.classes_.dtype.kind in "iub" or (self.classes_.dtype.kind == "f"):
            arrays["classes"] = np.asarray(self.classes_, dtype=(
                np.int64 if self.classes_.dtype.kind in "iu" else self.classes_.dtype
                if self.classes_.dtype.kind == "b" else np.float64))
            cfg["classes_dtype"] = str(self.classes_.dtype)
        else:  # strings (or other objects): JSON in the config, not a unicode array
            cfg["classes_json"] = [c if isinstance(c, str) else c.item() if hasattr(c, "item")
                                   else c for c in self.classes_.tolist()]
            cfg["classes_dtype"] = "object" if self.classes_.dtype == object else "str"

    def _load_classes(self, cfg: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._multilabel, self._n_codes = bool(cfg["multilabel"]), int(cfg["n_codes"])
        if "classes" in arrays:
            self.classes_ = arrays["classes"].astype(cfg["classes_dtype"])
        else:
            self.classes_ = np.asarray(cfg["classes_json"],
                                       dtype=object if cfg["classes_dtype"] == "object" else None)


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multilayer-perceptron regressor, a drop-in for ``sklearn.neural_network.MLPRegressor``.

    Identity outputs with squared error by default (004 table); one output per target column.
    As in scikit-learn, ``loss`` comes first ("squared_error"; scikit-learn's "poisson" is not
    available, any other deltaprop loss name is). The other parameters and the attributes are
    those of :class:`MLPClassifier` (without ``classes_``); ``output_activation`` may be any
    deltaprop activation whose range covers the targets and ``early_stopping`` watches the
    validation R².

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0); X = rng.uniform(-1, 1, (200, 2)); y = X @ [1.0, -2.0]
    >>> reg = MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.99
    True
    """

    def __init__(self, loss: str = "squared_error", hidden_layer_sizes: Any = (100,),
                 activation: str = "relu", *, solver: str = "adam", alpha: float = 0.0001,
                 batch_size: int | str = "auto", learning_rate: str = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5, max_iter: int = 200,
                 shuffle: bool = True, random_state: Any = None, tol: float = 1e-4,
                 verbose: bool = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10, max_fun: int = 15000,
                 init: Any = None, output_activation: str | None = None, dropout: float = 0.0,
                 l1: float = 0.0, max_norm: float | None = None, clip_value: float | None = None,
                 clip_norm: float | None = None, schedule: Any = None,
                 layer_learning_rates: Any = None, sampling: str = "uniform",
                 augment: Any = None, dtype: str = "float32", callbacks: Any = None):
        # scikit-learn's MLPRegressor takes ``loss`` first; its other parameters are shared
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state,
            tol=tol, verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun, init=init,
            output_activation=output_activation, loss=loss, dropout=dropout, l1=l1,
            max_norm=max_norm, clip_value=clip_value, clip_norm=clip_norm, schedule=schedule,
            layer_learning_rates=layer_learning_rates, sampling=sampling, augment=augment,
            dtype=dtype, callbacks=callbacks)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _loss_name(self) -> str:
        if self.loss == "poisson":
            raise ValueError("loss='poisson' is not available: deltaprop's engine has no "
                             "Poisson deviance; use 'squared_error'")
        return "squared_error" if self.loss is None else self.loss

    def _output_activation(self) -> str | None:
        if self.output_activation is None and self._loss_name() in ("squared_error",
                                                                    "mean_squared_error"):
            return "identity"
        return self.output_activation

    def _val_key(self) -> str:
        return "val_r2"

    def _targets(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        X, y = validate_data(self, X, y, reset=reset, accept_sparse=["csr", "csc", "coo"],
                             multi_output=True, y_numeric=True,
                             dtype=[self._np_dtype(), np.float64, np.float32])
        X = np.asarray(_dense(X), dtype=self._np_dtype())
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        return X, np.asarray(Y, dtype=self._np_dtype())

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Fit the network to data ``X`` and targets ``y`` (n_samples,) or (n_samples, k).

        Returns
        -------
        self
        """
        X, Y = self._targets(X, y, reset=True)
        return self._fit(X, Y, sample_weight, None)

    @available_if(_stochastic)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over (X, y), keeping the optimizer state (solvers 'sgd' and 'adam')."""
        X, Y = self._targets(X, y, reset=not hasattr(self, "_network"))
        return self._fit(X, Y, sample_weight, None, incremental=True)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets, shape (n_samples,) for one output, else (n_samples, n_outputs)."""
        out = self._forward(X)
        return out.ravel() if out.shape[1] == 1 else out
