"""Single-layer softmax network on MNIST: its weights are one template per digit (003).

003: "Weights of each output unit define a 'template' for the class" and the Hinton diagram
of the weights. Uses MNIST from DELTAPROP_DATA when present, else the 8×8 digits.
Saves mnist_templates.png and mnist_hinton.png.
"""

from __future__ import annotations

import numpy as np
from _common import mnist_or_digits, parse_args, save, write_results

import deltaprop as dp
from deltaprop.data.preprocessing import one_hot
from deltaprop.training import train
from deltaprop.viz import plot_hinton, plot_weight_templates


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], "docs/figures/mnist_templates")
    n_train, epochs = (1000, 3) if args.quick else (20000, 10)
    X, y, Xv, yv, shape, name = mnist_or_digits(n_train, 5000, quick=args.quick)
    net = dp.mlp([X.shape[1], 10], seed=0)  # softmax + categorical CE, no hidden layer
    h = train(net, X, one_hot(y, 10), epochs=epochs, batch_size=32, learning_rate=0.1,
              l2=1e-4, validation_data=(Xv, one_hot(yv, 10)), seed=0, verbose=0)
    acc = float(np.mean(net.predict(Xv) == yv))
    print(f"{name}: single-layer softmax, {len(X)} training images, {epochs} epochs: "
          f"validation accuracy {acc:.3f}")
    save(plot_weight_templates(net, image_shape=shape, labels=[str(i) for i in range(10)],
                               title=f"single-layer weights as templates ({name})"),
         args.out, "mnist_templates.png")
    W0 = net.layers[0].W[0].reshape(shape)
    save(plot_hinton(W0, title="Hinton diagram of the template of digit 0",
                     xlabel="pixel column", ylabel="pixel row"),
         args.out, "mnist_hinton.png")
    write_results(args.out, "mnist_templates", {
        "data": name, "n_train": len(X), "epochs": epochs, "val_accuracy": round(acc, 4),
        "final_loss": round(h.epochs[-1]["loss"], 4)})


if __name__ == "__main__":
    main()
