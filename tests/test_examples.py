"""Every example script runs in quick mode, saves good PNGs, and its numbers hold the claims."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_plots import assert_good_png

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(p.stem for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def _run(name: str, out: Path) -> dict:
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "error"}
    proc = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--quick", "--out",
                           str(out)], capture_output=True, text=True, env=env, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "figure:" in proc.stdout and "numbers:" in proc.stdout
    pngs = sorted(out.glob("*.png"))
    assert pngs
    for png in pngs:
        assert_good_png(png)
    assert not list(out.glob(".tmp-*"))
    return json.loads((out / f"{name}.json").read_text(encoding="utf-8"))


def test_every_example_is_covered():
    assert set(SCRIPTS) == {"xor", "decision_regions", "mnist_templates", "vanishing_gradients",
                            "dying_relu", "overfitting", "batch_modes", "input_normalization"}


@pytest.mark.slow
@pytest.mark.parametrize("name", SCRIPTS)
def test_example_runs_in_quick_mode(name, tmp_path):
    res = _run(name, tmp_path)
    if name == "xor":
        assert res["sign_network_output"] == [-1, 1, 1, -1]
        assert res["relu_network_output"] == [0, 1, 1, 0]
        assert res["single_layer_correct"] <= 3
    elif name == "decision_regions":
        assert res["3-armed spiral / single layer 2-3"] < 0.7
        assert res["3-armed spiral / multi-layer 2-64-64-3"] > 0.9
    elif name == "vanishing_gradients":
        assert res["logistic + N(0,1)"]["saturated_fraction_mean"] > 0.5
        assert res["logistic + Xavier"]["saturated_fraction_mean"] < 0.05
    elif name == "dying_relu":
        assert res["lr=1.0 relu"]["dead"][0] > res["lr=1.0 leaky_relu"]["dead"][0] == 0.0
        for act in ("relu", "leaky_relu", "elu"):  # an empty panel says why
            diverged = all(a is None for a in res[f"lr=1.0 {act}"]["accuracy"])
            assert (act in res["panel_notes"]) == diverged
            assert not diverged or "diverged" in res["panel_notes"][act]
    elif name == "overfitting":
        plain = res["no regularization"]
        # validation loss rises after its minimum while the training loss keeps falling
        assert plain["final_val_loss"] > plain["min_val_loss"] * 1.05
        assert plain["final_train_loss"] < plain["train_loss_at_best"] / 5
        early = res["early stopping (patience 10)"]
        assert early["stop_reason"] == "early_stopping"
        assert early["best_epoch"] == early["argmin_val_loss_epoch"]
        assert early["epochs_run"] == early["best_epoch"] + 10
    elif name == "input_normalization":
        std = res["standardized (mean 0, var 1), lr 0.01"]["final_loss"]
        assert std < res["raw (0.1 … 1680), lr 0.01"]["final_loss"] / 3
