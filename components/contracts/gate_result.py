"""``gate.json``: every rule of the Evaluator's gate, its figures and the verdict.

Written into the ModelBlessing's folder by components.evaluation.evaluator; read by the
quality report, the runner's console and ``commands.lineage``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from components.contracts.base import Contract


@dataclasses.dataclass
class GateResult(Contract):
    FILE: ClassVar[str] = "gate.json"
    VERSION: ClassVar[int] = 1

    blessed: bool
    # In order: the bound, no regression, beating first-order Markov. Each: "rule" (what
    # it asks), "passed", "detail" (the figures as a person reads them), and its figures
    # ("value", "baseline_model", "markov"; the Markov rule also "within_noise": whether the
    # gap is under two standard errors, components.evaluation.ranking.within_noise).
    rules: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def failed(self) -> list[dict[str, Any]]:
        return [rule for rule in self.rules if not rule["passed"]]
