"""The base shared by :class:`MLPClassifier` and :class:`MLPRegressor`: the parameters and their
validation, network construction, the data checks and the dispatch to a solver."""

from __future__ import annotations

import copy
import json
import numbers
import warnings
from typing import Any

import numpy as np
import scipy.optimize
import scipy.sparse
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from deltaprop.checks import check_number, check_sample_weight
from deltaprop.data.chunks import ChunkedData
from deltaprop.data.splits import split_indices
from deltaprop.engine import activations as _activations
from deltaprop.engine.network import load, mlp
from deltaprop.errors import InputError
from deltaprop.estimators.callbacks import _AdaptiveRate, _SklearnStopping
from deltaprop.training.callbacks import Callback, History
from deltaprop.training.schedules import InverseScaling, Schedule, get_schedule
from deltaprop.training.trainer import Trainer

_EXTRAS_KEY = "sklearn_estimator"
_FITTED = ("loss_", "loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_",
           "n_iter_", "t_", "n_layers_", "n_outputs_", "out_activation_", "n_features_in_")
_SOLVERS = ("sgd", "adam", "lbfgs")
_LEARNING_RATES = ("constant", "invscaling", "adaptive")


def _stochastic(est: Any) -> bool:
    """``partial_fit`` exists only for the stochastic solvers (as in scikit-learn)."""
    if est.solver not in ("sgd", "adam"):
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                             f"{est.solver!r} is not stochastic.")
    return True


