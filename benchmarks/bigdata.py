"""Training on a dask array bigger than memory vs the same kind of rows in memory.

```
python benchmarks/bigdata.py                    # 2.16 GB of features (5.4 M rows x 100 float32)
python benchmarks/bigdata.py --rows 200000 --memory-rows 100000 --name smoke   # seconds
```

The data are generated lazily by dask (``da.random.default_rng(0).standard_normal``, row
chunks of ``--chunk-rows``), with 10 classes computed from the features inside the same graph
(y = argmax(X[:, :10] + 0.5 X[:, 10:20])). One epoch of ``Trainer.fit`` (100-64-10 ReLU,
softmax, Adam, batch 256, seed 0) runs, each in its own process:

- ``memory``: the first ``--memory-rows`` rows, computed into NumPy arrays before the clock
  starts (holding all 2 GB in memory on this shared machine is what the chunked path avoids);
- ``chunked``: all rows, chunk by chunk (``deltaprop.data.chunks``, ``prefetch=False``: one
  chunk in memory, read in turn), the clock including dask's generation of every chunk;
- ``prefetch``: the same with the default ``prefetch=True`` (the next chunk read in a thread).

Reported: samples/s of the epoch, and the peak anonymous resident memory of the process
(``RssAnon`` of /proc/self/status sampled every 10 ms by a thread, and ``VmHWM``), next to the
size of the features. Results go to ``benchmarks/results/<name>.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
N_FEATURES, N_CLASSES, HIDDEN, BATCH = 100, 10, 64, 256


def _status_kb(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class PeakAnon:
    """Samples RssAnon every ``interval`` seconds in a thread; ``peak`` in bytes."""

    def __init__(self, interval: float = 0.01):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _status_kb("RssAnon") * 1024)
            time.sleep(self.interval)

    def __enter__(self) -> PeakAnon:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _status_kb("RssAnon") * 1024)


def lazy_data(rows: int, chunk_rows: int):
    """(X, Y) dask arrays: standard normal float32 features, one-hot float32 targets."""
    import dask.array as da
    import numpy as np

    X = da.random.default_rng(0).standard_normal((rows, N_FEATURES), chunks=(
        chunk_rows, N_FEATURES), dtype=np.float32)
    y = (X[:, :N_CLASSES] + 0.5 * X[:, N_CLASSES:2 * N_CLASSES]).argmax(axis=1)
    Y = (y[:, None] == da.arange(N_CLASSES)[None, :]).astype(np.float32)
    return X, Y


def job(kind: str, rows: int, chunk_rows: int) -> dict:
    import numpy as np

    import deltaprop as dp
    from deltaprop.data.chunks import ChunkedData
    from deltaprop.training import Trainer

    X, Y = lazy_data(rows, chunk_rows)
    with PeakAnon() as peak:
        if kind == "memory":
            import dask

            X, Y = dask.compute(X, Y)
            data, target = X, Y
        else:
            data, target = ChunkedData(X, Y, prefetch=kind == "prefetch"), None  # chunked: off
        net = dp.mlp([N_FEATURES, HIDDEN, N_CLASSES], seed=0)
        trainer = Trainer(net, optimizer="adam", learning_rate=1e-3, batch_size=BATCH, seed=0,
                          verbose=0)
        t0 = time.perf_counter()
        history = trainer.fit(data, target, epochs=1)
        seconds = time.perf_counter() - t0
    return {"job": kind, "rows": rows, "feature_bytes": rows * N_FEATURES * 4,
            "seconds": seconds, "samples_per_s": rows / seconds,
            "peak_rss_anon_bytes": peak.peak, "vm_hwm_bytes": _status_kb("VmHWM") * 1024,
            "loss": history.epochs[0]["loss"], "accuracy": history.epochs[0]["accuracy"],
            "chunk_rows": chunk_rows, "dtype": str(np.float32.__name__)}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=5_400_000)
    p.add_argument("--memory-rows", type=int, default=1_000_000)
    p.add_argument("--chunk-rows", type=int, default=100_000)
    p.add_argument("--jobs", default="memory,chunked,prefetch")
    p.add_argument("--name", default="bigdata")
    p.add_argument("--job", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.job:
        rows = args.memory_rows if args.job == "memory" else args.rows
        print(json.dumps(job(args.job, rows, args.chunk_rows)))
        return 0
    results = []
    for kind in args.jobs.split(","):
        cmd = [sys.executable, __file__, "--job", kind, "--rows", str(args.rows),
               "--memory-rows", str(args.memory_rows), "--chunk-rows", str(args.chunk_rows)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=os.environ)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = results[-1]
        print(f"{kind:9s} {r['rows']:>9,d} rows  {r['samples_per_s']:>10,.0f} samples/s  "
              f"peak RssAnon {r['peak_rss_anon_bytes'] / 2**20:7.0f} MiB  "
              f"(features {r['feature_bytes'] / 2**20:6.0f} MiB)", file=sys.stderr)
    report = {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
              "network": f"{N_FEATURES}-{HIDDEN}-{N_CLASSES} relu/softmax, adam, batch {BATCH}",
              "results": results}
    base = next((r for r in results if r["job"] == "memory"), None)
    lines = [f"CPU: {report['cpu']} ({report['cores']} cores); {report['network']}; one epoch",
             "", "| run | rows | features | samples/s | vs memory | peak RssAnon | "
             "peak RssAnon / features |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        ratio = "" if base is None else f"{r['samples_per_s'] / base['samples_per_s']:.2f}x"
        lines.append(f"| {r['job']} | {r['rows']:,} | {r['feature_bytes'] / 2**30:.2f} GiB | "
                     f"{r['samples_per_s']:,.0f} | {ratio} | "
                     f"{r['peak_rss_anon_bytes'] / 2**20:,.0f} MiB | "
                     f"{r['peak_rss_anon_bytes'] / r['feature_bytes']:.3f} |")
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / f"{args.name}.json").write_text(json.dumps(report, indent=1) + "\n")
    (out_dir / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
