"""Single-layer vs multi-layer decision regions on the notes' 3-class data (003).

003: "Single-layer networks are limited to linear classification boundaries". On the three
Gaussian classes (deltaprop.data.datasets.blobs) straight boundaries suffice; on a 3-armed spiral
they do not, and a hidden layer is needed. Saves decision_regions.png, and 1-D / 2-D
loss-landscape slices of the trained spiral network along filter-normalized random
directions (Li et al. 2018, cited in 004) as landscape_1d.png and landscape_2d.png.
"""

from __future__ import annotations

from _common import parse_args, save, write_results

import deltaprop as dp
from deltaprop import landscape
from deltaprop.data.datasets import blobs, spiral
from deltaprop.data.preprocessing import one_hot
from deltaprop.training import train
from deltaprop.viz import (
    new_figure,
    plot_decision_regions,
    plot_landscape_1d,
    plot_landscape_2d,
)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], "docs/figures/decision_regions")
    epochs = 40 if args.quick else 300
    data = {"3 blobs (003)": blobs(300, seed=0), "3-armed spiral": spiral(100, 3, seed=0)}
    res: dict = {}
    fig = new_figure((9, 8))
    axes = fig.subplots(2, 2)
    for row, (name, d) in enumerate(data.items()):
        for col, hidden in enumerate(([], [64, 64])):
            net = dp.mlp([2, *hidden, 3], activation="relu", seed=0)
            h = train(net, d.X, one_hot(d.y, 3), epochs=epochs, batch_size=16,
                      learning_rate=0.05 if hidden else 0.1, optimizer="momentum", seed=0,
                      verbose=0)
            kind = "multi-layer 2-64-64-3" if hidden else "single layer 2-3"
            acc = h.epochs[-1]["accuracy"]
            res[f"{name} / {kind}"] = round(acc, 3)
            print(f"{name:16s} {kind:22s} training accuracy {acc:.3f}")
            plot_decision_regions(net, d.X, d.y, resolution=150, ax=axes[row, col],
                                  title=f"{name}: {kind}\naccuracy {acc:.3f}")
    save(fig, args.out, "decision_regions.png")
    d = data["3-armed spiral"]
    Y = one_hot(d.y, 3)
    a, L1 = landscape.slice_1d(net, d.X, Y, n_points=21 if args.quick else 61, seed=0)
    fig = new_figure((5.2, 3.8))
    ax = fig.subplots()
    for seed in range(3):
        a, L = landscape.slice_1d(net, d.X, Y, n_points=21 if args.quick else 61, seed=seed)
        plot_landscape_1d(a, L, ax=ax, label=f"direction {seed}", log=True,
                          title="spiral 2-64-64-3: 1-D loss slices")
    save(fig, args.out, "landscape_1d.png")
    a, b, L2 = landscape.slice_2d(net, d.X, Y, n_points=9 if args.quick else 31, seed=0)
    save(plot_landscape_2d(a, b, L2), args.out, "landscape_2d.png")
    mid = len(L1) // 2
    res["landscape_1d_loss_at_-1_0_+1"] = [round(float(v), 4) for v in (L1[0], L1[mid], L1[-1])]
    res["landscape_2d_min_max"] = [round(float(L2.min()), 4), round(float(L2.max()), 3)]
    print(f"1-D slice of the spiral net: loss {res['landscape_1d_loss_at_-1_0_+1']} at "
          f"α = -1, 0, +1; 2-D slice min/max {res['landscape_2d_min_max']}")
    write_results(args.out, "decision_regions", res)


if __name__ == "__main__":
    main()
