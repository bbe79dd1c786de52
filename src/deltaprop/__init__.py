"""deltaprop: multilayer perceptrons and backpropagation exactly as the lecture notes derive them.

>>> import deltaprop as dp
>>> net = dp.mlp([2, 2, 1], activation="logistic", seed=0)
"""

from deltaprop import activations, init, losses
from deltaprop.errors import (
    DeltapropError,
    DivergenceError,
    InputError,
    ModelFileError,
    NotDifferentiableError,
)
from deltaprop.gradcheck import gradcheck
from deltaprop.layers import Dense, Dropout, Maxout
from deltaprop.modelfile import load
from deltaprop.network import Network, mlp
from deltaprop.perceptron import Perceptron
from deltaprop.training import History, Trainer, train

__version__ = "0.1.0"

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
    "load",
    "Perceptron",
    "History",
    "Trainer",
    "train",
    "DeltapropError",
    "DivergenceError",
    "InputError",
    "ModelFileError",
    "NotDifferentiableError",
]
