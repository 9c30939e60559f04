"""MovieLensExampleGen's settings: what the executor needs besides the data folder, kept in
ML Metadata as the component's custom_config (a Struct) and read back from it."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from google.protobuf import json_format, struct_pb2
from tfx.proto import example_gen_pb2
from tfx.types import standard_component_specs

from components import names
from components.data_formats import limits
from components.example_gen import timelines

# The span TFX's ExampleGen driver resolved (exec property and Examples custom property).
SPAN_KEY = names.SPAN_PROPERTY


@dataclasses.dataclass(frozen=True)
class IngestSettings:
    """Everything the executor needs besides the data folder (kept in MLMD as custom_config)."""

    examples: timelines.ExampleSettings
    max_bad_fraction: float = 0.01
    # Ratings outside this window (Unix seconds) are rejected; None: one day after ingest,
    # resolved when ExampleGen runs so that the setting (and TFX's cache key) stays fixed.
    min_timestamp: int = limits.DEFAULT_MIN_TIMESTAMP
    max_timestamp: int | None = None
    # Small enough that both workers get several chunks of a 24 MB ML-1M ratings file.
    chunk_bytes: int = 2 << 20
    # With the span split: how many spans end with the held-out one and give examples
    # (0: every span). Earlier spans are still read, as history.
    span_window: int = 0

    @property
    def spans(self) -> bool:
        """Whether the data is read as spans (components.data_formats.spans)."""
        return self.examples.split.kind == "span"

    def to_struct(self) -> struct_pb2.Struct:
        struct = struct_pb2.Struct()
        struct.update(json.loads(json.dumps(dataclasses.asdict(self))))
        return struct

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> IngestSettings:
        examples = dict(values["examples"])
        split = _typed(timelines.SplitSettings, examples.pop("split"))
        return _typed(
            cls,
            {**values, "examples": _typed(timelines.ExampleSettings, {**examples, "split": split})},
        )


def _typed(cls, values: dict[str, Any]):
    """Builds a settings dataclass from JSON values (a Struct keeps every number as a double)."""
    kwargs = {}
    for field in dataclasses.fields(cls):
        if field.name not in values:  # settings recorded before the field existed
            continue
        value = values[field.name]
        if field.type in ("int", "int | None") and value is not None:
            value = int(value)
        kwargs[field.name] = value
    return cls(**kwargs)


def settings_from_exec_properties(exec_properties: dict[str, Any]) -> IngestSettings:
    custom = example_gen_pb2.CustomConfig()
    json_format.Parse(exec_properties[standard_component_specs.CUSTOM_CONFIG_KEY], custom)
    struct = struct_pb2.Struct()
    custom.custom_config.Unpack(struct)
    return IngestSettings.from_dict(json_format.MessageToDict(struct))
