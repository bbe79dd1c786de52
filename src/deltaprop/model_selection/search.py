"""Cross-validation and hyperparameter search (002 §5), in parallel locally or on Dask.

The notes' recipe: train with different hyperparameters, measure the error on data held out
from training, keep the hyperparameters that do best (002 §5 "Cross-validation and the
hold-out method"); estimate that error by the hold-out method, by K-fold ("multifold")
cross-validation or by leave-one-out when data are scarce.

Every (candidate, fold) fit is one task for :class:`joblib.Parallel`: ``backend="loky"``
(processes) or ``"threading"`` on this machine, or ``backend="dask"`` with
``scheduler="tcp://host:8786"`` (or a ``distributed.Client``) to run the same call on a Dask
cluster. The default ``backend="auto"`` is loky, except for small problems: starting worker
processes costs seconds (5.9 s against 0.5 s with one worker for 5-fold cross-validation of
an MLP on iris with ``n_jobs=2``), so below :data:`SMALL_WORK` data cells (rows × features ×
fits) the fits run on threads of this process instead (0.2 s there): NumPy releases the GIL
in its array operations, and nothing has to start or be copied.

Folds come from ``seed``, and an estimator whose ``random_state`` is None gets a seed
derived from ``(seed, candidate, fold)``, so a call gives identical numbers on any backend
and any number of workers.

Estimators follow scikit-learn's protocol (``get_params``/``set_params``/``fit``/``score``),
e.g. :class:`deltaprop.estimators.MLPClassifier`, or any scikit-learn estimator; they are
copied with ``sklearn.base.clone`` and scored by scikit-learn's scorers.
"""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np
from sklearn.base import clone

from deltaprop.data.splits import is_class_labels, split_indices
from deltaprop.errors import InputError
from deltaprop.model_selection.scoring import resolve_scorer
from deltaprop.model_selection.splits import kfold, leave_one_out

__all__ = ["cross_validate", "CVResult", "GridSearch", "RandomSearch", "search", "make_splits"]

_BACKENDS = ("auto", "loky", "threading", "dask")
#: Below this many data cells (rows × features × fits) ``backend="auto"`` runs the fits on
#: threads: starting worker processes would cost more than the fits.
SMALL_WORK = 100_000


