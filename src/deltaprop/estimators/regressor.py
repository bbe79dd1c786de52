"""The regressor: :class:`MLPRegressor`."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import validate_data

from deltaprop.data.chunks import is_chunked
from deltaprop.estimators.base import _BaseMLP, _dense, _stochastic


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multilayer-perceptron regressor, a drop-in for ``sklearn.neural_network.MLPRegressor``.

    Identity outputs with squared error by default (004 table); one output per target column.
    As in scikit-learn, ``loss`` comes first ("squared_error"; scikit-learn's "poisson" is not
    available, any other deltaprop loss name is). The other parameters and the attributes are
    those of :class:`MLPClassifier` (without ``classes_``); ``output_activation`` may be any
    deltaprop activation whose range covers the targets and ``early_stopping`` watches the
    validation R².

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0); X = rng.uniform(-1, 1, (200, 2)); y = X @ [1.0, -2.0]
    >>> reg = MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.99
    True
    """

    def __init__(self, loss: str = "squared_error", hidden_layer_sizes: Any = (100,),
                 activation: str = "relu", *, solver: str = "adam", alpha: float = 0.0001,
                 batch_size: int | str = "auto", learning_rate: str = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5, max_iter: int = 200,
                 shuffle: bool = True, random_state: Any = None, tol: float = 1e-4,
                 verbose: bool = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10, max_fun: int = 15000,
                 init: Any = None, output_activation: str | None = None, dropout: float = 0.0,
                 l1: float = 0.0, max_norm: float | None = None, clip_value: float | None = None,
                 clip_norm: float | None = None, schedule: Any = None,
                 layer_learning_rates: Any = None, sampling: str = "uniform",
                 augment: Any = None, dtype: str = "float32", callbacks: Any = None):
        # scikit-learn's MLPRegressor takes ``loss`` first; its other parameters are shared
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state,
            tol=tol, verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun, init=init,
            output_activation=output_activation, loss=loss, dropout=dropout, l1=l1,
            max_norm=max_norm, clip_value=clip_value, clip_norm=clip_norm, schedule=schedule,
            layer_learning_rates=layer_learning_rates, sampling=sampling, augment=augment,
            dtype=dtype, callbacks=callbacks)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _loss_name(self) -> str:
        if self.loss == "poisson":
            raise ValueError("loss='poisson' is not available: deltaprop's engine has no "
                             "Poisson deviance; use 'squared_error'")
        return "squared_error" if self.loss is None else self.loss

    def _output_activation(self) -> str | None:
        if self.output_activation is None and self._loss_name() in ("squared_error",
                                                                    "mean_squared_error"):
            return "identity"
        return self.output_activation

    def _val_key(self) -> str:
        return "val_r2"

    def _targets(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        X, y = validate_data(self, X, y, reset=reset, accept_sparse=["csr", "csc", "coo"],
                             multi_output=True, y_numeric=True,
                             dtype=[self._np_dtype(), np.float64, np.float32])
        X = np.asarray(_dense(X), dtype=self._np_dtype())
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        return X, np.asarray(Y, dtype=self._np_dtype())

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Fit the network to data ``X`` and targets ``y`` (n_samples,) or (n_samples, k).

        ``X`` may be a dask array or memmap, trained chunk by chunk (solvers 'sgd' and 'adam',
        docs/big-data.md).

        Returns
        -------
        self
        """
        if is_chunked(X):
            return self._fit_chunked(X, y, sample_weight, incremental=False)
        X, Y = self._targets(X, y, reset=True)
        return self._fit(X, Y, sample_weight, None)

    @available_if(_stochastic)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over (X, y), keeping the optimizer state (solvers 'sgd' and 'adam')."""
        if is_chunked(X):
            return self._fit_chunked(X, y, sample_weight, incremental=True)
        X, Y = self._targets(X, y, reset=not hasattr(self, "_network"))
        return self._fit(X, Y, sample_weight, None, incremental=True)

    def _fit_chunked(self, X: Any, y: Any, sample_weight: Any,
                     incremental: bool) -> MLPRegressor:
        """fit/partial_fit on chunked X: each chunk's targets made (rows, k) as it is read."""
        dtype = self._np_dtype()

        def encode(targets: Any) -> np.ndarray:
            targets = np.asarray(targets, dtype=dtype)
            return targets.reshape(len(targets), -1)

        data = self._chunked(X, y, sample_weight,
                             reset=not (incremental and hasattr(self, "_network")),
                             encode=encode)
        return self._fit(data, data.head()[1], None, None, incremental=incremental)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets, shape (n_samples,) for one output, else (n_samples, n_outputs)."""
        out = self._forward(X)
        return out.ravel() if out.shape[1] == 1 else out
