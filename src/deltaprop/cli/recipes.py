"""Named training recipes for ``deltaprop train --recipe NAME`` and the per-data-set defaults.

A recipe is a documented set of ``deltaprop train`` options; any flag given on the command line
overrides it. ``deltaprop train --recipe list`` prints them. Each recipe was chosen by
measurement on the validation split (the test set only reports the final number);
docs/mnist-records.md has the runs, their numbers and the ablation.

The MNIST defaults (``deltaprop train --dataset mnist`` with no other option) treat it as the
image data it is: pixels kept in [0, 1] instead of per-pixel standardisation (border pixels
are always 0, so their standard deviation is 0), each digit deskewed and centred by its
moments (:class:`deltaprop.data.deskew.Deskewer`, +0.75 points), Adam with a decaying rate,
the best validation epoch's weights kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deltaprop.errors import InputError

__all__ = ["Recipe", "RECIPES", "DATASET_DEFAULTS", "get_recipe", "describe_recipes"]


@dataclass(frozen=True)
class Recipe:
    """A named set of ``deltaprop train`` options (argparse destinations -> values)."""

    name: str
    summary: str
    options: dict[str, Any] = field(default_factory=dict)
    reference: str = ""

    def describe(self) -> str:
        flags = " ".join(_flag(k, v) for k, v in self.options.items())
        text = f"{self.name}: {self.summary}\n    {flags}"
        return text + (f"\n    ({self.reference})" if self.reference else "")


def _flag(dest: str, value: Any) -> str:
    flag = "--" + dest.replace("_", "-")
    if value is True:
        return flag
    if isinstance(value, list | tuple):
        value = ",".join(str(v) for v in value)
    return f"{flag} {value}"


RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe(
        "mnist-default",
        "what `deltaprop train --dataset mnist` uses: 784-512-256-10 ReLU, Adam 1e-3 decaying "
        "by 0.8 per epoch, batch 128, 10 epochs, deskewed pixels in [0, 1]",
        {"dataset": "mnist", "layers": [512, 256], "activation": "relu", "optimizer": "adam",
         "learning_rate": 1e-3, "schedule": "exponential:gamma=0.8", "batch_size": 128,
         "epochs": 10, "preprocess": "deskew"}),
    Recipe(
        "mnist-mlp",
        "permutation-invariant MLP without augmentation: 784-1024-1024-10 ReLU, dropout 0.2 on "
        "the input and 0.5 on hidden units, max-norm 3, SGD with momentum 0.9, cosine decay, "
        "batch 128, deskewed images",
        {"dataset": "mnist", "layers": [1024, 1024], "activation": "relu",
         "input_dropout": 0.2, "dropout": 0.5, "max_norm": 3.0, "optimizer": "sgd",
         "momentum": 0.9, "learning_rate": 0.05, "schedule": "cosine", "batch_size": 128,
         "epochs": 90, "preprocess": "deskew"},
        "Srivastava et al. 2014, dropout + max-norm; 002 §4 input normalization, 002 §6"),
    Recipe(
        "mnist-elastic",
        "the same MLP trained on elastic + affine distortions drawn afresh for every batch "
        "(002 §6 'artificially expanding the data', Simard et al. 2003): alpha 34, sigma 4, "
        "shifts of up to 2 pixels, rotations of up to 10 degrees, of the deskewed images; "
        "lighter dropout, 240 epochs",
        {"dataset": "mnist", "layers": [1024, 1024], "activation": "relu",
         "input_dropout": 0.0, "dropout": 0.3, "max_norm": 3.0, "optimizer": "sgd",
         "momentum": 0.9, "learning_rate": 0.05, "schedule": "cosine", "batch_size": 128,
         "epochs": 240, "preprocess": "deskew", "augment": "elastic=34:4,shift=2,rotate=10"},
        "Simard, Steinkraus & Platt 2003; Cireşan et al. 2010"),
)}

#: The recipe whose options are the defaults for a data set (flags still override them).
DATASET_DEFAULTS = {"mnist": "mnist-default"}


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; an InputError listing the recipes otherwise."""
    recipe = RECIPES.get(name)
    if recipe is None:
        raise InputError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)} "
                         "(deltaprop train --recipe list)")
    return recipe


def describe_recipes() -> str:
    """The text of ``deltaprop train --recipe list``."""
    return "\n\n".join(r.describe() for r in RECIPES.values())
