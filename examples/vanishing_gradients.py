"""Vanishing gradients at 10 layers: logistic + N(0, 1) vs Xavier, and ReLU + He (000 §9.3).

000 §9.3 blames "a combination of using the logistic activation function and initializing
weights with random normal values with zero mean and standard deviation of 1": the units
saturate and learning stalls; Xavier (logistic) and He (ReLU) initialization fix it
(000 §9.3.1). We measure, for 10 hidden layers of width 100, the saturated fraction per layer
(001 "Saturation of a neuron"), the gradient norm per layer at initialization, and training.
Saves vanishing_saturation.png, vanishing_grads.png, vanishing_histograms_*.png,
vanishing_training.png.
"""

from __future__ import annotations

import numpy as np
from _common import mnist_or_digits, parse_args, save, write_results

import deltaprop as dp
from deltaprop.data.preprocessing import Standardizer, one_hot
from deltaprop.inspection.diagnostics import gradient_norms, saturation_fractions
from deltaprop.inspection.monitors import GradientNormMonitor, SaturationMonitor
from deltaprop.training import train
from deltaprop.viz import new_figure, plot_activation_histograms, plot_gradient_norms

CONFIGS = {
    "logistic + N(0,1)": ("logistic", {"name": "normal", "std": 1.0}),
    "logistic + Xavier": ("logistic", "xavier_normal"),
    "ReLU + He": ("relu", "he_normal"),
}


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], "docs/figures/vanishing_gradients")
    n_train, epochs, seeds = (300, 2, 1) if args.quick else (5000, 20, 3)
    X, y, Xv, yv, _, name = mnist_or_digits(n_train, 2000, quick=args.quick)
    scaler = Standardizer().fit(X)
    X, Xv = scaler.transform(X), scaler.transform(Xv)
    Y, Yv = one_hot(y, 10), one_hot(yv, 10)
    probe = X[:256]
    sizes = [X.shape[1]] + [100] * 10 + [10]
    res: dict = {"data": name}
    fig_s = new_figure((6.4, 4))
    ax_s = fig_s.subplots()
    fig_g = new_figure((6.4, 4))
    ax_g = fig_g.subplots()
    fig_t = new_figure((6.4, 4))
    ax_t = fig_t.subplots()
    for label, (act, init) in CONFIGS.items():
        sat_seeds, grad_seeds = [], []
        for seed in range(seeds):
            net = dp.mlp(sizes, activation=act, init=init, seed=seed, dtype="float64")
            sat_seeds.append(list(saturation_fractions(net, probe).values()))
            grad_seeds.append(list(gradient_norms(net, probe, Y[:256]).values()))
        sat, grads = np.mean(sat_seeds, axis=0), np.mean(grad_seeds, axis=0)
        ratio = [g[0] / g[-1] for g in grad_seeds]
        net = dp.mlp(sizes, activation=act, init=init, seed=0)
        if not args.quick:  # 10-panel figures are slow to render; the tests cover them
            save(plot_activation_histograms(net, probe, title=f"{label}: hidden activations"),
                 args.out, f"vanishing_histograms_{act}_"
                 f"{'normal' if 'N(0' in label else 'scaled'}.png")
        h = train(net, X, Y, epochs=epochs, batch_size=32, learning_rate=0.05, seed=0,
                  validation_data=(Xv, Yv), verbose=0,
                  callbacks=[GradientNormMonitor(probe, Y[:256]), SaturationMonitor(probe)])
        if label == "logistic + N(0,1)" and not args.quick:
            save(plot_gradient_norms(h, title=f"{label}: gradient norm per layer"),
                 args.out, "vanishing_grads_training_normal.png")
        res[label] = {
            "saturated_fraction_per_hidden_layer": np.round(sat, 3).tolist(),
            "saturated_fraction_mean": round(float(np.nanmean(sat)), 3) if act != "relu"
            else None,
            "grad_norm_per_layer_at_init": [float(f"{g:.3g}") for g in grads],
            "first_to_last_grad_ratio_per_seed": [float(f"{r:.3g}") for r in ratio],
            "val_accuracy_per_epoch": [round(v, 3) for v in h["val_accuracy"]],
        }
        print(f"{label:18s} saturated (mean over hidden layers) "
              f"{res[label]['saturated_fraction_mean']}; ‖∇W¹‖/‖∇W¹¹‖ = "
              f"{', '.join(f'{r:.2g}' for r in ratio)}; val accuracy after {epochs} epochs "
              f"{h['val_accuracy'][-1]:.3f}")
        layers = np.arange(1, 12)
        if act != "relu":
            ax_s.plot(layers[:-1], sat, "o-", label=label)
        ax_g.plot(layers, grads, "o-", label=label)
        ax_t.plot(h["epoch"], h["val_accuracy"], "o-", label=label)
    ax_s.set(xlabel="hidden layer", ylabel="fraction saturated (within 5% of a limit)",
             title=f"saturation at initialization ({seeds} seeds)")
    ax_g.set(xlabel="layer (1 = input side)", ylabel="‖∂L/∂W‖ at initialization", yscale="log",
             title="gradient norm per layer at initialization")
    ax_t.set(xlabel="epoch", ylabel="validation accuracy", title=f"training on {name}")
    for ax in (ax_s, ax_g, ax_t):
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    save(fig_s, args.out, "vanishing_saturation.png")
    save(fig_g, args.out, "vanishing_grads.png")
    save(fig_t, args.out, "vanishing_training.png")
    write_results(args.out, "vanishing_gradients", res)


if __name__ == "__main__":
    main()
