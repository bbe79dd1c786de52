"""deltaprop vs PyTorch vs scikit-learn on MNIST MLPs: ``python benchmarks/run.py [--quick]``.

Every measurement runs in its own process (``benchmarks/workers.py``) so that imports, thread
pools and peak memory do not leak between frameworks. Writes ``results/<name>.json`` and
``results/<name>.md`` (name ``latest`` unless ``--name``) and prints the markdown.
See benchmarks/README.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402

TRAIN_TARGETS = {1: 8.0, 32: 2.0, 128: 1.5, 1024: 1.1}  # × PyTorch's faster loop, same run
SKLEARN_TARGET, ROOFLINE_TARGET, TTA_TARGET, RECIPE_TARGET = 1.5, 0.85, 0.8, 1.5
TORCH_LOOPS = ("torch", "torch_slices")  # shuffled gathers per batch; contiguous slices
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def _job(job: dict, env: dict, log) -> dict | None:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, os.path.join(HERE, "workers.py"), json.dumps(job)],
                          capture_output=True, text=True, env=env)
    what = " ".join(str(job.get(k, "")) for k in ("kind", "framework", "arch"))
    if proc.returncode != 0:
        log(f"  {what}: FAILED\n{proc.stderr[-2000:]}")
        return None
    log(f"  {what}: {time.perf_counter() - t:.0f} s")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _have(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def measure(args, log=print) -> dict:
    env = dict(os.environ)
    unset = {v: env.pop(v) for v in OPENBLAS_VARS if v in env and not args.keep_openblas_env}
    frameworks = [f for f in args.frameworks.split(",") if f]
    if not _have("torch") and any(f in frameworks for f in TORCH_LOOPS):
        log("torch is not installed (pip install -e '.[bench]'); skipping it")
        frameworks = [f for f in frameworks if f not in TORCH_LOOPS]
    slices = common.SMOKE_SLICES if args.smoke else (
        common.QUICK_SLICES if args.quick else common.SLICES)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    archs = args.archs.split(",")
    res: dict = {"command": " ".join(["python", "benchmarks/run.py", *sys.argv[1:]]),
                 "date": datetime.datetime.now().isoformat(timespec="seconds"),
                 "machine": {"cores": os.cpu_count(), "platform": platform.platform(),
                             "processor": platform.processor(), "python": platform.python_version(),
                             "unset_env": unset, **common.cpu_info()},
                 "settings": {"learning_rate": common.LEARNING_RATE, "momentum": common.MOMENTUM,
                              "slices": slices, "epochs": args.epochs, "data": args.data,
                              "repeats": args.repeats, "recipe_epochs": args.recipe_epochs},
                 "throughput": {}, "accuracy": {}}
    log("training and inference throughput")
    # Round-robin repeats (every framework once per round), then each number is the best of
    # its rounds: a transient load from another process hurts one round, not the result.
    for rnd in range(args.repeats):
        roof = _job({"kind": "roofline", "archs": archs, "batch": 1024}, env, log)
        if roof is not None:  # the best GEMM rate of all rounds: the strictest roofline
            best = res.setdefault("roofline", roof)
            for arch, r in roof["archs"].items():
                if r["roofline_flops_s"] > best["archs"][arch]["roofline_flops_s"]:
                    best["archs"][arch] = r
        for arch in archs:
            for fw in frameworks:
                out = _job({"kind": "throughput", "framework": fw, "arch": arch,
                            "data": args.data, "batch_sizes": batch_sizes, "slices": slices,
                            "epochs": args.epochs}, env, log)
                if out is not None:
                    _merge(res["throughput"].setdefault(arch, {}), fw, out, rnd)
    if args.accuracy_epochs > 0:
        log(f"time to {args.target:.0%} test accuracy")
        tp = res["throughput"].get("784-256-256-10", {}).get("deltaprop", {}).get("batch", {})
        threads = tp.get("128", {}).get("blas_threads", os.cpu_count())
        # Round-robin like the throughput jobs; the fastest run of each framework is kept.
        for _ in range(args.repeats):
            for fw in [f for f in frameworks if f in ("deltaprop", "torch")]:
                job = {"kind": "accuracy", "framework": fw, "arch": "784-256-256-10",
                       "data": args.data, "batch_size": 128, "max_epochs": args.accuracy_epochs,
                       "target": args.target, "blas_threads": threads}
                out = _job(job, env, log)
                if out is not None:
                    _merge_accuracy(res["accuracy"], fw, out)
    if args.recipe_epochs > 0:
        log("regularised recipe (dropout, max-norm), batch 128")
        for _ in range(args.repeats):
            for fw in [f for f in frameworks if f in ("deltaprop", "torch")]:
                job = {"kind": "recipe", "framework": fw, "data": args.data,
                       "slice": slices[128], "epochs": args.epochs,
                       "max_epochs": args.recipe_epochs, "targets": [0.98, 0.99]}
                out = _job(job, env, log)
                if out is not None:
                    old = res.setdefault("recipe", {}).get(fw)
                    if old is None or out["samples_per_s"] > old["samples_per_s"]:
                        res["recipe"][fw] = out
    res["targets"] = targets(res)
    return res


def _merge(by_fw: dict, fw: str, out: dict, rnd: int) -> None:
    """Keep the best throughput of the rounds per batch size (all rounds stay in "rounds")."""
    old = by_fw.get(fw)
    out["rounds"] = [] if old is None else old["rounds"]
    # a copy: the best-of merge below must not rewrite this round's own numbers
    out["rounds"].append({"round": rnd, "batch": copy.deepcopy(out["batch"]),
                          "inference_samples_per_s": out["inference_samples_per_s"]})
    if old is not None:
        for bs, b in old["batch"].items():
            if b["samples_per_s"] > out["batch"][bs]["samples_per_s"]:
                out["batch"][bs] = b
        out["inference_samples_per_s"] = max(out["inference_samples_per_s"],
                                             old["inference_samples_per_s"])
        out["peak_rss_mb"] = max(out["peak_rss_mb"], old["peak_rss_mb"])
    by_fw[fw] = out


def _merge_accuracy(by_fw: dict, fw: str, out: dict) -> None:
    """Keep the fastest run to the target (one that missed it counts as slowest); every run's
    time stays in "runs_s"."""
    old = by_fw.get(fw)
    runs = ([] if old is None else old["runs_s"]) + [out["time_s"]]

    def seconds(run):
        return math.inf if run["time_s"] is None else run["time_s"]

    best = out if old is None or seconds(out) < seconds(old) else old
    best["runs_s"] = runs
    by_fw[fw] = best


def _rate(res, arch, fw, bs):
    try:
        return res["throughput"][arch][fw]["batch"][str(bs)]["samples_per_s"]
    except (KeyError, TypeError):
        return None


def targets(res) -> list[dict]:
    """Every target of the issue, with the measured ratio and whether it is met."""
    rows = []
    for arch in res["throughput"]:
        for bs, goal in TRAIN_TARGETS.items():
            dp, sk = (_rate(res, arch, f, bs) for f in ("deltaprop", "sklearn"))
            pt = max((r for r in (_rate(res, arch, f, bs) for f in TORCH_LOOPS) if r),
                     default=None)
            if dp and pt:
                rows.append({"target": f"{arch} batch {bs}: training ≥ {goal}× PyTorch "
                                       "(its faster loop)",
                             "value": dp / pt, "goal": goal, "met": dp / pt >= goal})
            if dp and sk:
                rows.append({"target": f"{arch} batch {bs}: training ≥ {SKLEARN_TARGET}× sklearn",
                             "value": dp / sk, "goal": SKLEARN_TARGET,
                             "met": dp / sk >= SKLEARN_TARGET})
        roof = (res.get("roofline") or {}).get("archs", {}).get(arch)
        dp = _rate(res, arch, "deltaprop", 1024)
        if roof and dp:
            frac = dp * common.ARCHS[arch].flops_per_sample / roof["roofline_flops_s"]
            rows.append({"target": f"{arch} batch 1024: ≥ {ROOFLINE_TARGET:.0%} of GEMM roofline",
                         "value": frac, "goal": ROOFLINE_TARGET, "met": frac >= ROOFLINE_TARGET})
    acc = res.get("accuracy", {})
    dp, pt = acc.get("deltaprop"), acc.get("torch")
    if dp and pt and dp["time_s"] and pt["time_s"]:
        r = dp["time_s"] / pt["time_s"]
        rows.append({"target": f"time to 98 % ≤ {TTA_TARGET}× PyTorch", "value": r,
                     "goal": TTA_TARGET, "met": r <= TTA_TARGET})
    if dp and pt:
        r = dp["peak_rss_mb"] / pt["peak_rss_mb"]
        rows.append({"target": "peak RSS ≤ PyTorch's", "value": r, "goal": 1.0, "met": r <= 1.0})
    rec = res.get("recipe", {})
    dp, pt = rec.get("deltaprop"), rec.get("torch")
    if dp and pt:
        r = dp["samples_per_s"] / pt["samples_per_s"]
        rows.append({"target": f"regularised recipe batch 128: training ≥ {RECIPE_TARGET}× "
                               "PyTorch", "value": r, "goal": RECIPE_TARGET,
                     "met": r >= RECIPE_TARGET})
    return rows


def _fmt(x, digits=0) -> str:
    return "–" if x is None else f"{x:,.{digits}f}"


def markdown(res) -> str:
    lines = [f"Run {res['date']}: `{res['command']}`", ""]
    m = res["machine"]
    pools = (res.get("roofline") or {}).get("threadpools", [])
    blas = "; ".join(f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')} kernel,"
                     f" {p.get('num_threads')} threads, {os.path.basename(p.get('filepath', ''))})"
                     for p in pools if p.get("user_api") == "blas")
    torch_info = (res.get("roofline") or {}).get("torch")
    cpu = m.get("model") or m["processor"] or m["platform"]
    lines.append(f"Machine: {m['cores']} cores, {cpu} (vendor {m.get('vendor') or 'unknown'}); "
                 f"deltaprop's subnormal guard: {m.get('deltaprop_denormals') or 'unknown'} "
                 "(ftz: flush-to-zero flags set while training); numpy BLAS: "
                 f"{blas or 'unknown'}"
                 + (f"; torch {torch_info['version']} ({torch_info['cpu_capability']}, MKL)"
                    if torch_info else ""))
    if m["unset_env"]:
        lines.append(f"Unset for this run: {m['unset_env']}")
    lines.append("")
    for arch, fws in res["throughput"].items():
        names = [f for f in ("deltaprop", *TORCH_LOOPS, "sklearn") if f in fws]
        lines.append(f"**{arch}** ({common.ARCHS[arch].activation} hidden, softmax + CE), "
                     "training samples/s (median of epochs after warm-up, best of "
                     f"{res['settings']['repeats']} rounds):")
        lines.append("")
        head = ["batch", *names, "× torch", "× sklearn", "dp BLAS threads"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for bs in TRAIN_TARGETS:
            r = {f: _rate(res, arch, f, bs) for f in names}
            if r.get("deltaprop") is None:
                continue
            pt = max((r[f] for f in TORCH_LOOPS if r.get(f)), default=None)
            vs = [r["deltaprop"] / pt if pt else None,
                  r["deltaprop"] / r["sklearn"] if r.get("sklearn") else None]
            th = fws["deltaprop"]["batch"][str(bs)]["blas_threads"]
            lines.append("| " + " | ".join([str(bs), *(_fmt(r[f]) for f in names),
                                            *(_fmt(v, 2) for v in vs), str(th)]) + " |")
        inf = " · ".join(f"{f} {_fmt(fws[f]['inference_samples_per_s'])}" for f in names)
        rss = " · ".join(f"{f} {_fmt(fws[f]['peak_rss_mb'])}" for f in names)
        lines += ["", f"Inference samples/s (10,000 test images): {inf}.  "
                      f"Peak RSS MiB: {rss}."]
        roof = (res.get("roofline") or {}).get("archs", {}).get(arch)
        dp = _rate(res, arch, "deltaprop", 1024)
        if roof and dp:
            fps = common.ARCHS[arch].flops_per_sample
            lines.append(f"GEMM roofline at batch 1024: {roof['roofline_flops_s'] / 1e9:.1f} "
                         f"GFLOP/s ({roof['best']}); deltaprop {dp * fps / 1e9:.1f} GFLOP/s "
                         f"= {dp * fps / roof['roofline_flops_s']:.0%} ({fps:,} FLOP/sample).")
        lines.append("")
    acc = res.get("accuracy", {})
    if acc:
        lines.append("**Time to 98 % test accuracy**, 784-256-256-10, batch 128, SGD momentum "
                     f"0.9, lr {common.LEARNING_RATE}, same initial weights (fastest of "
                     f"{res['settings']['repeats']} runs):")
        lines.append("")
        lines += ["| framework | reached | epochs | seconds | peak RSS MiB |",
                  "|---|---|---|---|---|"]
        for fw, a in acc.items():
            if a:
                lines.append(f"| {fw} | {a['reached']} | {a['epochs']} | {_fmt(a['time_s'], 1)} "
                             f"| {_fmt(a['peak_rss_mb'])} |")
        lines.append("")
    rec = res.get("recipe", {})
    if rec:
        r = common.RECIPE
        epochs = max(len(a["curve"]) for a in rec.values())
        schedule = res["settings"].get("recipe_epochs", epochs)
        lines.append(f"**Regularised recipe** (`deltaprop train --recipe mnist-mlp`): "
                     f"{'-'.join(map(str, r['sizes']))} ReLU, dropout {r['input_dropout']} on "
                     f"the input and {r['hidden_dropout']} on hidden layers, max-norm "
                     f"{r['max_norm']}, SGD momentum {r['momentum']}, lr {r['learning_rate']} "
                     f"cosine-decayed over {schedule} epochs (--recipe-epochs), "
                     f"batch {r['batch_size']}, "
                     "deskewed images (PyTorch: nn.Dropout, torch.renorm after each step, "
                     "CosineAnnealingLR); each framework stopped once it reached both targets "
                     f"(the longest run: {epochs} epochs):")
        lines.append("")
        lines += ["| framework | samples/s | time to 98 % (epochs) | time to 99 % (epochs) | "
                  "best test accuracy |", "|---|---|---|---|---|"]
        for fw, a in rec.items():
            cells = []
            for target in ("0.98", "0.99"):
                hit = a["reached"].get(target)
                cells.append("not reached" if hit is None else
                             f"{hit['time_s']:.1f} s ({hit['epochs']})")
            best = max(c["test_accuracy"] for c in a["curve"])
            lines.append(f"| {fw} | {_fmt(a['samples_per_s'])} | {cells[0]} | {cells[1]} | "
                         f"{best:.4f} after {len(a['curve'])} epochs |")
        lines.append("")
    lines += ["**Targets** (ratios within this run):", "", "| target | measured | met |",
              "|---|---|---|"]
    for t in res["targets"]:
        lines.append(f"| {t['target']} | {t['value']:.2f} | {'yes' if t['met'] else '**no**'} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller slices, fewer epochs")
    p.add_argument("--smoke", action="store_true", help="tiny sizes (the test suite's run)")
    p.add_argument("--frameworks", default="deltaprop,torch,torch_slices,sklearn")
    p.add_argument("--archs", default=",".join(common.ARCHS))
    p.add_argument("--batch-sizes", default="1,32,128,1024")
    p.add_argument("--epochs", type=int, default=None, help="timed epochs (default 3)")
    p.add_argument("--repeats", type=int, default=None,
                   help="round-robin rounds of the throughput and accuracy jobs, best kept "
                        "(default 3, 1 with --quick/--smoke)")
    p.add_argument("--accuracy-epochs", type=int, default=None,
                   help="max epochs of the time-to-accuracy run (0 skips it)")
    p.add_argument("--target", type=float, default=0.98)
    p.add_argument("--recipe-epochs", type=int, default=None,
                   help="epochs of the regularised recipe's cosine schedule and most epochs of its "
                   "time-to-accuracy run (default 90, as mnist-mlp; 0 skips)")
    p.add_argument("--data", default="mnist", choices=["mnist", "synthetic"])
    p.add_argument("--keep-openblas-env", action="store_true",
                   help=f"do not unset {' and '.join(OPENBLAS_VARS)} for the workers")
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    p.add_argument("--name", default=None, help="result file name (default: latest / quick)")
    args = p.parse_args(argv)
    if args.epochs is None:
        args.epochs = 3
    if args.repeats is None:
        args.repeats = 1 if (args.quick or args.smoke) else 3
    if args.accuracy_epochs is None:
        args.accuracy_epochs = 0 if args.smoke else (12 if args.quick else 40)
    if args.recipe_epochs is None:
        args.recipe_epochs = 0 if args.smoke else (3 if args.quick else common.RECIPE["epochs"])
    res = measure(args, log=lambda s: print(s, file=sys.stderr, flush=True))
    name = args.name or ("smoke" if args.smoke else "quick" if args.quick else "latest")
    os.makedirs(args.out, exist_ok=True)
    text = markdown(res)
    for ext, content in (("json", json.dumps(res, indent=1)), ("md", text)):
        path = os.path.join(args.out, f"{name}.{ext}")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write(content)
        os.replace(path + ".tmp", path)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
