"""Print one forward and one backward pass step by step, as 001's grounded example does.

:func:`explain` runs the engine on a copy of the network (float64) and prints what it computed:
x^(l), a^(l), h^(l) (forward, 000 Eq. 7), δ^(l) (backward, 000 Eq. 8a-8d, 001 "Generalized
backpropagation"), the gradients ∇^(l) = x^(l) (δ^(l+1))^T, the updated transfer matrices
𝕎^(l) ← 𝕎^(l) − η ∇^(l) and the new output. Matrices appear in 001's transfer layout (bias row
first, one column per unit: 𝕎 = [b; W^T]) and in deltaprop's own view, W of shape
(n_out, n_in) and b. Layers are numbered as in 001: the input is layer 0 and 𝕎^(l) maps
layer l to layer l + 1 (``network.layers[l]`` holds 𝕎^(l)).

Layers between the weighted ones are shown where they act: dropout and Gaussian noise (the
identity when predicting, 002 §6) and batch normalisation (its running statistics, x̂, γ, β;
Ioffe & Szegedy 2015), whose γ and β get gradients and updates like W and b.

On 001's grounded example it prints the notes' numbers, with two entries corrected: the notes
print the third row of the new 𝕎^(0) as [0.460, 0.610] and the last entry of the new 𝕎^(1)
as −0.447; −0.2 + 0.060 = −0.140, 0.3 + 0.010 = 0.310 and 0.1 + 0.347 = +0.447 are right, and
only they give the notes' new output 0.722.

Examples
--------
>>> from deltaprop.inspection.explain import explain, grounded_example
>>> net, x, y = grounded_example()
>>> text = explain(net, x, y, lr=1.0)
>>> "[0.722]" in text
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deltaprop.engine.layers import BatchNorm, Dense, Dropout, GaussianNoise, Maxout
from deltaprop.engine.network import Network
from deltaprop.errors import InputError, NotDifferentiableError

__all__ = ["explain", "grounded_example", "xor_sign_example", "xor_relu_example",
           "example_text"]


def _num(v: float) -> str:
    v = float(v)
    return f"{0.0 if abs(v) < 5e-4 else v:.3f}"  # no "-0.000"


def _vec(v: np.ndarray) -> str:
    return "[" + ", ".join(_num(x) for x in np.ravel(v)) + "]"


def _mat(M: np.ndarray, indent: int) -> str:
    M = np.atleast_2d(M)
    cells = [[_num(x) for x in row] for row in M]
    width = max(len(c) for row in cells for c in row)
    pad = " " * indent
    lines = ["  ".join(c.rjust(width) for c in row) for row in cells]
    return ("\n" + pad).join(lines)


def _rows(label: str, M: np.ndarray, indent: int = 4) -> str:
    """One vector for a single sample; a matrix with one row per sample for a batch."""
    M = np.atleast_2d(M)
    if M.shape[0] == 1:
        return f"{' ' * indent}{label} = {_vec(M[0])}"
    head = f"{' ' * indent}{label} (one row per sample) ="
    return head + "\n" + " " * (indent + 2) + _mat(M, indent + 2)


def _matrix_block(label: str, M: np.ndarray, indent: int = 4) -> str:
    prefix = f"{' ' * indent}{label} = "
    return prefix + _mat(M, len(prefix))


def _transfer(layer: Any, W: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    bias = np.zeros(W.shape[0]) if b is None else b
    return np.vstack([bias, W.T])  # 001: 𝕎 = [b; W^T], shape (n_in + 1, n_out)


def _architecture(net: Any) -> str:
    parts = [str(net.n_inputs)]
    for layer in net.layers:
        if isinstance(layer, Dropout):
            parts.append(f"dropout p={layer.p:g}")
        elif isinstance(layer, GaussianNoise):
            parts.append(f"noise σ={layer.std:g}")
        elif isinstance(layer, BatchNorm):
            parts.append("batch norm")
        elif isinstance(layer, Maxout):
            parts.append(f"{layer.n_out} (maxout × {layer.pieces} pieces)")
        else:
            parts.append(f"{layer.n_out} ({layer.activation.name})")
    return " → ".join(parts)


def _between(net: Any) -> dict[int, list[Any]]:
    """{k: the layers (dropout, noise, batch norm) between h(k) and trainable layer k}."""
    found: dict[int, list[Any]] = {}
    k = 0
    for layer in net.layers:
        if layer.trainable:
            k += 1
        else:
            found.setdefault(k, []).append(layer)
    return found


def _forward_note(layer: Any, k: int) -> list[str]:
    """What a layer between h(k) and x(k) did in the forward pass (prediction mode)."""
    if isinstance(layer, Dropout):
        return [f"    dropout p={layer.p:g} on h({k}): the identity when predicting "
                "(inverted dropout scales the kept units by 1/(1 − p) in training, 002 §6)"]
    if isinstance(layer, GaussianNoise):
        return [f"    noise σ={layer.std:g} on h({k}): the identity when predicting (adds "
                f"N(0, {layer.std:g}²) to each unit in training, 002 §6)"]
    return [f"    batch norm on h({k}) (Ioffe & Szegedy 2015), with the running statistics "
            "when predicting (the batch's in training):",
            _rows("  running mean μ", layer.running_mean),
            _rows("  running variance σ²", layer.running_var),
            _rows(f"  x̂ = (h({k}) − μ) / √(σ² + {layer.eps:g})", layer.x_hat),
            _rows("  γ", layer.gamma),
            _rows("  β", layer.beta),
            _rows(f"  h({k}) ← γ x̂ + β", layer.h)]


def _backward_note(layer: Any, k: int) -> str:
    """How a layer between h(k) and x(k) passes the error back."""
    if isinstance(layer, Dropout):
        return (f"    dropout p={layer.p:g} between h({k}) and x({k}): passes the error "
                "unchanged here (no mask when predicting; in training δ is masked and scaled "
                "like h)")
    if isinstance(layer, GaussianNoise):
        return (f"    noise σ={layer.std:g} between h({k}) and x({k}): passes the error "
                "unchanged (∂(h + noise)/∂h = 1)")
    return (f"    batch norm between h({k}) and x({k}): multiplies the error by γ / √(σ² + ε) "
            f"= {_vec(layer.gamma / np.sqrt(layer.running_var + layer.eps))} (running "
            "statistics; in training it also "
            "flows through the batch mean and variance)")


def _pieces_block(label: str, M: np.ndarray, pieces: int, indent: int = 4) -> str:
    """A maxout layer's pre-activations or errors, one row per unit, one column per piece."""
    if len(M) != 1:
        return _rows(label, M, indent)
    return _matrix_block(f"{label} (unit × piece)", M[0].reshape(-1, pieces), indent)


