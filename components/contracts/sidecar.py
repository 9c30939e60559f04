"""``model.json``: the sidecar pushed beside the ``.tflite`` model, what an app reads.

Its content (how to call the model, the movies it knows, its figures, its lineage) is
built by components.export.sidecar and written by the TFLitePusher into its artifact and
the pushed version folder; read by the on-device recommender (components.export.
model_files checks it), the serving pointer's checks, the browser demo and
``commands.lineage``. The content stays one JSON object that apps read as they always did;
this class adds the file's version and names the keys readers rely on.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from components.contracts.base import Contract


@dataclasses.dataclass
class Sidecar(Contract):
    FILE: ClassVar[str] = "model.json"
    VERSION: ClassVar[int] = 1
    ENSURE_ASCII: ClassVar[bool] = False

    # model_file, signatures, inputs, outputs, k, string_vocabularies, int_vocabularies,
    # movies, metrics (eval split), quality (test split), parity, quantized_variant,
    # lineage, and each movie's derived input values.
    content: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return dict(self.content)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> Sidecar:
        return cls(dict(values))

    def to_bytes(self) -> bytes:
        return self.dumps().encode()

    @property
    def k(self) -> int | None:
        return self.content.get("k")

    @property
    def signatures(self) -> dict[str, str] | None:
        return self.content.get("signatures")

    @property
    def quantized_variant(self) -> dict[str, Any] | None:
        return self.content.get("quantized_variant")

    @property
    def lineage(self) -> dict[str, Any] | None:
        return self.content.get("lineage")
