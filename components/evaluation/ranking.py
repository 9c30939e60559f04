"""Full-ranking quality of next-movie predictions: the one definition of every quality figure.

Each example has one label (the movie watched next) and a score for every candidate movie;
the label's rank is the number of candidates scored strictly higher, so no negatives are
sampled. "Seen excluded" removes the user's whole watch history from the ranking, which is
what an app shows (and what SASRec+'s published evaluation does). A top-K list (what the
Evaluator's TFMA metric, the Pusher's TFLite check and the device return) gives the label's
rank as its position in the list (``ranks_in_lists``). The pipeline's Trainer (per-epoch
evaluation), the Evaluator's HitRate metric, the Pusher's int8 check, its QualityReport, the
baselines and the benchmarks all call these functions; nothing else computes HR@K, NDCG or
MRR, except ``ranking_tf`` (the same rank in TensorFlow, for the Keras training metric;
``ranking_tf_test`` checks that the two agree).

One figure, several keys, all spelled here (each is read back from written files, so none
is renamed): ``hr_name`` "hr@10" (quality_metrics.json, the report, the benchmarks);
``key_name`` "hr_at_10" (Keras' training metric, ML Metadata properties such as
test_markov_hr_at_10); ``eval_log_name`` "val_hr_at_10" (the per-epoch held-out HR@K in
Keras' logs and training_log.json); ``recall_name`` "recall_at_10" (the Evaluator's TFMA
metric and the gate).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

# K: how many movies an app shows. The exported top-K, the gate's recall@K and the quality
# report's cut-offs default to it.
DEFAULT_K = 10
TOP_KS = (1, 5, DEFAULT_K)
NDCG_K = DEFAULT_K
MRR = "mrr"
# A label that is not among the candidates (e.g. a movie unseen in training) is a miss.
NOT_RANKED = np.iinfo(np.int64).max


class Candidates:
    """Maps raw movie ids to a scorer's columns (-1: not a candidate, never ranked)."""

    def __init__(self, movie_ids: np.ndarray):
        movie_ids = np.asarray(movie_ids)
        valid = np.flatnonzero(movie_ids >= 0)
        order = np.argsort(movie_ids[valid])
        self._sorted_ids = movie_ids[valid][order]
        self._columns = valid[order]

    def columns(self, raw_ids: np.ndarray) -> np.ndarray:
        raw_ids = np.asarray(raw_ids)
        if not len(self._sorted_ids):
            return np.full(raw_ids.shape, -1)
        at = np.minimum(np.searchsorted(self._sorted_ids, raw_ids), len(self._sorted_ids) - 1)
        return np.where(self._sorted_ids[at] == raw_ids, self._columns[at], -1)


def label_ranks(
    scores: np.ndarray,
    labels: np.ndarray,
    excluded: Sequence[np.ndarray] | None = None,
) -> np.ndarray:
    """0-based rank of each example's label among the candidates.

    ``scores`` is ``[examples, candidates]`` (``-inf`` for columns that are never
    recommended), ``labels`` the label's column per example (``-1`` when the label is not a
    candidate), ``excluded`` per example the columns removed from its ranking (the label's
    own column is never removed). Ties rank in the label's favour, as ``top_k`` may order
    them either way.
    """
    scores = np.array(scores, dtype=np.float32, copy=True)
    rows = np.arange(len(labels))
    if excluded is not None:
        for row, columns in enumerate(excluded):
            columns = np.asarray(columns)
            scores[row, columns[columns != labels[row]]] = -np.inf
    known = labels >= 0
    label_scores = np.where(known, scores[rows, np.maximum(labels, 0)], -np.inf)
    ranks = (scores > label_scores[:, np.newaxis]).sum(axis=1).astype(np.int64)
    return np.where(known & np.isfinite(label_scores), ranks, NOT_RANKED)


def rank_in_list(top: Sequence, label) -> int:
    """0-based rank of a label within a top-K list: its position (NOT_RANKED when the label
    is not in the list). ``label`` may be an array: the first position holding any of it."""
    found = np.flatnonzero(np.isin(np.asarray(top), label))
    return int(found[0]) if len(found) else NOT_RANKED


def ranks_in_lists(top_lists: Iterable[Sequence], labels: Iterable) -> np.ndarray:
    """``rank_in_list`` of each list and its label."""
    ranks = [rank_in_list(top, label) for top, label in zip(top_lists, labels, strict=True)]
    return np.array(ranks, dtype=np.int64)


def hit_rate(ranks: np.ndarray, k: int) -> float:
    """HR@K: the share of examples whose label ranks among the first ``k``; NaN for none."""
    ranks = np.asarray(ranks, dtype=np.float64)
    return float(np.mean(ranks < k)) if len(ranks) else float("nan")