def explain(network: Any, x: Any, y: Any = None, lr: float = 1.0) -> str:
    """Step-by-step printout of one forward pass, one backward pass and one update.

    Parameters
    ----------
    network : Network
        Left unchanged: the passes run on a float64 copy.
    x : array-like, shape (n_in,) or (N, n_in)
        One sample (as in 001) or a batch (gradients are then batch means, 001 "Batch
        training").
    y : array-like, shape (n_out,) or (N, n_out), optional
        Target(s). Without it only the forward pass is shown.
    lr : float
        Learning rate η (001 calls it ρ) of the single gradient-descent update.

    Returns
    -------
    str
        Plain text with the sections "Forward pass", "Backward pass", "Gradients",
        "Update (η = ...)" and "New output", numbers to 3 decimals.
    """
    if not np.isfinite(lr) or lr <= 0:
        raise InputError(f"lr must be a positive number, got {lr!r}")
    net = network.copy(dtype="float64")
    X = np.atleast_2d(np.asarray(x, dtype=np.float64))
    Y = None if y is None else np.asarray(y, dtype=np.float64).reshape(len(X), -1)
    layers = net.trainable_layers
    out: list[str] = []
    w = out.append
    w(f"network: {_architecture(net)}; loss: {net.loss.name}")
    n = len(X)
    w(f"input x: {n} sample{'s' if n > 1 else ''}" + ("" if Y is None else
                                                       ", targets y given") + f"; η = {lr:g}")
    w("")
    w("Transfer matrices (001 layout: bias row first, one column per unit; "
      "deltaprop's W = 𝕎[1:]^T, b = 𝕎[0])")
    for k, layer in enumerate(layers):
        w(_matrix_block(f"𝕎({k})", _transfer(layer, layer.W, layer.b)))
    w("")
    # -- forward ------------------------------------------------------------------------
    w("Forward pass (000 Eq. 7a-7i; 001 x^(l+1) = φ(𝕎^(l)T [1; x^(l)]))")
    yhat = net.forward(X)
    between = _between(net)
    for k, layer in enumerate(layers):
        for extra in between.get(k, []):
            out.extend(_forward_note(extra, k))
        w(_rows(f"x({k}) = [1; h({k})]", np.hstack([np.ones((n, 1)), layer.h_in])))
        if isinstance(layer, Maxout):
            w(_pieces_block(f"a({k + 1}) = 𝕎({k})^T x({k})", layer.a, layer.pieces))
            w(_rows(f"h({k + 1}) = maxout(a({k + 1})): each unit's largest piece (000 Table 1)",
                    layer.h))
        else:
            w(_rows(f"a({k + 1}) = 𝕎({k})^T x({k})", layer.a))
            w(_rows(f"h({k + 1}) = {layer.activation.name}(a({k + 1}))", layer.h))
    w(_rows("output ŷ", yhat))
    if Y is None:
        return "\n".join(out)
    loss0 = net.loss_value(Y)
    w(f"    loss L(ŷ, y) = {loss0:.3f}  ({net.loss.name}"
      + (", mean over the batch)" if n > 1 else ")"))
    w("")
    # -- backward -----------------------------------------------------------------------
    w("Backward pass (000 Eq. 8a-8d; 001 δ^(l) = ψ(x^(l)) ∘ (𝕎^(l) δ^(l+1))[1+])")
    try:
        net.backward(Y)
    except NotDifferentiableError as exc:
        w(f"    backpropagation is impossible here: {exc}")
        w("    A step or sign unit has derivative 0 wherever it is defined, so every error "
          "δ = φ'(a) ⊙ ... is 0 and gradient descent cannot change a weight (000 §9.1: "
          "such nets were built by hand until differentiable units made backprop work).")
        return "\n".join(out)
    m = len(layers)
    if net.fused:
        how = f"ŷ − y ({net.output_activation.name} output + {net.loss.name}: canonical pair)"
    else:
        how = f"φ'(a({m})) ⊙ ∇L(ŷ)  (000 Eq. 8a)"
    w(_rows(f"δ({m}) = {how}", layers[-1].delta))
    for k in range(m - 1, 0, -1):
        below = layers[k - 1]
        back = f"(𝕎({k})[1+] δ({k + 1}))"
        for extra in reversed(between.get(k, [])):
            w(_backward_note(extra, k))
        if isinstance(below, Maxout):
            w(_pieces_block(f"δ({k}) = {back} on each unit's winning piece of a({k}), 0 on "
                            "the others (maxout', 000 Table 1)", below.delta, below.pieces))
        else:
            w(_rows(f"δ({k}) = {below.activation.name}'(a({k})) ∘ {back}  [𝕎[1+]: bias row "
                    f"dropped, = W^T]", below.delta))
    w("")
    # -- gradients ----------------------------------------------------------------------
    w("Gradients (001 ∇^(l) = x^(l) (δ^(l+1))^T; 000 Eq. 6a-6b)"
      + ("; means over the batch" if n > 1 else ""))
    for k in range(m - 1, -1, -1):
        layer = layers[k]
        w(_matrix_block(f"∇({k}) = x({k}) δ({k + 1})^T",
                        _transfer(layer, layer.dW, layer.db)))
        w(_matrix_block(f"  deltaprop dW ({layer.dW.shape[0]}×{layer.dW.shape[1]})", layer.dW,
                        indent=4))
        if layer.db is not None:
            w(f"      deltaprop db = {_vec(layer.db)}")
        for extra in between.get(k, []):
            if isinstance(extra, BatchNorm):
                w(f"    batch norm on h({k}): ∂L/∂γ = mean(∂L/∂h ⊙ x̂) = {_vec(extra.dgamma)}, "
                  f"∂L/∂β = mean(∂L/∂h) = {_vec(extra.dbeta)}")
    w("")
    # -- update -------------------------------------------------------------------------
    w(f"Update (η = {lr:g}): 𝕎^(l) ← 𝕎^(l) − η ∇^(l)  (000 Eq. 8f-8h, 9)")
    for p, g in zip(net.parameters(), net.gradients(), strict=True):
        p -= lr * g
    for k in range(m - 1, -1, -1):
        layer = layers[k]
        w(_matrix_block(f"𝕎({k})", _transfer(layer, layer.W, layer.b)))
        w(_matrix_block(f"  deltaprop W ({layer.W.shape[0]}×{layer.W.shape[1]})", layer.W))
        if layer.b is not None:
            w(f"      deltaprop b = {_vec(layer.b)}")
        for extra in between.get(k, []):
            if isinstance(extra, BatchNorm):
                w(f"    batch norm on h({k}): γ = {_vec(extra.gamma)}, β = {_vec(extra.beta)}")
    w("")
    # -- new output ---------------------------------------------------------------------
    new = net.forward(X)
    w("New output (forward pass with the updated weights)")
    w(_rows("ŷ", new))
    w(_rows("target y", Y))
    w(f"    loss {loss0:.3f} → {net.loss_value(Y):.3f}")
    return "\n".join(out)


