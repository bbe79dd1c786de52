"""The solvers: mini-batch training with deltaprop's :class:`~deltaprop.training.Trainer`
('sgd', 'adam') and SciPy's L-BFGS-B over the flat parameter vector ('lbfgs')."""

from __future__ import annotations

import copy
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from deltaprop.callbacks import Callback, History
from deltaprop.estimators._callbacks import _AdaptiveRate, _SklearnStopping
from deltaprop.model_selection import split_indices
from deltaprop.optimizers import Adam, Momentum
from deltaprop.schedules import InverseScaling, get_schedule
from deltaprop.training import Trainer

if TYPE_CHECKING:
    from deltaprop.estimators._base import _BaseMLP


class _SolversMixin:
    """The fitting half of :class:`~deltaprop.estimators._base._BaseMLP` (uses its
    parameters and ``_network``)."""

    # -- stochastic solvers: deltaprop's Trainer ---------------------------------------------
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
                          sampling=self.sampling, shuffle=bool(self.shuffle),
                          augment=self.augment, callbacks=[*extra, *user], verbose=0, seed=seed)
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