def ndcg(ranks: np.ndarray, k: int = NDCG_K) -> float:
    """NDCG@K of one label per example: 1 / log2(rank + 2) within the first ``k``, else 0."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if not len(ranks):
        return float("nan")
    return float(np.mean(np.where(ranks < k, 1 / np.log2(ranks + 2), 0)))


def mrr(ranks: np.ndarray) -> float:
    """Mean reciprocal rank (1-based)."""
    ranks = np.asarray(ranks, dtype=np.float64)
    return float(np.mean(1 / (ranks + 1))) if len(ranks) else float("nan")


def metrics(ranks: np.ndarray, ks: Sequence[int] = TOP_KS) -> dict[str, float]:
    """HR at each K, NDCG@10 and MRR of label ranks (0-based); NaN for no examples."""
    values = {hr_name(k): hit_rate(ranks, k) for k in ks}
    values[ndcg_name()] = ndcg(ranks)
    values[MRR] = mrr(ranks)
    return values


def hr_name(k: int) -> str:
    """HR@K's name in the quality figures: ``hr@10``."""
    return f"hr@{k}"


def ndcg_name(k: int = NDCG_K) -> str:
    return f"ndcg@{k}"


# The quality report's figures, in its columns' order.
METRICS = (*(hr_name(k) for k in TOP_KS), ndcg_name(), MRR)


def key_name(name: str) -> str:
    """A figure's name as a Keras metric or ML Metadata key: ``hr@10`` -> ``hr_at_10``."""
    return name.replace("@", "_at_")


def eval_log_name(name: str) -> str:
    """The Keras log key of a held-out figure the Trainer computes after each epoch (seen
    movies excluded): ``hr@10`` -> ``val_hr_at_10``."""
    return f"val_{key_name(name)}"


def recall_name(k: int) -> str:
    """HR@K as the Evaluator's TFMA metric, the gate and the sidecar name it:
    ``recall_at_10``."""
    return f"recall_at_{k}"


# Two models' figures on the same examples are "shown to differ" when their gap is at least
# this many standard errors of the gap.
NOISE_STANDARD_ERRORS = 2.0


def standard_error_bound(value: float, examples: int) -> float:
    """An upper bound on the standard error of a figure over ``examples`` examples.

    Every figure here is the mean of one value in [0, 1] per example, whose variance is at
    most m (1 - m) for mean m: the bound sqrt(m (1 - m) / n) is exact for HR@K (a proportion)
    and larger than the true error for NDCG and MRR.
    """
    if examples <= 0 or not np.isfinite(value):
        return float("nan")
    value = min(max(value, 0.0), 1.0)
    return float(np.sqrt(value * (1 - value) / examples))


def noise_of_gap(first: float, second: float, examples: int) -> float:
    """The gap two figures on the same examples must reach to be shown to differ.

    ``NOISE_STANDARD_ERRORS`` standard errors of the gap, taking the two figures as
    independent. Scored on the same examples they are usually positively correlated, which
    makes the true error of the gap smaller: "within the noise" errs towards caution.
    """
    first_error = standard_error_bound(first, examples)
    second_error = standard_error_bound(second, examples)
    return NOISE_STANDARD_ERRORS * float(np.hypot(first_error, second_error))


def per_example(ranks: np.ndarray, name: str) -> np.ndarray:
    """Each example's share of a figure (its mean is ``metrics(ranks)[name]``)."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if name == MRR:
        return 1 / (ranks + 1)
    kind, k = name.split("@")
    if kind == "ndcg":
        return np.where(ranks < int(k), 1 / np.log2(ranks + 2), 0.0)
    return (ranks < int(k)).astype(np.float64)


def paired_noise_of_gap(first_ranks: np.ndarray, second_ranks: np.ndarray, name: str) -> float:
    """``noise_of_gap`` when both models' ranks of the same examples are at hand: the
    standard error of the mean per-example difference, which counts their correlation."""
    gaps = per_example(first_ranks, name) - per_example(second_ranks, name)
    if len(gaps) < 2:
        return float("nan")
    return NOISE_STANDARD_ERRORS * float(gaps.std(ddof=1) / np.sqrt(len(gaps)))


def within_noise(first: float, second: float, examples: int) -> bool:
    """Whether two figures on the same examples are not shown to differ (``noise_of_gap``)."""
    return not abs(first - second) >= noise_of_gap(first, second, examples)


def sliced_metrics(ranks: np.ndarray, slices: Iterable[str]) -> dict[str, dict[str, float]]:
    """``metrics`` overall and per slice value (e.g. history-length bucket), with counts."""
    ranks = np.asarray(ranks)
    slices = np.asarray(list(slices))
    table = {"overall": {**metrics(ranks), "examples": len(ranks)}}
    for value in sorted(set(slices.tolist())):
        chosen = ranks[slices == value]
        table[str(value)] = {**metrics(chosen), "examples": len(chosen)}
    return table
