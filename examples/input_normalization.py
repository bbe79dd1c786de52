"""The effect of input normalization (002 §4 "Normalizing the inputs").

002 §4: inputs should have mean close to 0 ("if the training inputs are strictly positive,
the weights of a neuron in the first hidden layer can only increase together or decrease
together") and equal variances ("so that the neurons will learn at approximately the same
speed"). The wine data's 13 features range from 0.1 to 1680. We train the same network on
raw, on shifted-but-scaled (all positive, mean 5) and on standardized inputs.
Saves input_normalization.png.
"""

from __future__ import annotations

import numpy as np
from _common import parse_args, save, write_results

import deltaprop as dp
from deltaprop.data.datasets import wine
from deltaprop.data.preprocessing import Standardizer, one_hot
from deltaprop.errors import DivergenceError
from deltaprop.training import train
from deltaprop.viz import new_figure


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], "docs/figures/input_normalization")
    epochs = 30 if args.quick else 200
    d = wine()
    Y = one_hot(d.y, 3)
    Z = Standardizer().fit_transform(d.X)
    inputs = {"raw (0.1 … 1680)": d.X, "scaled, mean 5 (all positive)": Z + 5.0,
              "standardized (mean 0, var 1)": Z}
    res: dict = {}
    fig = new_figure((11, 4))
    ax_l, ax_a = fig.subplots(1, 2)
    for label, X in inputs.items():
        for lr in (0.01, 0.001):
            net = dp.mlp([13, 32, 3], activation="tanh", seed=0, dtype="float64")
            try:
                h = train(net, X, Y, epochs=epochs, batch_size=16, learning_rate=lr, seed=0,
                          verbose=0)
            except DivergenceError as exc:
                res[f"{label}, lr {lr}"] = {"diverged": str(exc)[:80]}
                print(f"{label:30s} lr {lr}: diverged")
                continue
            acc = np.array(h["accuracy"])
            reach = int(np.argmax(acc >= 0.95)) + 1 if (acc >= 0.95).any() else None
            res[f"{label}, lr {lr}"] = {"final_loss": round(h["loss"][-1], 4),
                                        "final_accuracy": round(float(acc[-1]), 4),
                                        "first_epoch_accuracy_0.95": reach}
            print(f"{label:30s} lr {lr}: loss {h['loss'][-1]:.4f}, accuracy {acc[-1]:.3f}, "
                  f"first epoch with accuracy >= 0.95: {reach}")
            if lr == 0.01:
                ax_l.plot(h["epoch"], h["loss"], label=label)
                ax_a.plot(h["epoch"], acc, label=label)
    ax_l.set(xlabel="epoch", ylabel="training loss", yscale="log",
             title="wine, 13-32-3 tanh, η 0.01")
    ax_a.set(xlabel="epoch", ylabel="training accuracy", ylim=(0, 1.02))
    for ax in (ax_l, ax_a):
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    save(fig, args.out, "input_normalization.png")
    write_results(args.out, "input_normalization", res)


if __name__ == "__main__":
    main()
