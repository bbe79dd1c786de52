"""explain() prints 001's grounded example with the notes' (corrected) numbers."""

from __future__ import annotations

import argparse
import re

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.cli.explain import add_cli, run_cli
from deltaprop.errors import InputError
from deltaprop.inspection.explain import _vec, explain, grounded_example

SECTIONS = ["Forward pass", "Backward pass", "Gradients", "Update (η = 1)", "New output"]


def _section(text: str, name: str) -> str:
    start = text.index(name)
    later = [text.index(s, start + 1) for s in SECTIONS if s in text[start + 1:]]
    return text[start: min(later) if later else len(text)]


def test_grounded_example_prints_the_notes_values():
    net, x, y = grounded_example()
    W_before = net.layers[0].W.copy()
    text = explain(net, x, y, lr=1.0)
    assert [text.index(s) for s in SECTIONS] == sorted(text.index(s) for s in SECTIONS)
    fwd = _section(text, "Forward pass")
    assert "x(0) = [1; h(0)] = [1.000, 0.000, 1.000]" in fwd
    assert "[0.550, 0.711]" in fwd and "[1.000, 0.550, 0.711]" in fwd
    assert "output ŷ = [0.512]" in fwd
    back = _section(text, "Backward pass")
    assert "= [-0.488]" in back and "= [-0.060, -0.010]" in back
    grads = _section(text, "Gradients")
    assert re.search(r"∇\(1\) = x\(1\) δ\(2\)\^T = -0\.488\s+-0\.269\s+-0\.347", grads)
    assert re.search(r"-0\.060\s+-0\.010\s+0\.000\s+0\.000\s+-0\.060\s+-0\.010", grads)
    upd = _section(text, "Update (η = 1)")
    # 𝕎(1) = [0.188, 0.769, +0.447] (the notes misprint −0.447)
    assert re.search(r"𝕎\(1\) = 0\.188\s+0\.769\s+0\.447", upd)
    # third row of 𝕎(0) is [−0.140, 0.310] (the notes misprint [0.460, 0.610])
    assert re.search(r"𝕎\(0\) =\s+0\.460\s+0\.610\s+0\.700\s+-0\.400\s+-0\.140\s+0\.310", upd)
    assert "deltaprop W (2×2)" in upd and "deltaprop b = [0.460, 0.610]" in upd
    assert "ŷ = [0.722]" in _section(text, "New output")
    np.testing.assert_array_equal(net.layers[0].W, W_before)  # the caller's net is untouched


def test_forward_only_without_targets_and_bad_lr():
    net, x, _ = grounded_example()
    text = explain(net, x)
    assert "output ŷ = [0.512]" in text and "Backward pass" not in text
    with pytest.raises(InputError, match="lr"):
        explain(net, x, [1.0], lr=0.0)


def _cli(argv):
    parser = argparse.ArgumentParser(prog="deltaprop")
    add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    assert args.func is run_cli
    return args.func(args)


def test_cli_examples_need_no_input(capsys):
    assert _cli(["explain", "--example", "grounded"]) == 0
    out = capsys.readouterr().out
    assert "ŷ = [0.722]" in out and "-0.140" in out
    assert _cli(["explain", "--example", "xor"]) == 0
    out = capsys.readouterr().out
    assert "backpropagation is impossible here" in out  # sign units, 000 Eq. 1
    assert "loss 0.031 → 0.015" in out  # one step on the perturbed 004 ReLU net helps


def test_cli_with_a_model_file(tmp_path, capsys):
    net, _, _ = grounded_example()
    net.save(tmp_path / "g.npz")
    assert _cli(["explain", "--model", str(tmp_path / "g.npz"), "--x", "0,1", "--y", "1"]) == 0
    assert "ŷ = [0.722]" in capsys.readouterr().out
    with pytest.raises(InputError, match="--example"):
        _cli(["explain"])
    with pytest.raises(InputError, match="numbers"):
        _cli(["explain", "--model", str(tmp_path / "g.npz"), "--x", "a,b"])


def test_explain_prints_maxout_units_and_dropout_layers():
    net = dp.Network([dp.Maxout(2, 3, pieces=2, rng=0), dp.Dropout(0.5),
                      dp.Dense(3, 2, activation="softmax", rng=1)], dtype="float64")
    out = explain(net, [0.5, -1.0], [1, 0])
    assert "2 → 3 (maxout × 2 pieces) → dropout p=0.5 → 2 (softmax)" in out
    assert "h(1) = maxout(a(1))" in out and "identity(a" not in out
    assert out.count("dropout p=0.5") >= 3  # architecture, forward and backward
    # a(1) and δ(1) laid out as 3 units × 2 pieces, h(1) with one value per unit
    net.forward(np.array([[0.5, -1.0]]))
    h1 = net.layers[0].h[0]
    assert "h(1) = maxout(a(1)): each unit's largest piece (000 Table 1) = [" + ", ".join(
        f"{v:.3f}" for v in h1) + "]" in out
    delta_line = next(line for line in out.splitlines() if line.strip().startswith("δ(1)"))
    assert "(unit × piece)" in delta_line
    block = out[out.index(delta_line):].splitlines()[:3]
    assert all(len(row.split("=")[-1].split()) == 2 for row in block)


def test_explain_prints_noise_and_batch_norm_layers():
    bn = dp.BatchNorm(3)
    net = dp.Network([dp.GaussianNoise(0.1), dp.Maxout(2, 3, pieces=2, rng=0), bn,
                      dp.Dense(3, 2, activation="softmax", rng=1)], dtype="float64")
    net.forward(np.random.default_rng(0).normal(size=(8, 2)), training=True)  # running stats
    bn.gamma[...] = [1.5, 0.5, 2.0]
    out = explain(net, [0.5, -1.0], [1, 0], lr=0.5)
    assert "2 → noise σ=0.1 → 3 (maxout × 2 pieces) → batch norm → 2 (softmax)" in out
    assert "noise σ=0.1 on h(0): the identity when predicting" in out
    assert f"running mean μ = {_vec(bn.running_mean)}" in out
    assert "γ = [1.500, 0.500, 2.000]" in out and "β = [0.000, 0.000, 0.000]" in out
    copy = net.copy()
    copy.forward(np.array([[0.5, -1.0]]))
    assert f"x̂ = (h(1) − μ) / √(σ² + 1e-05) = {_vec(copy.layers[2].x_hat[0])}" in out
    assert "batch norm between h(1) and x(1): multiplies the error by γ / √(σ² + ε)" in out
    copy.backward(np.array([[1.0, 0.0]]))
    assert f"∂L/∂γ = mean(∂L/∂h ⊙ x̂) = {_vec(copy.layers[2].dgamma)}" in out
    new_gamma = copy.layers[2].gamma - 0.5 * copy.layers[2].dgamma
    assert f"batch norm on h(1): γ = {_vec(new_gamma)}" in out  # updated like W and b
