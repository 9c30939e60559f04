"""``assets.extra/warm_start/tables.json``: which embedding table of an exported model is of
which vocabulary, and the vocabularies' values, for a later run's warm start.

Written inside every exported SavedModel by the Trainer (components.model.warm_start,
beside the weights' ``weights.npz``); read by a later run's Trainer that starts from it.
The folder is the SavedModel's (``Format-Serving``).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from components.contracts.base import Contract


@dataclasses.dataclass
class WarmStartTables(Contract):
    FILE: ClassVar[str] = "assets.extra/warm_start/tables.json"
    VERSION: ClassVar[int] = 1
    INDENT: ClassVar[int | None] = None
    ENSURE_ASCII: ClassVar[bool] = False

    tables: dict[str, str]  # Keras weight path -> vocabulary name
    vocabularies: dict[str, list[str]]  # vocabulary name -> its values, row order
