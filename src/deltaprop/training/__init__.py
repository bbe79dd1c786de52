"""Training (000 §9, 002): optimizers, schedules, regularization, callbacks, checkpoints,
metrics and the Trainer with its compiled steps."""

from deltaprop.training.averaging import WeightAverage
from deltaprop.training.callbacks import Callback, History
from deltaprop.training.trainer import Trainer, train

__all__ = ["Callback", "History", "Trainer", "train", "WeightAverage"]
