"""The :class:`Dataset` container every loader returns (re-exported by
``deltaprop.data.datasets``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Dataset"]


@dataclass
class Dataset:
    """Features ``X`` (N, d), targets ``y`` and what they mean.

    ``y`` holds integer class indices (N,) for classification (``target_names[y[i]]`` is the
    class name) and float targets (N,) or (N, k) for regression (``target_names`` are the
    target column names).
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target_names: list[str]
    task: str
    name: str
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    description: str = ""
    schema: Any = field(default=None, repr=False)
    #: (height, width) when the rows are images (digits, MNIST): what image augmentation needs.
    image_shape: tuple[int, int] | None = None

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_classes(self) -> int | None:
        return len(self.target_names) if self.task == "classification" else None

    def __repr__(self) -> str:
        test = "" if self.X_test is None else f", test={self.X_test.shape}"
        return f"Dataset({self.name!r}, {self.task}, X={self.X.shape}{test})"

