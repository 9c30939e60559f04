"""``training_log.json``: each epoch's figures and how training ended.

Written into the Trainer's model-run folder (components.model.callbacks.TrainingLog);
read by the runner's console and the benchmarks.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from components.contracts.base import Contract


@dataclasses.dataclass
class TrainingLog(Contract):
    FILE: ClassVar[str] = "training_log.json"
    VERSION: ClassVar[int] = 1

    monitor: str  # the eval figure epochs are compared on, e.g. val_hr_at_10
    epochs_trained: int
    best_epoch: int | None  # 1-based; 0: no epoch beat the starting (warm-start) weights
    best: float | None  # the best epoch's monitored figure
    initial: float | None  # the starting weights' figure (warm start), else None
    ended_by: str  # max_epochs, early_stopping or time_budget
    train_seconds: float
    # One per epoch: "epoch" (1-based), "seconds" since training began, and Keras' logs.
    epochs: list[dict[str, float]] = dataclasses.field(default_factory=list)
    # What training resolved (batch_size, loss, started: how the model started), written
    # before the summary's keys, at the top level of the file.
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        summary = dataclasses.asdict(self)
        return {**summary.pop("settings"), **summary}

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> TrainingLog:
        own = {field.name for field in dataclasses.fields(cls)} - {"settings"}
        settings = {k: v for k, v in values.items() if k not in own}
        return cls(**{k: v for k, v in values.items() if k in own}, settings=settings)
