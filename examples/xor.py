"""XOR by hand and by training (000 §9.1 Eq. 1, 004 §4.5, 001).

By hand: the sign-perceptron network of 000 Eq. 1 and the ReLU network of 004 §4.5 solve XOR
with hand-picked weights. By training: a 2-2-1 logistic network trained by backpropagation
(full-batch gradient descent) solves it from most random starts; a single layer cannot.
Saves xor_regions.png and xor_curves.png and prints the numbers.
"""

from __future__ import annotations

import numpy as np
from _common import parse_args, save, write_results

import deltaprop as dp
from deltaprop.inspection.explain import xor_relu_example, xor_sign_example
from deltaprop.training import train
from deltaprop.viz import new_figure, plot_decision_regions

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], "docs/figures/xor")
    epochs, seeds = (600, 4) if args.quick else (3000, 20)
    res: dict = {}
    net, x, _ = xor_sign_example()
    res["sign_network_output"] = net.forward(x)[:, 0].tolist()
    relu, x, _ = xor_relu_example()
    relu.layers[-1].W[0, 1] = -2.0  # the exact 004 §4.5 solution
    res["relu_network_output"] = relu.forward(x)[:, 0].tolist()
    print("by hand: sign net (000 Eq. 1) ->", res["sign_network_output"],
          "| ReLU net (004 §4.5) ->", res["relu_network_output"])

    solved, histories, nets = [], [], []
    for seed in range(seeds):
        n = dp.mlp([2, 2, 1], activation="logistic", seed=seed, dtype="float64")
        h = train(n, X, Y, epochs=epochs, batch_size="full", learning_rate=2.0, seed=seed,
                  verbose=0)
        ok = bool(np.array_equal(n.predict(X), Y[:, 0].astype(int)))
        solved.append(ok)
        histories.append(h["loss"])
        nets.append(n)
    res["trained_2_2_1_solved"] = f"{sum(solved)}/{seeds}"
    res["final_losses"] = [round(h[-1], 4) for h in histories]
    single = dp.mlp([2, 1], seed=0, dtype="float64")
    train(single, X, Y, epochs=epochs, batch_size="full", learning_rate=1.0, verbose=0)
    res["single_layer_correct"] = int((single.predict(X) == Y[:, 0]).sum())
    print(f"trained 2-2-1 logistic nets that solve XOR: {res['trained_2_2_1_solved']} "
          f"(lr 2, {epochs} full-batch epochs); single layer gets "
          f"{res['single_layer_correct']}/4 right")

    fig = new_figure((10, 3.6))
    axes = fig.subplots(1, 3)
    good = nets[solved.index(True)] if any(solved) else nets[0]
    plot_decision_regions(relu, X, Y[:, 0], resolution=120, ax=axes[0],
                          title="ReLU net by hand (004 §4.5)")
    plot_decision_regions(good, X, Y[:, 0], resolution=120, ax=axes[1],
                          title="2-2-1 logistic, trained")
    plot_decision_regions(single, X, Y[:, 0], resolution=120, ax=axes[2],
                          title="single layer, trained")
    save(fig, args.out, "xor_regions.png")
    fig = new_figure((5.5, 3.8))
    ax = fig.subplots()
    for ok, h in zip(solved, histories, strict=True):
        ax.plot(h, color="tab:green" if ok else "tab:red", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (binary CE)")
    ax.set_title("2-2-1 logistic on XOR: green solved, red stuck")
    save(fig, args.out, "xor_curves.png")
    write_results(args.out, "xor", res)


if __name__ == "__main__":
    main()
