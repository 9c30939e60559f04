"""Full-ranking quality of next-movie predictions: the one definition of every quality figure.

Each example has one label (the movie watched next) and a score for every candidate movie;
the label's rank is the number of candidates scored strictly higher, so no negatives are
sampled. "Seen excluded" removes the user's whole watch history from the ranking, which is
what an app shows (and what SASRec+'s published evaluation does). The pipeline's Trainer
(per-epoch evaluation), its QualityReport, the baselines and the benchmarks all call these
functions; nothing else computes HR@K, NDCG or MRR.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

# K: how many movies an app shows. The exported top-K, the gate's recall@K and the quality
# report's cut-offs default to it.
DEFAULT_K = 10
TOP_KS = (1, 5, DEFAULT_K)
NDCG_K = DEFAULT_K
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


def metrics(ranks: np.ndarray, ks: Sequence[int] = TOP_KS) -> dict[str, float]:
    """HR at each K, NDCG@10 and MRR of label ranks (0-based); NaN for no examples."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if not len(ranks):
        return {name: float("nan") for name in (*map(hr_name, ks), f"ndcg@{NDCG_K}", "mrr")}
    values = {hr_name(k): float(np.mean(ranks < k)) for k in ks}
    values[f"ndcg@{NDCG_K}"] = float(np.mean(np.where(ranks < NDCG_K, 1 / np.log2(ranks + 2), 0)))
    values["mrr"] = float(np.mean(1 / (ranks + 1)))
    return values


def hr_name(k: int) -> str:
    return f"hr@{k}"


def sliced_metrics(ranks: np.ndarray, slices: Iterable[str]) -> dict[str, dict[str, float]]:
    """``metrics`` overall and per slice value (e.g. history-length bucket), with counts."""
    ranks = np.asarray(ranks)
    slices = np.asarray(list(slices))
    table = {"overall": {**metrics(ranks), "examples": len(ranks)}}
    for value in sorted(set(slices.tolist())):
        chosen = ranks[slices == value]
        table[str(value)] = {**metrics(chosen), "examples": len(chosen)}
    return table
