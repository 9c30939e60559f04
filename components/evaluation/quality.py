"""Scoring held-out examples with a model or a baseline: the one path behind every quality
figure the pipeline reports (and the benchmarks print).

A scorer gives every candidate movie a score for a batch of held-out examples; the label's
rank (components.evaluation.ranking) is taken with the user's whole watch history
excluded ("seen excluded", what an app shows) and without ("seen included"), overall and
per history-length bucket.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from components.evaluation import ranking
from components.evaluation.examples import Ragged, read_split
from configs import features as raw

SEEN_EXCLUDED, SEEN_INCLUDED = "seen_excluded", "seen_included"
_BATCH = 1024


@dataclasses.dataclass
class HeldOut:
    """A held-out split's examples as columns (raw feature name -> ragged values)."""

    columns: dict[str, Ragged]

    @property
    def labels(self) -> np.ndarray:
        return self.columns[raw.LABEL_MOVIE_ID].values

    @property
    def buckets(self) -> np.ndarray:
        return np.array([b.decode() for b in self.columns[raw.HISTORY_BUCKET].values])

    def __len__(self) -> int:
        return len(self.labels)


def read_held_out(
    examples_uri: str, split: str, features: list[str], limit: int | None = None
) -> HeldOut:
    """The label, history bucket, whole history and ``features`` of a split's examples."""
    names = sorted({raw.LABEL_MOVIE_ID, raw.HISTORY_BUCKET, raw.HISTORY_MOVIE_IDS, *features})
    return HeldOut(read_split(examples_uri, split, names, limit))


# Scores ``[end - start, candidates]`` for the held-out examples start..end.
ScoreBatch = Callable[[int, int], np.ndarray]


def evaluate(candidates: ranking.Candidates, score_batch: ScoreBatch, held_out: HeldOut) -> dict:
    """Ranking metrics of a scorer on held-out examples, seen movies excluded and included,
    overall and per history bucket: ``{SEEN_EXCLUDED: {slice: metrics}, SEEN_INCLUDED: ...}``.
    """
    histories = held_out.columns[raw.HISTORY_MOVIE_IDS]
    excluded_ranks, included_ranks = [], []
    for start in range(0, len(held_out), _BATCH):
        end = min(start + _BATCH, len(held_out))
        scores = score_batch(start, end)
        labels = candidates.columns(held_out.labels[start:end])
        seen = [candidates.columns(histories.row(i)) for i in range(start, end)]
        excluded_ranks.append(ranking.label_ranks(scores, labels, [s[s >= 0] for s in seen]))
        included_ranks.append(ranking.label_ranks(scores, labels))
    buckets = held_out.buckets
    return {
        SEEN_EXCLUDED: ranking.sliced_metrics(_joined(excluded_ranks), buckets),
        SEEN_INCLUDED: ranking.sliced_metrics(_joined(included_ranks), buckets),
    }


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)
