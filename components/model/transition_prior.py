"""A first-order transition prior the served model adds to its scores, weighted on the eval
split (issue 23: never behind a count table at the top of the list).

First-order Markov ("what followed this movie in training") ranks the very next movie well
on small data, where a neural model has few examples per movie; the model ranks well
further down the list and on large data. The ensemble keeps both: for the user's newest
movie ``i``, every movie ``j`` that followed ``i`` in the training pieces gets

    score(j) = model(j) + weight * log(1 + P(j | i) / EPSILON)

so a movie that never followed ``i`` keeps the model's score. The table holds each movie's
``SUCCESSORS`` most frequent successors (a fixed shape for the on-device graph: one gather
and one scatter per call). The weight is chosen after training from ``WEIGHTS`` by the
eval split's NDCG@10 with seen movies excluded; 0 ships no table. TensorFlow-free: the
Trainer fits and chooses, components.export.signatures applies it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

import numpy as np

from components.evaluation import ranking
from components.transform import ids

# Each movie's most frequent successors the table keeps (ML-1M: 3,706 x 16 entries; every
# successor gave HR@10 +0.013, the top 8 +0.009, on a Transformer's eval and test splits).
SUCCESSORS = 16
# P(j | i) at which the bonus is log 2: below it a transition counts little, above it the
# bonus grows with its log.
EPSILON = 1e-3
# The weights tried on the eval split, the first (no prior) included.
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0)
# Beyond this many movie rows the table is not fitted: its size (rows x SUCCESSORS) would
# outgrow the on-device model (the sampled-softmax catalogues, hparams.FULL_SOFTMAX_MAX_MOVIES).
MAX_ROWS = 20_002
# The metric that chooses the weight: the top of the list, not HR@10 alone.
CHOOSING_METRIC = f"ndcg@{ranking.NDCG_K}"


@dataclasses.dataclass(frozen=True)
class TransitionPrior:
    """Per movie row, its successors' rows and bonuses ``[rows, SUCCESSORS]`` (padding:
    row 0 with bonus 0), and the weight the served scores apply."""

    successors: np.ndarray
    bonus: np.ndarray
    weight: float = 0.0

    @property
    def rows(self) -> int:
        return len(self.successors)

    @property
    def entries(self) -> int:
        return int(np.count_nonzero(self.bonus))

    def scores(self, newest: np.ndarray, weight: float | None = None) -> np.ndarray:
        """The bonus ``[examples, rows]`` for examples whose newest context movie row is
        ``newest`` (PADDING: no bonus), at ``weight`` (default: the prior's own)."""
        weight = self.weight if weight is None else weight
        bonus = np.zeros((len(newest), self.rows), np.float32)
        examples = np.repeat(np.arange(len(newest)), self.successors.shape[1])
        np.add.at(
            bonus,
            (examples, self.successors[newest].reshape(-1)),
            weight * self.bonus[newest].reshape(-1),
        )
        return bonus

    def with_weight(self, weight: float) -> TransitionPrior:
        return dataclasses.replace(self, weight=float(weight))


def fit(
    pairs: Iterable[tuple[np.ndarray, np.ndarray]], rows: int, successors: int = SUCCESSORS
) -> TransitionPrior:
    """The table from (movie row, next movie row) batches: every training transition whose
    two movies are in the vocabulary (padding, OOV and unknown targets are skipped)."""
    oov = rows - 1
    counts: dict[int, int] = {}
    for previous, following in pairs:
        previous, following = np.ravel(previous), np.ravel(following)
        known = (previous > ids.PADDING) & (previous < oov)
        known &= (following > ids.PADDING) & (following < oov)
        keys = previous[known].astype(np.int64) * rows + following[known]
        unique, found = np.unique(keys, return_counts=True)
        for key, count in zip(unique.tolist(), found.tolist(), strict=True):
            counts[key] = counts.get(key, 0) + count
    table = np.zeros((rows, successors), np.int32)
    bonus = np.zeros((rows, successors), np.float32)
    if not counts:
        return TransitionPrior(table, bonus)
    keys = np.fromiter(counts, np.int64, len(counts))
    values = np.fromiter(counts.values(), np.int64, len(counts))
    previous, following = keys // rows, keys % rows
    totals = np.bincount(previous, weights=values, minlength=rows)
    # Per previous movie, most frequent first (ties: the lower row, the more frequent movie).
    order = np.lexsort((following, -values, previous))
    previous, following, values = previous[order], following[order], values[order]
    starts = np.searchsorted(previous, np.arange(rows))
    place = np.arange(len(previous)) - starts[previous]
    kept = place < successors
    previous, following, values, place = (
        previous[kept],
        following[kept],
        values[kept],
        place[kept],
    )
    table[previous, place] = following
    bonus[previous, place] = np.log1p(values / totals[previous] / EPSILON)
    return TransitionPrior(table, bonus)


# Per eval batch: the model's logits [batch, rows], the label rows, the rows each example
# excludes (its whole history) and its newest context movie's row.
EvalBatch = tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray]


def choose_weight(
    prior: TransitionPrior,
    batches: Callable[[], Iterable[EvalBatch]],
    weights: tuple[float, ...] = WEIGHTS,
) -> tuple[TransitionPrior, dict[str, dict[str, float]]]:
    """The prior at the weight whose served scores rank the eval labels best by
    CHOOSING_METRIC (ties: the smaller weight), and every weight's metrics."""
    ranks: dict[float, list[np.ndarray]] = {weight: [] for weight in weights}
    for logits, labels, excluded, newest in batches():
        for weight in weights:
            scores = logits + prior.scores(newest, weight) if weight else logits
            ranks[weight].append(ranking.label_ranks(scores, labels, excluded))
    table = {
        f"{weight:g}": ranking.metrics(np.concatenate(found) if found else np.zeros(0, np.int64))
        for weight, found in ranks.items()
    }
    best = max(weights, key=lambda w: (np.nan_to_num(table[f"{w:g}"][CHOOSING_METRIC]), -w))
    return prior.with_weight(best), table
