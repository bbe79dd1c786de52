"""deltaprop: multilayer perceptrons and backpropagation exactly as the lecture notes derive them.

>>> import deltaprop as dp
>>> net = dp.mlp([2, 2, 1], activation="logistic", seed=0)
"""

from deltaprop import activations, diagnostics, init, losses, monitors
from deltaprop.errors import (
    DeltapropError,
    DivergenceError,
    InputError,
    MissingDependencyError,
    ModelFileError,
    NotDifferentiableError,
)
from deltaprop.explain import explain  # binds the function over the submodule of the same name
from deltaprop.gradcheck import gradcheck
from deltaprop.layers import Dense, Dropout, Maxout
from deltaprop.modelfile import load
from deltaprop.network import Network, mlp
from deltaprop.perceptron import Perceptron
from deltaprop.training import History, Trainer, train

__version__ = "0.1.0"

# Loaded on first use, so that `import deltaprop` needs only NumPy (scikit-learn, SciPy and
# matplotlib come in with the modules that need them).
_LAZY = {
    "MLPClassifier": ("deltaprop.estimators", "MLPClassifier"),
    "MLPRegressor": ("deltaprop.estimators", "MLPRegressor"),
    "load_estimator": ("deltaprop.estimators", "load_estimator"),
    "estimators": ("deltaprop.estimators", None),
    "model_selection": ("deltaprop.model_selection", None),
    "datasets": ("deltaprop.datasets", None),
    "preprocessing": ("deltaprop.preprocessing", None),
    "augmentation": ("deltaprop.augmentation", None),
    "plots": ("deltaprop.plots", None),
    "landscape": ("deltaprop.landscape", None),
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
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])

__all__ = [
    "activations",
    "init",
    "losses",
    "Dense",
    "Dropout",
    "Maxout",
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
    "DeltapropError",
    "DivergenceError",
    "InputError",
    "MissingDependencyError",
    "ModelFileError",
    "NotDifferentiableError",
]