def grounded_example() -> tuple[Any, np.ndarray, np.ndarray]:
    """001 "A grounded example": 2-2-1 logistic net, x = [0, 1], target 1, neg-log-loss.

    Returns ``(network, x, y)`` with 𝕎^(0) = [[0.4, 0.6], [0.7, −0.4], [−0.2, 0.3]] and
    𝕎^(1) = [[−0.3], [0.5], [0.1]] (bias rows first).
    """
    W0 = [[0.4, 0.6], [0.7, -0.4], [-0.2, 0.3]]
    W1 = [[-0.3], [0.5], [0.1]]
    net = Network([Dense.from_transfer(W0, "logistic"), Dense.from_transfer(W1, "logistic")],
                  loss="binary_cross_entropy", dtype="float64")
    return net, np.array([0.0, 1.0]), np.array([1.0])


_XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def xor_sign_example() -> tuple[Any, np.ndarray, np.ndarray]:
    """000 Eq. 1: XOR built by hand from sign perceptrons; targets ±1 (forward only)."""
    hidden = Dense.from_augmented([[1.5, -1, -1], [-0.5, 1, 1]], activation="sign")  # Eq. 1a-b
    output = Dense.from_augmented([[-1, 1, 1]], activation="sign")  # Eq. 1c
    net = Network([hidden, output], loss="squared_error", dtype="float64")
    return net, _XOR_X.copy(), np.array([[-1.0], [1.0], [1.0], [-1.0]])


