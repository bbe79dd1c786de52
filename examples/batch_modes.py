"""Online vs mini-batch vs full-batch gradient descent (002 §4 "Stochastic vs batch update").

002 §4: stochastic (online) learning "is computationally faster than batch (offline)
learning" on redundant data, but keeps "bouncing around" a minimum; batch learning converges
smoothly but slowly on large data sets. Same network, same learning rate, same number of
epochs: one update per sample, per 32 samples, or per epoch. Saves batch_modes.png.
"""

from __future__ import annotations

import time

from _common import mnist_or_digits, parse_args, save, write_results

import deltaprop as dp
from deltaprop.data.preprocessing import Standardizer, one_hot
from deltaprop.training import train
from deltaprop.viz import new_figure


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], "docs/figures/batch_modes")
    n_train, epochs = (300, 8) if args.quick else (2000, 30)
    X, y, Xv, yv, _, name = mnist_or_digits(n_train, 2000, quick=args.quick)
    s = Standardizer().fit(X)
    X, Xv = s.transform(X), s.transform(Xv)
    Y, Yv = one_hot(y, 10), one_hot(yv, 10)
    modes = {"online (batch 1)": 1, "mini-batch 32": 32, "full batch": "full"}
    res: dict = {"data": name, "n_train": len(X), "learning_rate": 0.01}
    fig = new_figure((11, 4))
    ax_e, ax_t = fig.subplots(1, 2)
    for label, bs in modes.items():
        net = dp.mlp([X.shape[1], 64, 10], activation="relu", seed=0)
        t0 = time.perf_counter()
        h = train(net, X, Y, epochs=epochs, batch_size=bs, learning_rate=0.01, seed=0,
                  validation_data=(Xv, Yv), verbose=0)
        wall = time.perf_counter() - t0
        times = [sum(h["time"][: i + 1]) for i in range(len(h))]
        res[label] = {"train_loss": [round(v, 4) for v in h["loss"]],
                      "final_train_loss": round(h["loss"][-1], 4),
                      "final_val_accuracy": round(h["val_accuracy"][-1], 4),
                      "updates_per_epoch": -(-len(X) // (len(X) if bs == "full" else bs)),
                      "seconds": round(wall, 2)}
        print(f"{label:18s} loss after {epochs} epochs {h['loss'][-1]:.4f}, val accuracy "
              f"{h['val_accuracy'][-1]:.3f}, {res[label]['updates_per_epoch']} updates/epoch, "
              f"{wall:.1f} s")
        ax_e.plot(h["epoch"], h["loss"], label=label)
        ax_t.plot(times, h["loss"], label=label)
    ax_e.set(xlabel="epoch", ylabel="training loss", yscale="log",
             title=f"{name}: same η = 0.01, per epoch")
    ax_t.set(xlabel="seconds (training only)", ylabel="training loss", yscale="log",
             title="per wall-clock second")
    for ax in (ax_e, ax_t):
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    save(fig, args.out, "batch_modes.png")
    write_results(args.out, "batch_modes", res)


if __name__ == "__main__":
    main()
