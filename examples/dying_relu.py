"""Dying ReLU vs leaky ReLU and ELU (000 §9.3.2).

000 §9.3.2: for negative inputs a ReLU's activation and derivative are zero; "If this happens
for all inputs, the unit is effectively removed from the network" (dying ReLU). Leaky ReLU and
ELU keep a nonzero derivative there. We train a 2-64-64-64-3 network on the 3-armed spiral at
three learning rates and record, after every epoch, the fraction of dead units (φ' = 0 on all
training inputs) and of inactive units (a ≤ 0 on all inputs). Saves dying_relu.png; a panel
whose runs all diverged says so instead of staying empty.
"""

from __future__ import annotations

import numpy as np
from _common import parse_args, save, write_results

import deltaprop as dp
from deltaprop.data.datasets import spiral
from deltaprop.data.preprocessing import one_hot
from deltaprop.errors import DivergenceError
from deltaprop.inspection.monitors import DeadReLUMonitor, layer_series
from deltaprop.training import train
from deltaprop.viz import new_figure

ACTS = ("relu", "leaky_relu", "elu")


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], "docs/figures/dying_relu")
    epochs, rates, seeds = (10, (0.05, 1.0), 1) if args.quick else (30, (0.05, 0.3, 1.0), 3)
    d = spiral(100 if args.quick else 200, 3, seed=0)
    X, Y = d.X, one_hot(d.y, 3)
    res: dict = {}
    fig = new_figure((10, 3.8))
    axes = fig.subplots(1, len(ACTS), sharey=True)
    for lr in rates:
        for ai, act in enumerate(ACTS):
            dead, inactive, acc = [], [], []
            for seed in range(seeds):
                net = dp.mlp([2, 64, 64, 64, 3], activation=act, seed=seed)
                mon = DeadReLUMonitor(X)
                try:
                    h = train(net, X, Y, epochs=epochs, batch_size=16, learning_rate=lr,
                              seed=seed, verbose=0, callbacks=[mon])
                except DivergenceError:
                    dead.append(np.nan)
                    inactive.append(np.nan)
                    acc.append(np.nan)
                    continue
                series = layer_series(h, "dead_relu")
                per_epoch = np.mean([v for v in series.values()], axis=0)
                dead.append(float(per_epoch[-1]))
                inactive.append(float(np.mean([v[-1] for v in
                                               layer_series(h, "inactive").values()])))
                acc.append(h.epochs[-1]["accuracy"])
                if lr == max(rates):
                    start = np.mean([mon.initial[f"dead_relu/layer{i}"] for i in series])
                    axes[ai].plot([0, *h["epoch"]], [start, *per_epoch], lw=1,
                                  label=f"seed {seed}")
            res[f"lr={lr} {act}"] = {"dead": np.round(dead, 3).tolist(),
                                     "inactive": np.round(inactive, 3).tolist(),
                                     "accuracy": np.round(acc, 3).tolist()}
            print(f"lr {lr:<5} {act:10s} dead {np.round(dead, 3).tolist()} inactive "
                  f"{np.round(inactive, 3).tolist()} accuracy {np.round(acc, 3).tolist()}"
                  + ("  (nan: diverged)" if np.isnan(acc).any() else ""))
    notes = {}
    for ax, act in zip(axes, ACTS, strict=True):
        ax.set(title=f"{act}, lr {max(rates)}", xlabel="epoch")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize="x-small")
        else:  # every seed diverged at this rate: say so rather than leave the panel blank
            runs = f"all {seeds} seeds" if seeds > 1 else "its one seed"
            notes[act] = f"diverged at lr {max(rates)}\n({runs}):\nno curve to draw"
            ax.text(0.5, 0.5, notes[act], transform=ax.transAxes, ha="center", va="center",
                    fontsize="small", color="0.3")
            ax.set_xlim(0, epochs)
    res["panel_notes"] = notes
    axes[0].set_ylabel("fraction of dead hidden units")
    save(fig, args.out, "dying_relu.png")
    write_results(args.out, "dying_relu", res)


if __name__ == "__main__":
    main()
