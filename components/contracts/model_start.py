"""How a Trainer's model started (warm from a base model, or from scratch, and why).

Written inside the exported SavedModel (``assets.extra/warm_start/started.json``) by
components.model.warm_start; read by the Trainer executor (MLMD properties), the quality
report and ``commands.lineage``. The folder is the SavedModel's (``Format-Serving``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from components.contracts.base import Contract

WARM, SCRATCH = "warm_start", "scratch"


@dataclasses.dataclass
class ModelStart(Contract):
    FILE: ClassVar[str] = "assets.extra/warm_start/started.json"
    VERSION: ClassVar[int] = 1

    started: str  # WARM or SCRATCH
    reason: str
    base_model_uri: str | None = None
    base_model_artifact_id: int | None = None
    # Keras weight path -> how its vocabulary rows were mapped from the base model.
    tables: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    copied_weights: int = 0
    fresh_weights: list[str] = dataclasses.field(default_factory=list)

    @property
    def warm(self) -> bool:
        return self.started == WARM
