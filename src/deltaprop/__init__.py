"""deltaprop: multilayer perceptrons and backpropagation exactly as the lecture notes derive them.

>>> import deltaprop as dp
>>> net = dp.mlp([2, 2, 1], activation="logistic", seed=0)
"""

import sys

from deltaprop.engine import activations, init, losses
from deltaprop.engine.activations import register as register_activation
from deltaprop.engine.gradcheck import gradcheck
from deltaprop.engine.init import register as register_initializer
from deltaprop.engine.layers import BatchNorm, Dense, Dropout, GaussianNoise, Maxout
from deltaprop.engine.layers import register as register_layer
from deltaprop.engine.losses import register as register_loss
from deltaprop.engine.network import Network, load, mlp
from deltaprop.engine.perceptron import Perceptron
from deltaprop.errors import (
    DeltapropError,
    DivergenceError,
    InputError,
    MissingDependencyError,
    ModelFileError,
    NotDifferentiableError,
)
from deltaprop.inspection import diagnostics, monitors
from deltaprop.inspection.explain import explain
from deltaprop.training import History, Trainer, WeightAverage, train
from deltaprop.training.optimizers import register as register_optimizer
from deltaprop.training.schedules import register as register_schedule

__version__ = "0.2.0"

# Loaded on first use, so that `import deltaprop` needs only NumPy (scikit-learn, SciPy and
# matplotlib come in with the modules that need them).
_LAZY = {
    "MLPClassifier": ("deltaprop.estimators", "MLPClassifier"),
    "MLPRegressor": ("deltaprop.estimators", "MLPRegressor"),
    "load_estimator": ("deltaprop.estimators", "load_estimator"),
    "estimators": ("deltaprop.estimators", None),
    "model_selection": ("deltaprop.model_selection", None),
    "datasets": ("deltaprop.data.datasets", None),
    "preprocessing": ("deltaprop.data.preprocessing", None),
    "augmentation": ("deltaprop.data.augmentation", None),
    "plots": ("deltaprop.viz", None),
    "viz": ("deltaprop.viz", None),
    "landscape": ("deltaprop.inspection.landscape", None),
    "to_onnx": ("deltaprop.export", "to_onnx"),
    "export": ("deltaprop.export", None),
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'deltaprop' has no attribute {name!r}")
    import importlib

    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    if module_name == "deltaprop.estimators" and "skl2onnx" in sys.modules:
        # skl2onnx is loaded: make pipelines holding these estimators convertible right away
        # (otherwise importing deltaprop.export or register_skl2onnx() registers them)
        importlib.import_module("deltaprop.export.skl2onnx").register_if_imported()
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])

__all__ = [
    "register_activation",
    "register_loss",
    "register_initializer",
    "register_layer",
    "register_optimizer",
    "register_schedule",
    "activations",
    "init",
    "losses",
    "Dense",
    "Dropout",
    "Maxout",
    "GaussianNoise",
    "BatchNorm",
    "Network",
    "mlp",
    "gradcheck",
    "explain",
    "diagnostics",
    "monitors",
    "load",
    "Perceptron",
    "History",
    "Trainer",
    "train",
    "WeightAverage",
    "DeltapropError",
    "DivergenceError",
    "InputError",
    "MissingDependencyError",
    "ModelFileError",
    "NotDifferentiableError",
]