def xor_relu_example() -> tuple[Any, np.ndarray, np.ndarray]:
    """004 §4.5: g(x) = w^T max(0, W x + b) with W = [[1, 1], [1, 1]], b = [0, −1], w = [1, −2].

    The exact solution is a stationary point: every δ and gradient is 0. To show a nonzero
    backward pass the output weight w_2 is perturbed from −2 to −1.5.
    """
    hidden = Dense.from_augmented([[0.0, 1, 1], [-1.0, 1, 1]], activation="relu")
    output = Dense.from_augmented([[0.0, 1.0, -1.5]], activation="identity")
    net = Network([hidden, output], loss="squared_error", dtype="float64")
    return net, _XOR_X.copy(), np.array([[0.0], [1.0], [1.0], [0.0]])


def example_text(name: str, lr: float | None = None) -> str:
    """The worked examples of the notes, explained: "grounded" (001) or "xor" (000 Eq. 1a-1c,
    then 004 §4.5's ReLU network)."""
    if name == "grounded":
        net, x, y = grounded_example()
        head = ("001 'A grounded example of feedforward and backpropagation': x = [0, 1], "
                "target 1, logistic units, neg-log-loss, ρ = 1.\nThe notes print the third row "
                "of the new 𝕎(0) as [0.460, 0.610] and the last entry of the new 𝕎(1) as "
                "−0.447;\nthe correct values are [−0.140, 0.310] and +0.447, and only they "
                "give the notes' new output 0.722.")
        return head + "\n\n" + explain(net, x, y, lr=1.0 if lr is None else lr)
    if name == "xor":
        net, x, y = xor_sign_example()
        part1 = ("Part 1. XOR by hand with sign perceptrons (000 Eq. 1a-1c). Hidden unit 1 "
                 "fires unless both inputs are 1,\nhidden unit 2 fires if at least one is; "
                 "the output fires only if both do.\n\n" + explain(net, x, y, lr=lr or 0.5))
        net, x, y = xor_relu_example()
        part2 = ("Part 2. The ReLU network of 004 §4.5, output weight w_2 perturbed from −2 to "
                 "−1.5 so that backprop has an error to\npropagate: max(0, W x + b) maps "
                 "(0,1) and (1,0) to the same point, so a linear output separates XOR.\n"
                 "Only (1, 1) is misclassified (ŷ = 0.5), so only its row carries an error "
                 "back.\n\n" + explain(net, x, y, lr=lr or 0.1))
        return part1 + "\n\n" + "=" * 78 + "\n\n" + part2
    raise InputError(f"unknown example {name!r}; choose 'grounded' or 'xor'")
