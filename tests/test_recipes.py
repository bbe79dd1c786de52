"""Named recipes and per-data-set defaults of ``deltaprop train`` (deltaprop.cli.recipes)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from deltaprop.cli.main import _train_defaults, build_parser
from deltaprop.cli.recipes import DATASET_DEFAULTS, RECIPES, describe_recipes, get_recipe
from deltaprop.errors import InputError


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "deltaprop", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_recipe_is_a_valid_set_of_train_options(name):
    args = build_parser(get_recipe(name).options).parse_args(["train"])
    for key, value in get_recipe(name).options.items():
        assert getattr(args, key) == value
    assert name in describe_recipes()


def test_flags_override_the_recipe_and_mnist_gets_its_defaults():
    parse = lambda argv: build_parser(_train_defaults(argv)).parse_args(argv)  # noqa: E731
    args = parse(["train", "--recipe", "mnist-mlp", "--epochs", "3", "--layers", "16"])
    assert (args.epochs, args.layers, args.input_dropout, args.max_norm) == (3, [16], 0.2, 3.0)
    assert parse(["train", "--dataset", "mnist"]).layers == \
        RECIPES[DATASET_DEFAULTS["mnist"]].options["layers"]
    assert parse(["train", "--dataset", "iris"]).layers == [128]  # the generic default
    assert _train_defaults(["train", "--recipe", "list"]) == "list"
    assert _train_defaults(["evaluate", "m.npz"]) is None
    with pytest.raises(InputError, match="unknown recipe 'nope'; choose one of"):
        get_recipe("nope")


def test_recipe_list_and_unknown_recipe_on_the_command_line(tmp_path):
    listed = run_cli("train", "--recipe", "list", cwd=tmp_path)
    assert listed.returncode == 0 and "mnist-mlp:" in listed.stdout
    assert "--input-dropout 0.2" in listed.stdout
    bad = run_cli("train", "--recipe", "nope", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("deltaprop: error: unknown recipe")


def test_a_recipe_with_overrides_trains_with_every_ingredient_flag(tmp_path):
    proc = run_cli("train", "--recipe", "mnist-mlp", "--dataset", "digits", "--layers", "32",
                   "--epochs", "2", "--batch-norm", "--input-noise", "0.05",
                   "--hidden-noise", "0.05", "--average", "0.9",
                   "--loss", "categorical_cross_entropy:label_smoothing=0.1",
                   "--schedule", "cosine:warmup=1", "--quiet", "--out", "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    options = json.loads((tmp_path / "run" / "run.json").read_text())
    options = options.get("options", options)
    assert options["recipe"] == "mnist-mlp" and options["input_dropout"] == 0.2
    assert options["layers"] == [32] and options["batch_norm"] is True
    import deltaprop as dp
    from deltaprop.data.pipeline import ModelInfo

    net = dp.load(tmp_path / "run" / "model.npz")
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds[:3] == ["GaussianNoise", "Dropout", "Dense"]
    assert "BatchNorm" in kinds
    # the recipe's deskewing (digits are 8x8 images) is stored with the model
    steps = ModelInfo.from_network(net).preprocessor.steps
    assert [(type(s).__name__, s.image_shape) for s in steps] == [("Deskewer", (8, 8))]
