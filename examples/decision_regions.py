"""Single-layer vs multi-layer decision regions on the notes' 3-class data (003).

003: "Single-layer networks are limited to linear classification boundaries". On the three
Gaussian classes (deltaprop.datasets.blobs) straight boundaries suffice; on a 3-armed spiral
they do not, and a hidden layer is needed. Saves decision_regions.png.
"""

from __future__ import annotations

from _common import parse_args, save, write_results

import deltaprop as dp
from deltaprop.datasets import blobs, spiral
from deltaprop.plots import new_figure, plot_decision_regions
from deltaprop.preprocessing import one_hot
from deltaprop.training import train


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
    write_results(args.out, "decision_regions", res)


if __name__ == "__main__":
    main()
