"""Overfitting on a 1,000-image MNIST subset, with and without L2, dropout, early stopping (002 §5).

002 §5: trained on a few hundred or thousand samples, the training loss decays smoothly
towards zero while the test loss turns up: the network memorizes the training set. L2
regularization (002 §6), dropout (002 §6) and early stopping (002 §5: stop when the
validation score stops improving and keep the best weights) counter it.
Saves overfitting_curves.png and overfitting_summary.png.
"""

from __future__ import annotations

import numpy as np
from _common import mnist_or_digits, parse_args, save, write_results

import deltaprop as dp
from deltaprop.data.preprocessing import one_hot
from deltaprop.training import train
from deltaprop.viz import new_figure


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], "docs/figures/overfitting")
    n_train, n_val, epochs = (300, 600, 60) if args.quick else (1000, 10000, 150)
    X, y, Xv, yv, _, name = mnist_or_digits(n_train, n_val, quick=args.quick)
    Y, Yv = one_hot(y, 10), one_hot(yv, 10)
    width = 64 if args.quick else 256
    runs = {"no regularization": {}, "L2 (λ = 1e-3)": {"l2": 1e-3},
            "dropout p = 0.5": {"dropout": 0.5},
            "early stopping (patience 10)": {"early_stopping": True, "patience": 10}}
    res: dict = {"data": name, "n_train": len(X), "n_val": len(Xv)}
    fig = new_figure((11, 4))
    ax_l, ax_a = fig.subplots(1, 2)
    for label, opts in runs.items():
        opts = dict(opts)
        net = dp.mlp([X.shape[1], width, width, 10], activation="relu",
                     dropout=opts.pop("dropout", 0.0), seed=0)
        h = train(net, X, Y, epochs=epochs, batch_size=32, learning_rate=0.05,
                  optimizer="momentum", validation_data=(Xv, Yv), seed=0, verbose=0, **opts)
        val, loss = np.array(h["val_loss"]), np.array(h["loss"])
        best = int(np.argmin(val)) + 1
        acc = float(np.mean(net.predict(Xv) == yv))  # after restoring the best weights
        res[label] = {
            "epochs_run": len(h), "best_epoch": h.best_epoch, "argmin_val_loss_epoch": best,
            "min_val_loss": round(float(val.min()), 4), "final_val_loss": round(float(val[-1]), 4),
            "final_train_loss": round(float(loss[-1]), 4),
            "train_loss_at_best": round(float(loss[best - 1]), 4),
            "val_accuracy_of_returned_net": round(acc, 4), "stop_reason": h.stop_reason,
            "train_loss": [round(v, 4) for v in loss], "val_loss": [round(v, 4) for v in val]}
        r = res[label]
        print(f"{label:30s} epochs {r['epochs_run']:3d}; val loss min {r['min_val_loss']:.3f} "
              f"@ {best}, final {r['final_val_loss']:.3f}; train loss {r['train_loss_at_best']:.3f}"
              f" -> {r['final_train_loss']:.3f}; val acc {acc:.3f}")
        line, = ax_l.plot(h["epoch"], val, label=f"{label} (validation)")
        ax_l.plot(h["epoch"], loss, ":", color=line.get_color())
        ax_l.plot([best], [val.min()], "o", color=line.get_color())
        ax_a.plot(h["epoch"], h["val_accuracy"], color=line.get_color(), label=label)
    ax_l.set(yscale="log", xlabel="epoch", ylabel="loss (dotted: training)",
             title=f"{name}, {len(X)} training images")
    ax_a.set(xlabel="epoch", ylabel="validation accuracy")
    for ax in (ax_l, ax_a):
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small")
    save(fig, args.out, "overfitting_curves.png")
    fig = new_figure((6.4, 3.6))
    ax = fig.subplots()
    labels = list(runs)
    ax.barh(labels, [res[k]["val_accuracy_of_returned_net"] for k in labels])
    ax.set(xlabel="validation accuracy of the returned network", xlim=(0.5, 1.0))
    save(fig, args.out, "overfitting_summary.png")
    write_results(args.out, "overfitting", res)


if __name__ == "__main__":
    main()
