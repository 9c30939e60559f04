"""``metrics.json`` of the QualityReport: the gate's verdict and the test split's figures.

Written into the report artifact's folder by components.evaluation.report; read by the
pusher (the sidecar's quality figures), the runner's console and summary,
``commands.lineage`` and the benchmarks.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from components.contracts.base import Contract

# The models of the test table.
CANDIDATE, PREVIOUS = "candidate", "previous"


@dataclasses.dataclass
class QualityMetrics(Contract):
    FILE: ClassVar[str] = "metrics.json"
    VERSION: ClassVar[int] = 1

    blessed: bool
    gate: dict[str, Any]  # the gate's "blessed" and "rules" (contracts.gate_result)
    # model (candidate, previous, markov, popularity) -> seen_excluded / seen_included ->
    # "overall" and per history-length bucket -> metric -> value.
    test: dict[str, dict[str, Any]]
    model_start: dict[str, Any] | None = None  # contracts.model_start as JSON
    spans: dict[str, Any] | None = None  # the ingest report's spans (span data only)

    def overall(self, model: str, seen: str) -> dict[str, float]:
        """A model's overall figures, ``seen`` being quality.SEEN_EXCLUDED or _INCLUDED."""
        return self.test[model][seen]["overall"]
