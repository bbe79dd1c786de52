"""Rosenblatt's perceptron algorithm for one layer of step or sign units (001).

The perceptron ŷ = φ(w^T x) with augmented x_0 = 1 (001 Eq. 1) is a linear classifier, so the
algorithm converges on linearly separable data and cannot fit XOR (001 "A perceptron vs. the
perceptron algorithm", 004 §4.5). Backpropagation cannot train it because φ' = 0 almost
everywhere; the perceptron rule instead moves w towards each misclassified sample:
w ← w + η (y − ŷ) x.
"""

from __future__ import annotations

import numpy as np

from deltaprop.checks import as_generator, check_array
from deltaprop.engine.layers import Dense
from deltaprop.errors import InputError

__all__ = ["Perceptron"]


class Perceptron:
    """A single layer of step (0/1) or sign (±1) units trained by the perceptron rule.

    Parameters
    ----------
    n_in, n_out : int
        Inputs and output units (one independent perceptron per output).
    activation : {"sign", "step"}
    learning_rate : float
        η of the update w ← w + η (y − ŷ) x.
    max_epochs : int
        Passes over the data before giving up (non-separable data never converges).
    seed : int, optional
        Seeds the order in which samples are visited each epoch.

    Attributes
    ----------
    layer : Dense
        The weights ``layer.W`` (n_out, n_in) and ``layer.b``.
    converged_ : bool
        Whether an epoch ended with no mistakes.
    errors_ : list of int
        Number of misclassified samples in each epoch.

    Examples
    --------
    >>> import numpy as np, deltaprop as dp
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]]); y = np.array([-1, -1, -1, 1])  # AND
    >>> p = dp.Perceptron(2, activation="sign", seed=0).fit(X, y)
    >>> p.converged_, p.predict(X).tolist()
    (True, [-1, -1, -1, 1])
    """

    def __init__(self, n_in: int, n_out: int = 1, activation: str = "sign",
                 learning_rate: float = 1.0, max_epochs: int = 100, seed: int | None = None):
        if activation not in ("sign", "step"):
            raise InputError(f"the perceptron uses 'sign' or 'step' units, got {activation!r}")
        if not learning_rate > 0:
            raise InputError(f"learning_rate must be > 0, got {learning_rate}")
        self.layer = Dense(n_in, n_out, activation=activation, init="zeros")
        self.learning_rate = float(learning_rate)
        self.max_epochs = int(max_epochs)
        self.rng = as_generator(seed)
        self.converged_ = False
        self.errors_: list[int] = []

    @property
    def labels(self) -> tuple[float, float]:
        return (-1.0, 1.0) if self.layer.activation.name == "sign" else (0.0, 1.0)

    def _targets(self, y) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 1:
            y = y[:, None]
        if y.shape[1] != self.layer.n_out:
            raise InputError(f"y has {y.shape[1]} outputs, the perceptron has {self.layer.n_out}")
        bad = ~np.isin(y, self.labels)
        if bad.any():
            r, c = (int(i) for i in np.argwhere(bad)[0])
            raise InputError(f"{self.layer.activation.name} perceptron targets must be "
                             f"{self.labels}; y[{r}, {c}] = {y[r, c]:g}")
        return y

    def fit(self, X, y) -> Perceptron:
        """Run the perceptron algorithm until an epoch has no mistakes or ``max_epochs``."""
        X = check_array(X, name="X", n_features=self.layer.n_in, dtype=np.float64)
        Y = self._targets(y)
        if len(X) != len(Y):
            raise InputError(f"X has {len(X)} rows but y has {len(Y)}")
        self.errors_ = []
        for _ in range(self.max_epochs):
            mistakes = 0
            for n in self.rng.permutation(len(X)):
                y_hat = self.layer.forward(X[n : n + 1])[0]
                miss = Y[n] - y_hat  # nonzero only where the unit is wrong
                if miss.any():
                    mistakes += 1
                    self.layer.W += self.learning_rate * np.outer(miss, X[n])
                    self.layer.b += self.learning_rate * miss
            self.errors_.append(mistakes)
            if mistakes == 0:
                self.converged_ = True
                break
        else:
            self.converged_ = False
        return self

    def predict(self, X) -> np.ndarray:
        X = check_array(X, name="X", n_features=self.layer.n_in, dtype=np.float64)
        h = self.layer.forward(X)
        return h[:, 0] if h.shape[1] == 1 else h