def _dense(X: Any) -> np.ndarray:
    """The engine computes on dense arrays: sparse input is densified (like a .toarray())."""
    return X.toarray() if scipy.sparse.issparse(X) else X


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
        check_number("alpha", self.alpha, low=0.0, convert=False)
        check_number("learning_rate_init", self.learning_rate_init, low=0.0, low_open=True,
                     convert=False)
        check_number("power_t", self.power_t, low=0.0, convert=False)
        check_number("max_iter", self.max_iter, low=1, integer=True)
        check_number("tol", self.tol, low=0.0, convert=False)
        check_number("momentum", self.momentum, low=0.0, convert=False, high=1.0)
        check_number("validation_fraction", self.validation_fraction, low=0.0, convert=False,
                     low_open=True,
                      high=1.0, high_open=True)
        for name in ("beta_1", "beta_2"):
            check_number(name, getattr(self, name), low=0.0, high=1.0, high_open=True,
                         convert=False)
        check_number("epsilon", self.epsilon, low=0.0, convert=False, low_open=True)
        check_number("n_iter_no_change", self.n_iter_no_change, low=1, integer=True)
        check_number("max_fun", self.max_fun, low=1, integer=True)
        check_number("dropout", self.dropout, low=0.0, high=1.0, high_open=True, convert=False)
        check_number("l1", self.l1, low=0.0, convert=False)
        if self.batch_size != "auto":
            check_number("batch_size", self.batch_size, low=1, integer=True)
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

    def _chunked(self, X: Any, y: Any, sample_weight: Any, reset: bool,
                 encode: Any) -> ChunkedData:
        """Chunked ``X`` (a dask array, a large memmap, a ChunkedData holding raw targets) for
        the stochastic solvers: the column count is checked now, the values chunk by chunk
        as the trainer reads them, and ``encode`` turns each chunk's ``y`` into targets."""
        if self.solver not in ("sgd", "adam"):
            raise ValueError(f"solver={self.solver!r} needs the data in memory; chunked X (a "
                             "dask array or memmap) trains with solver='sgd' or 'adam'")
        if isinstance(X, ChunkedData):
            if y is not None or sample_weight is not None or X.transform_y is not None:
                raise ValueError("a ChunkedData passed to an estimator holds the raw targets "
                                 "(no transform_y); pass y=None and sample_weight=None")
            data = copy.copy(X)
            data.transform_y = encode
        else:
            data = ChunkedData(X, y, sample_weight, transform_y=encode)
        if data.Y is None:
            raise ValueError("chunked X needs its targets y")
        validate_data(self, data, reset=reset, skip_check_array=True)
        return data

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
        chunked = isinstance(X, ChunkedData)  # Y: then the first row's targets, for the shape
        sw = None if chunked else self._check_sample_weight(sample_weight, n)
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
        if isinstance(sample_weight, numbers.Number):
            sample_weight = np.full(n, float(sample_weight))
        return check_sample_weight(sample_weight, n)

    # -- prediction helpers ------------------------------------------------------------------
    def _forward(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "_network")
        X = self._validate_X(X, reset=False)
        return np.asarray(self._network.forward(X, check=False), dtype=np.float64)


    # -- stochastic solvers: deltaprop's Trainer ---------------------------------------------
    def _batch(self, n: int) -> int:
        return min(200, n) if self.batch_size == "auto" else min(int(self.batch_size), n)

    def _make_trainer(self, n: int, mean_weight: float, seed: int, extra: list[Callback]):
        lr0 = float(self.learning_rate_init)
        schedule, adaptive = copy.deepcopy(self.schedule), None
        momentum = float(self.momentum) if self.solver == "sgd" else 0.0
        if self.solver == "sgd":
            if schedule is None and self.learning_rate == "invscaling":
                schedule = InverseScaling(decay=float(n), power=float(self.power_t))
            elif schedule is None and self.learning_rate == "adaptive":
                schedule = adaptive = _AdaptiveRate()
        batch = self._batch(n)
        user = list(self.callbacks or ())
        trainer = Trainer(self._network, optimizer=self.solver, learning_rate=lr0,
                          momentum=momentum, nesterov=momentum > 0 and self.nesterovs_momentum,
                          beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon,
                          batch_size=batch, schedule=get_schedule(schedule),
                          clip_value=self.clip_value, clip_norm=self.clip_norm,
                          l1=float(self.l1), l2=float(self.alpha) / (batch * mean_weight),
                          max_norm=self.max_norm, layer_learning_rates=self.layer_learning_rates,
                          sampling=self.sampling, shuffle=bool(self.shuffle),
                          augment=self.augment, callbacks=[*extra, *user], verbose=0, seed=seed)
        return trainer, adaptive

    def _fit_stochastic(self, X, Y, sw, strat, trainer_seed: int, split_seed: int) -> _BaseMLP:
        validation = None
        chunked = isinstance(X, ChunkedData)
        if chunked:
            if self.early_stopping:
                raise ValueError("early_stopping holds out a stratified validation_fraction of "
                                 "the rows in memory; with chunked X use deltaprop's Trainer "
                                 "with validation_data=(X_val, Y_val) (docs/big-data.md)")
            Y, mean_w = None, X.weight_mean() or 1.0
        elif self.early_stopping:
            tr, va = split_indices(len(X), (1 - self.validation_fraction,
                                            self.validation_fraction),
                                   stratify_labels=strat, seed=split_seed)
            validation = (X[va], Y[va])
            X, Y, sw = X[tr], Y[tr], None if sw is None else sw[tr]
        if not chunked:
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
        chunked = isinstance(X, ChunkedData)
        if trainer is None:
            mean_w = ((X.weight_mean() if chunked else None if sw is None else float(sw.mean()))
                      or 1.0)
            trainer, _ = self._make_trainer(len(X), mean_w, trainer_seed, [])
            self._trainer = trainer
        history = trainer.partial_fit(X, None if chunked else Y, sample_weight=sw)
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
        >>> from deltaprop.estimators import MLPClassifier, load_estimator
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
    net = load(path)
    if _EXTRAS_KEY not in net.extras:
        raise InputError(f"{path} holds a deltaprop network but no scikit-learn estimator state; "
                         "load it with deltaprop.load")
    cfg, arrays = net.extras[_EXTRAS_KEY]
    # the estimator classes are the subclasses of _BaseMLP (MLPClassifier, MLPRegressor)
    cls = {c.__name__: c for c in _BaseMLP.__subclasses__()}.get(cfg.get("class"))
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

