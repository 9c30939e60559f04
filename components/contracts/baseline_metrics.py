"""``metrics.json`` of FitBaselines: popularity's and first-order Markov's figures.

Written into the Baselines artifact's folder by components.evaluation.fit_baselines; read
by the Evaluator (the Markov rule of the gate), the quality report and the benchmarks.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from components.contracts.base import Contract


@dataclasses.dataclass
class BaselineMetrics(Contract):
    FILE: ClassVar[str] = "metrics.json"
    VERSION: ClassVar[int] = 1

    # split (eval, test) -> baseline (popularity, markov) -> quality.evaluate's table
    # (seen_excluded / seen_included -> "overall" and buckets -> metric -> value), at the
    # top level of the file beside its version.
    splits: dict[str, dict[str, dict[str, Any]]]

    def to_json(self) -> dict[str, Any]:
        return dict(self.splits)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> BaselineMetrics:
        return cls(dict(values))
