"""``assets.extra/on_device_inputs.json``: what it takes to build a SavedModel's on-device
inputs (its input config's text and the string vocabularies).

Written inside every exported SavedModel by the Trainer's export (components.export.
signatures through on_device_inputs); read by whatever holds the model and must feed it
exactly as an app would: the quality report's and the benchmarks' scorer, the pusher's
parity check. The folder is the SavedModel's (``Format-Serving``).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from components import names
from components.contracts.base import Contract


@dataclasses.dataclass
class OnDeviceSpec(Contract):
    FILE: ClassVar[str] = "assets.extra/on_device_inputs.json"
    VERSION: ClassVar[int] = 1
    INDENT: ClassVar[int | None] = None
    ENSURE_ASCII: ClassVar[bool] = False

    input_config: str  # configs.input_config's text format (the JSON key: INPUT_CONFIG_KEY)
    string_vocabularies: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            names.INPUT_CONFIG_KEY: self.input_config,
            "string_vocabularies": self.string_vocabularies,
        }

    @classmethod
    def from_json(cls, values: dict) -> OnDeviceSpec:
        return cls(values[names.INPUT_CONFIG_KEY], values.get("string_vocabularies") or {})
