"""The engine: the network and its math exactly as the notes derive them (imports only NumPy).

- :mod:`~deltaprop.engine.activations`: phi and phi' of 000 Table 1;
- :mod:`~deltaprop.engine.losses`: the losses of 000 §9 / 003 with their gradients and the
  fused output delta y_hat - y (000 Eq. 6f);
- :mod:`~deltaprop.engine.init`: the initializers of 000 Table 2 / 002 §4;
- :mod:`~deltaprop.engine.layers`: Dense (a = W h + b, h = phi(a)), Maxout, Dropout,
  GaussianNoise, BatchNorm;
- :mod:`~deltaprop.engine.network`: forward (keeping a^l, h^l), backward (delta^l, dW = delta h^T);
- :mod:`~deltaprop.engine.gradcheck`, :mod:`~deltaprop.engine.perceptron`.
"""

from deltaprop.engine import activations, init, losses
from deltaprop.engine.layers import BatchNorm, Dense, Dropout, GaussianNoise, Layer, Maxout
from deltaprop.engine.network import Network, ParamInfo, load, mlp
from deltaprop.engine.perceptron import Perceptron

__all__ = ["activations", "init", "losses", "Layer", "Dense", "Dropout", "Maxout",
           "GaussianNoise", "BatchNorm", "Network", "ParamInfo", "mlp", "load", "Perceptron"]
