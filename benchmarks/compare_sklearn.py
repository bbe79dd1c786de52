"""Compare deltaprop's estimators with scikit-learn's MLP on five small benchmark data sets.

Same architecture (one hidden layer of 100 ReLU units), same solver (Adam, learning rate
1e-3, batch size min(200, n)), same epoch budget (max_iter=200 with scikit-learn's stopping
rule, tol=1e-4, n_iter_no_change=10), same alpha, standardized inputs in a Pipeline
(diabetes: standardized targets too), the same stratified 5-fold splits, one BLAS thread for
both. Reported: mean ± std of the 5-fold CV scores (accuracy; R² for diabetes) and of the
per-fold fit time.

Regenerate the table in docs/sklearn_comparison.md with::

    .venv/bin/python benchmarks/compare_sklearn.py --write docs/sklearn_comparison.md
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np
import sklearn
from sklearn import datasets
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import deltaprop
from deltaprop.estimators import MLPClassifier, MLPRegressor

DATASETS = {
    "iris": (datasets.load_iris, "classification"),
    "wine": (datasets.load_wine, "classification"),
    "breast cancer": (datasets.load_breast_cancer, "classification"),
    "digits": (datasets.load_digits, "classification"),
    "diabetes": (datasets.load_diabetes, "regression"),
}
COMMON = dict(hidden_layer_sizes=(100,), activation="relu", solver="adam", alpha=1e-4,
              batch_size="auto", learning_rate_init=1e-3, max_iter=200, tol=1e-4,
              n_iter_no_change=10)


def _estimators(task: str, seed: int):
    if task == "classification":
        return {"deltaprop": MLPClassifier(**COMMON, random_state=seed),
                "scikit-learn": SkMLPClassifier(**COMMON, random_state=seed)}
    return {"deltaprop": MLPRegressor(**COMMON, random_state=seed),
            "scikit-learn": SkMLPRegressor(**COMMON, random_state=seed)}


def _warm_up(seed: int) -> None:
    """One untimed tiny fit per library and task: one-time costs (imports, loading deltaprop's
    compiled kernels from the numba cache) are not charged to the first timed fold."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 4))
    for task, y in (("classification", (X[:, 0] > 0).astype(int)), ("regression", X[:, 1])):
        for est in _estimators(task, seed).values():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # 5 iterations do not converge; that is fine
                est.set_params(max_iter=5).fit(X, y)


def run(seed: int = 0, folds: int = 5) -> list[dict]:
    _warm_up(seed)
    rows = []
    for name, (loader, task) in DATASETS.items():
        X, y = loader(return_X_y=True)
        splitter = (StratifiedKFold if task == "classification" else KFold)(
            folds, shuffle=True, random_state=seed)
        splits = list(splitter.split(X, y))
        for lib, est in _estimators(task, seed).items():
            scores, times = [], []
            for train, test in splits:
                pipe = make_pipeline(StandardScaler(), est)
                if task == "regression":  # standardized targets too, for both libraries
                    pipe = TransformedTargetRegressor(pipe, transformer=StandardScaler())
                t0 = time.perf_counter()
                pipe.fit(X[train], y[train])
                times.append(time.perf_counter() - t0)
                scores.append(pipe.score(X[test], y[test]))
            rows.append({"dataset": name, "library": lib, "metric":
                         "accuracy" if task == "classification" else "R²",
                         "score_mean": float(np.mean(scores)), "score_std": float(np.std(scores)),
                         "time_mean": float(np.mean(times)), "time_std": float(np.std(times))})
            print(f"{name:14s} {lib:13s} {rows[-1]['score_mean']:.4f} ± "
                  f"{rows[-1]['score_std']:.4f}   {rows[-1]['time_mean']:.3f} s", flush=True)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| data set | metric | deltaprop score | scikit-learn score | deltaprop fit time (s) "
             "| scikit-learn fit time (s) | within 1 std or better | faster |",
             "|---|---|---|---|---|---|---|---|"]
    by = {(r["dataset"], r["library"]): r for r in rows}
    for name in DATASETS:
        d, s = by[(name, "deltaprop")], by[(name, "scikit-learn")]
        ok = d["score_mean"] >= s["score_mean"] - s["score_std"]
        fast = d["time_mean"] < s["time_mean"]
        lines.append(
            f"| {name} | {d['metric']} | {d['score_mean']:.4f} ± {d['score_std']:.4f} "
            f"| {s['score_mean']:.4f} ± {s['score_std']:.4f} "
            f"| {d['time_mean']:.3f} ± {d['time_std']:.3f} "
            f"| {s['time_mean']:.3f} ± {s['time_std']:.3f} "
            f"| {'yes' if ok else 'no'} | {'yes' if fast else 'no'} |")
    return "\n".join(lines)


PAGE = """# deltaprop vs scikit-learn's MLP

`deltaprop.MLPClassifier` / `deltaprop.MLPRegressor` take scikit-learn's parameters with
scikit-learn's meanings, so the comparison below runs *the same configuration* through both:

- one hidden layer of 100 ReLU units, Adam (learning rate 1e-3, β = 0.9, 0.999), batch size
  `min(200, n)`, `alpha=1e-4` (deltaprop applies it with scikit-learn's scaling
  `alpha / batch size`, see `deltaprop.estimators`);
- the same epoch budget: `max_iter=200` with scikit-learn's stopping rule (`tol=1e-4`,
  `n_iter_no_change=10`) in both;
- `StandardScaler` + estimator in a `Pipeline` (for diabetes also standardized targets,
  `TransformedTargetRegressor`), the same shuffled (stratified for classification) 5-fold
  splits, `random_state={seed}` for both; both start from Glorot-uniform weights
  (scikit-learn's initialization, deltaprop's estimator default);
- one BLAS thread for both (`threadpoolctl`); fit time is the wall time of `Pipeline.fit` per
  fold. deltaprop computes in float32 (its default), scikit-learn in float64. Before the
  timed folds each library fits a tiny problem once, untimed, so that one-time costs (for
  deltaprop, loading its compiled numba kernels from the cache, ~0.15 s per process; compiling
  them once after installation takes a few seconds) are not charged to the first fold.

Scores are mean ± standard deviation over the 5 folds: accuracy for the classification sets,
R² for diabetes.

{table}

Machine: {machine}; Python {python}, NumPy {numpy}, scikit-learn {sklearn}, deltaprop
{deltaprop}. Timings depend on the machine and its load; the scores are deterministic.

Regenerate this page with:

```
.venv/bin/python benchmarks/compare_sklearn.py --write docs/sklearn_comparison.md
```
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", metavar="PATH", help="write the markdown page here")
    args = parser.parse_args()
    with threadpool_limits(1), warnings.catch_warnings():
        # both libraries warn when a fold reaches max_iter; the budget is the point here
        warnings.simplefilter("ignore", ConvergenceWarning)
        rows = run(args.seed)
    text = table(rows)
    print(text)
    if args.write:
        machine = ", ".join(p for p in (platform.machine(), platform.processor()) if p)
        page = PAGE.format(seed=args.seed, table=text, machine=machine or "unknown",
                           python=platform.python_version(),
                           numpy=np.__version__, sklearn=sklearn.__version__,
                           deltaprop=deltaprop.__version__)
        with open(args.write, "w", encoding="utf-8") as fh:
            fh.write(page)


if __name__ == "__main__":
    main()
