"""Why deltaprop.model_selection.data_parallel_fit averages per round, not per step.

```
python benchmarks/data_parallel.py
```

Measures, on this machine (results in ``benchmarks/results/data_parallel.{json,md}``):

- one mini-batch step of the 100-64-10 network of benchmarks/bigdata.py (batch 256, Adam):
  the median over 200 steps of ``Trainer.partial_fit`` on one batch' worth of rows
  (the per-step compute a synchronous gradient average would interleave with);
- one synchronous round trip driver -> 2 workers -> driver on a ``LocalCluster`` with worker
  processes talking TCP over 127.0.0.1: submit a task that takes the current weights and
  returns an array of the gradient's size, gather both (median of 50), the least that
  averaging gradients after every step costs;
- a ``data_parallel_fit`` round with 2 workers against one local epoch on the same rows.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bigdata import BATCH, HIDDEN, N_CLASSES, N_FEATURES, cpu_name  # noqa: E402


def _echo(params):
    return [p * 1.0 for p in params]


def main() -> int:
    import dask.array as da
    import distributed

    import deltaprop as dp
    from deltaprop.model_selection import data_parallel_fit
    from deltaprop.training import Trainer

    rng = np.random.default_rng(0)
    rows = 40_000
    X = rng.normal(size=(rows, N_FEATURES)).astype(np.float32)
    Y = np.eye(N_CLASSES, dtype=np.float32)[X[:, :N_CLASSES].argmax(axis=1)]
    net = dp.mlp([N_FEATURES, HIDDEN, N_CLASSES], seed=0)
    opts = dict(optimizer="adam", learning_rate=1e-3, batch_size=BATCH)
    trainer = Trainer(net, seed=0, verbose=0, **opts)
    step = []
    for i in range(200):
        lo = (i * BATCH) % (rows - BATCH)
        t0 = time.perf_counter()
        trainer.partial_fit(X[lo:lo + BATCH], Y[lo:lo + BATCH])
        step.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    Trainer(dp.mlp([N_FEATURES, HIDDEN, N_CLASSES], seed=0), seed=0, verbose=0,
            **opts).fit(X, Y, epochs=1)
    local_epoch = time.perf_counter() - t0
    params = [p.copy() for p in net.parameters()]
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        workers = sorted(client.scheduler_info()["workers"])
        trip = []
        for _ in range(50):
            t0 = time.perf_counter()
            client.gather([client.submit(_echo, params, workers=[w], pure=False)
                           for w in workers])
            trip.append(time.perf_counter() - t0)
        Xd = da.from_array(X, chunks=(5_000, N_FEATURES))
        Yd = da.from_array(Y, chunks=(5_000, N_CLASSES))
        rounds = data_parallel_fit(dp.mlp([N_FEATURES, HIDDEN, N_CLASSES], seed=0), Xd, Yd,
                                   client=client, rounds=3, **opts)
    steps_per_epoch = -(-rows // BATCH)
    report = {
        "cpu": cpu_name(), "cores": os.cpu_count(), "rows": rows, "batch": BATCH,
        "step_ms": 1e3 * statistics.median(step),
        "round_trip_ms": 1e3 * statistics.median(trip),
        "parameters": int(sum(p.size for p in params)),
        "local_epoch_s": local_epoch,
        "data_parallel_round_s": [e["time"] for e in rounds.epochs],
        "steps_per_epoch": steps_per_epoch,
    }
    sync = steps_per_epoch * (report["step_ms"] / 2 + report["round_trip_ms"]) / 1e3
    report["per_step_sync_epoch_s_estimate"] = sync
    lines = [
        f"CPU: {report['cpu']} ({report['cores']} cores); {N_FEATURES}-{HIDDEN}-{N_CLASSES}, "
        f"batch {BATCH}, {report['parameters']:,} parameters, {rows:,} rows",
        "",
        "| quantity | value |", "|---|---:|",
        f"| one mini-batch step (median) | {report['step_ms']:.2f} ms |",
        f"| one synchronous round trip to 2 worker processes (TCP 127.0.0.1, median) | "
        f"{report['round_trip_ms']:.2f} ms |",
        f"| one local epoch ({steps_per_epoch} steps) | {local_epoch:.2f} s |",
        f"| per-step gradient averaging on 2 workers, lower bound per epoch "
        f"(steps × (step / 2 + round trip)) | {sync:.2f} s |",
        f"| data_parallel_fit rounds (2 workers, 1 local epoch each) | "
        f"{', '.join(f'{t:.2f}' for t in report['data_parallel_round_s'])} s |",
    ]
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "data_parallel.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "data_parallel.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