# -- splits, cloning -----------------------------------------------------------------------
def make_splits(cv: Any, X: Any, y: Any = None, *, seed: int | None = 0,
                stratify: bool | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Index pairs ``(train, validation)`` for a ``cv`` spec.

    Parameters
    ----------
    cv : int, "kfold", "loo", "holdout" or iterable of (train, validation) index pairs
        An int k (>= 2) or "kfold" (k = 5): K-fold; "loo": leave-one-out; "holdout": one
        random 80/20 split (002 §5).
    X, y : array-like
        Only the number of samples and the labels (for stratification) are used.
    seed : int, optional
    stratify : bool, optional
        Default: stratify on ``y`` when it holds class labels (not for "loo").

    Examples
    --------
    >>> [len(v) for _, v in make_splits(3, np.zeros((10, 2)), seed=0)]
    [4, 3, 3]
    """
    n = len(X)
    labels = None
    if y is not None and (stratify or (stratify is None and is_class_labels(np.asarray(y)))):
        labels = np.asarray(y)
    if isinstance(cv, str):
        if cv == "kfold":
            cv = 5
        elif cv == "loo":
            return list(leave_one_out(n))
        elif cv == "holdout":
            train, val = split_indices(n, (4, 1), stratify_labels=labels, seed=seed)
            return [(train, val)]
        else:
            raise InputError(f"cv must be an int, 'kfold', 'loo', 'holdout' or index pairs, "
                             f"got {cv!r}")
    if isinstance(cv, int | np.integer) and not isinstance(cv, bool):
        return list(kfold(n, int(cv), seed=seed, stratify_labels=labels))
    try:
        splits = [(np.asarray(tr, dtype=np.int64), np.asarray(va, dtype=np.int64))
                  for tr, va in cv]
    except (TypeError, ValueError):
        raise InputError(f"cv must be an int, 'kfold', 'loo', 'holdout' or an iterable of "
                         f"(train, validation) index pairs, got {cv!r}") from None
    if not splits:
        raise InputError("cv gave no splits")
    return splits


def _clone(estimator: Any, params: Mapping[str, Any] | None = None) -> Any:
    """An unfitted copy with the same (deep-copied) parameters, then ``params`` set."""
    if not hasattr(estimator, "get_params") or not hasattr(estimator, "set_params"):
        raise InputError(f"estimator must have get_params/set_params (the scikit-learn "
                         f"protocol), got {type(estimator).__name__}")
    new = clone(estimator)
    if params:
        new.set_params(**copy.deepcopy(dict(params)))
    return new


def _task_seed(seed: int | None, candidate: int, fold: int) -> int:
    entropy = [0 if seed is None else int(seed), candidate, fold]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0] >> 1)


def _take(a: Any, idx: np.ndarray) -> Any:
    return None if a is None else (a[idx] if hasattr(a, "shape") else np.asarray(a)[idx])


def _fit_and_score(estimator: Any, params: dict, X: Any, y: Any, train: np.ndarray,
                   val: np.ndarray, scorer: Callable, seed: int | None, candidate: int,
                   fold: int, return_estimator: bool, fit_params: dict) -> dict:
    est = _clone(estimator, params)
    if "random_state" in est.get_params(deep=False) and est.get_params()["random_state"] is None:
        est.set_params(random_state=_task_seed(seed, candidate, fold))
    fp = {k: (_take(v, train) if hasattr(v, "__len__") and len(v) == len(X) else v)
          for k, v in fit_params.items()}
    t0 = time.perf_counter()
    if y is None:
        est.fit(_take(X, train), **fp)
    else:
        est.fit(_take(X, train), _take(y, train), **fp)
    t1 = time.perf_counter()
    score = scorer(est, _take(X, val), _take(y, val))
    t2 = time.perf_counter()
    return {"candidate": candidate, "fold": fold, "score": float(score), "fit_time": t1 - t0,
            "score_time": t2 - t1, "estimator": est if return_estimator else None}


def _plan(tasks: list[tuple], n_jobs: int | None, backend: str) -> tuple[int | None, str]:
    """``(n_jobs, backend)`` to run ``tasks`` with: ``"auto"`` becomes loky, or threads when
    the work is under :data:`SMALL_WORK` data cells."""
    if backend != "auto":
        return n_jobs, backend
    X = tasks[0][2] if tasks else None
    cells = int(np.prod(np.shape(X))) * len(tasks) if X is not None else 0
    return n_jobs, "threading" if cells < SMALL_WORK else "loky"


def _run(tasks: list[tuple], n_jobs: int | None, backend: str, scheduler: Any) -> list[dict]:
    if backend not in _BACKENDS:
        raise InputError(f"backend must be one of {_BACKENDS}, got {backend!r}")
    if backend == "auto" and scheduler is not None:
        raise InputError("scheduler (a Dask Client or address) needs backend='dask'")
    n_jobs, backend = _plan(tasks, n_jobs, backend)
    if scheduler is not None and backend != "dask":
        raise InputError("scheduler (a Dask Client or address) needs backend='dask'")
    with ExitStack() as stack:
        if backend == "dask":
            try:
                from distributed import Client
            except ImportError:
                raise InputError("backend='dask' needs dask.distributed: pip install "
                                 "'deltaprop[dask]'") from None
            if scheduler is None:
                raise InputError("backend='dask' needs scheduler=<Client address or Client>")
            if not isinstance(scheduler, Client):
                stack.enter_context(Client(scheduler, set_as_default=True))
            elif scheduler.status != "running":
                raise InputError("the Dask Client given as scheduler is not running")
            else:
                stack.enter_context(scheduler.as_current())
            n_jobs = -1 if n_jobs is None else n_jobs
        stack.enter_context(joblib.parallel_config(backend=backend))
        results = joblib.Parallel(n_jobs=n_jobs)(joblib.delayed(_fit_and_score)(*t)
                                                 for t in tasks)
    return sorted(results, key=lambda r: (r["candidate"], r["fold"]))


# -- cross-validation ------------------------------------------------------------------------
@dataclass
class CVResult:
    """Per-fold scores of :func:`cross_validate`, their mean and standard deviation."""

    scores: np.ndarray
    fit_time: np.ndarray
    score_time: np.ndarray
    estimators: list[Any] | None = field(default=None, repr=False)

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores))

    @property
    def std(self) -> float:
        return float(np.std(self.scores))

    def to_dict(self) -> dict[str, Any]:
        return {"scores": self.scores.tolist(), "mean": self.mean, "std": self.std,
                "fit_time": self.fit_time.tolist(), "score_time": self.score_time.tolist()}


def cross_validate(estimator: Any, X: Any, y: Any = None, *, cv: Any = 5, scoring: Any = None,
                   n_jobs: int | None = None, backend: str = "auto", scheduler: Any = None,
                   seed: int | None = 0, return_estimators: bool = False,
                   fit_params: Mapping[str, Any] | None = None) -> CVResult:
    """Estimate generalization by hold-out, K-fold or leave-one-out validation (002 §5).

    Parameters
    ----------
    estimator : estimator with get_params/set_params/fit (and score, unless ``scoring``)
    X, y : array-like
    cv : int, "kfold", "loo", "holdout" or iterable of index pairs
        See :func:`make_splits`; class labels are stratified.
    scoring : None, str or callable
        None uses ``estimator.score``; "accuracy", "r2", "neg_mean_squared_error", any
        scikit-learn scorer name, or ``scoring(fitted, X_val, y_val) -> float``.
    n_jobs : int, optional
        Parallel fits (joblib semantics; -1 = all cores, or all Dask workers).
    backend : {"auto", "loky", "threading", "dask"}
        "auto" (default): loky processes, but threads for problems under :data:`SMALL_WORK`
        data cells, where starting processes costs more than the fits.
    scheduler : str or distributed.Client, optional
        With ``backend="dask"``: the scheduler address (e.g. "tcp://10.0.0.1:8786") or Client.
    seed : int, optional
        Seeds the folds and the ``random_state`` of estimators that have none.
    return_estimators : bool
        Keep the fitted estimator of every fold.
    fit_params : dict, optional
        Extra ``fit`` arguments; arrays of length n_samples (e.g. sample_weight) are split.

    Returns
    -------
    CVResult
        ``scores`` per fold, ``mean``, ``std``, ``fit_time``, ``score_time``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from deltaprop.estimators import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> res = cross_validate(MLPClassifier((8,), solver="lbfgs", max_iter=2000), X, y, cv=3)
    >>> res.scores.shape, res.mean > 0.9
    ((3,), True)
    """
    splits = make_splits(cv, X, y, seed=seed)
    scorer = resolve_scorer(scoring)
    tasks = [(estimator, {}, X, y, tr, va, scorer, seed, 0, k, return_estimators,
              dict(fit_params or {})) for k, (tr, va) in enumerate(splits)]
    res = _run(tasks, n_jobs, backend, scheduler)
    return CVResult(np.array([r["score"] for r in res]), np.array([r["fit_time"] for r in res]),
                    np.array([r["score_time"] for r in res]),
                    [r["estimator"] for r in res] if return_estimators else None)


# -- hyperparameter search -------------------------------------------------------------------
def _grid(param_grid: Any) -> list[dict[str, Any]]:
    grids = [param_grid] if isinstance(param_grid, Mapping) else list(param_grid)
    out = []
    for g in grids:
        if not isinstance(g, Mapping):
            raise InputError(f"param_grid must be a dict or a list of dicts, got {g!r}")
        keys = sorted(g)
        for k in keys:
            if isinstance(g[k], str) or not isinstance(g[k], Iterable):
                raise InputError(f"param_grid[{k!r}] must be a list of values, got {g[k]!r}")
        out.extend(dict(zip(keys, values, strict=True))
                   for values in itertools.product(*(list(g[k]) for k in keys)))
    if not out:
        raise InputError("param_grid gives no candidates")
    return out


class GridSearch:
    """Exhaustive search over ``param_grid``, scored by cross-validation (002 §5).

    Parameters
    ----------
    estimator : estimator
    param_grid : dict of lists or list of such dicts
    cv, scoring, n_jobs, backend, scheduler, seed
        As in :func:`cross_validate`; all (candidate, fold) fits run as one parallel batch.
    refit : bool
        Refit the best candidate on all of (X, y) as ``best_estimator_``.

    Attributes
    ----------
    best_params_, best_score_, best_index_, best_estimator_
    cv_results_ : dict
        ``params``, ``mean_test_score``, ``std_test_score``, ``rank_test_score``,
        ``split{k}_test_score``, ``mean_fit_time`` (one entry per candidate).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from deltaprop.estimators import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> gs = GridSearch(MLPClassifier(solver="lbfgs", max_iter=2000),
    ...                 {"hidden_layer_sizes": [(4,), (8,)]}, cv=3).fit(X, y)
    >>> sorted(gs.best_params_), len(gs.cv_results_["params"])
    (['hidden_layer_sizes'], 2)
    """

    def __init__(self, estimator: Any, param_grid: Any, *, cv: Any = 5, scoring: Any = None,
                 n_jobs: int | None = None, backend: str = "auto", scheduler: Any = None,
                 seed: int | None = 0, refit: bool = True):
        self.estimator, self.param_grid = estimator, param_grid
        self.cv, self.scoring, self.n_jobs = cv, scoring, n_jobs
        self.backend, self.scheduler, self.seed, self.refit = backend, scheduler, seed, refit

    def _candidates(self) -> list[dict[str, Any]]:
        return _grid(self.param_grid)

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> GridSearch:
        """Cross-validate every candidate, pick the best mean score, optionally refit."""
        candidates = self._candidates()
        splits = make_splits(self.cv, X, y, seed=self.seed)
        scorer = resolve_scorer(self.scoring)
        tasks = [(self.estimator, params, X, y, tr, va, scorer, self.seed, c, k, False,
                  fit_params)
                 for c, params in enumerate(candidates) for k, (tr, va) in enumerate(splits)]
        res = _run(tasks, self.n_jobs, self.backend, self.scheduler)
        scores = np.array([r["score"] for r in res]).reshape(len(candidates), len(splits))
        times = np.array([r["fit_time"] for r in res]).reshape(scores.shape)
        mean, std = scores.mean(axis=1), scores.std(axis=1)
        order = np.argsort(-mean, kind="stable")
        rank = np.empty(len(mean), dtype=np.int64)
        rank[order] = np.arange(1, len(mean) + 1)
        self.cv_results_ = {"params": candidates, "mean_test_score": mean,
                            "std_test_score": std, "rank_test_score": rank,
                            "mean_fit_time": times.mean(axis=1)}
        for k in range(len(splits)):
            self.cv_results_[f"split{k}_test_score"] = scores[:, k]
        self.best_index_ = int(order[0])
        self.best_params_ = candidates[self.best_index_]
        self.best_score_ = float(mean[self.best_index_])
        if self.refit:
            best = _clone(self.estimator, self.best_params_)
            if ("random_state" in best.get_params(deep=False)
                    and best.get_params()["random_state"] is None):
                best.set_params(random_state=_task_seed(self.seed, self.best_index_, len(splits)))
            best.fit(X, **fit_params) if y is None else best.fit(X, y, **fit_params)
            self.best_estimator_ = best
        return self

    def _best(self) -> Any:
        if not hasattr(self, "best_estimator_"):
            raise InputError("call fit (with refit=True) before predicting")
        return self.best_estimator_

    def predict(self, X: Any) -> Any:
        return self._best().predict(X)

    def predict_proba(self, X: Any) -> Any:
        return self._best().predict_proba(X)

    def score(self, X: Any, y: Any) -> float:
        return float(resolve_scorer(self.scoring)(self._best(), X, y))


class RandomSearch(GridSearch):
    """Random search: ``n_iter`` candidates drawn from ``param_distributions``.

    Each value is a list (drawn uniformly) or a distribution with ``rvs(random_state=...)``
    (e.g. ``scipy.stats.loguniform(1e-5, 1e-1)``); the draws come from ``seed``.

    Examples
    --------
    >>> rs = RandomSearch(object, {"alpha": [0.1, 1.0], "k": [1, 2, 3]}, n_iter=4, seed=0)
    >>> len(rs._candidates())
    4
    """

    def __init__(self, estimator: Any, param_distributions: Mapping[str, Any], *,
                 n_iter: int = 10, cv: Any = 5, scoring: Any = None, n_jobs: int | None = None,
                 backend: str = "auto", scheduler: Any = None, seed: int | None = 0,
                 refit: bool = True):
        super().__init__(estimator, None, cv=cv, scoring=scoring, n_jobs=n_jobs,
                         backend=backend, scheduler=scheduler, seed=seed, refit=refit)
        self.param_distributions, self.n_iter = param_distributions, n_iter

    def _candidates(self) -> list[dict[str, Any]]:
        if isinstance(self.n_iter, bool) or not isinstance(self.n_iter, int) or self.n_iter < 1:
            raise InputError(f"n_iter must be a positive integer, got {self.n_iter!r}")
        if not isinstance(self.param_distributions, Mapping) or not self.param_distributions:
            raise InputError("param_distributions must be a non-empty dict")
        rs = np.random.RandomState(np.random.SeedSequence(
            [0 if self.seed is None else int(self.seed), 1]).generate_state(1)[0])
        out = []
        for _ in range(self.n_iter):
            cand = {}
            for k in sorted(self.param_distributions):
                dist = self.param_distributions[k]
                if hasattr(dist, "rvs"):
                    cand[k] = dist.rvs(random_state=rs)
                elif isinstance(dist, str) or not isinstance(dist, Iterable):
                    raise InputError(f"param_distributions[{k!r}] must be a list or have "
                                     f"rvs(), got {dist!r}")
                else:
                    values = list(dist)
                    cand[k] = values[rs.randint(len(values))]
            out.append(cand)
        return out


def search(estimator: Any, params: Any, X: Any, y: Any = None, *, n_iter: int | None = None,
           **kwargs: Any) -> GridSearch:
    """Fit a :class:`GridSearch` (``n_iter=None``) or a :class:`RandomSearch` and return it.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from deltaprop.estimators import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> s = search(MLPClassifier(solver="lbfgs", max_iter=2000), {"alpha": [1e-4, 1e-2]},
    ...            X, y, cv=3)
    >>> s.best_score_ > 0.9
    True
    """
    if n_iter is None:
        return GridSearch(estimator, params, **kwargs).fit(X, y)
    return RandomSearch(estimator, params, n_iter=n_iter, **kwargs).fit(X, y)
