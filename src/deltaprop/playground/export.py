"""The "download model" file: a model.npz that ``deltaprop evaluate``/``predict`` and
``deltaprop.load`` accept.

The network is saved with :meth:`deltaprop.Network.save` and the same extras ``deltaprop
train`` stores (:class:`deltaprop.data.pipeline.ModelInfo`): task, class names, the fitted
preprocessing and the target scaling. The preprocessing chain starts with the playground's
:class:`~deltaprop.data.features.FeatureMap`, so the file takes the two *raw*
coordinates x1, x2: ``deltaprop predict model.npz points.csv`` with two columns per row gives
the page's predictions. The playground state (the URL query) is kept in the options.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from deltaprop.data.pipeline import ModelInfo

__all__ = ["model_info", "model_bytes"]


def model_info(task: str, class_names: list[str] | None, target_name: str, dataset: str,
               seed: int, preprocessor: Any, target_scaler: Any,
               options: dict[str, Any]) -> ModelInfo:
    """The CLI's record of a model trained on raw (x1, x2) inputs."""
    targets = list(class_names) if class_names is not None else [target_name]
    return ModelInfo(task, None if class_names is None else list(class_names), targets,
                     dataset, seed, 2, preprocessor, target_scaler, None, options)


def model_bytes(network: Any, info: ModelInfo) -> bytes:
    """The bytes of ``network`` saved with ``info`` as a deltaprop model file."""
    with tempfile.TemporaryDirectory(prefix="deltaprop-playground-") as folder:
        path = Path(folder) / "model.npz"
        network.save(path, extras=info.to_extras())
        return path.read_bytes()
