"""The one definition of the quality figures: ranks, HR@K, NDCG, MRR, and the baselines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from components.evaluation import baselines, ranking


def test_rank_counts_strictly_better_candidates_and_ties_favour_the_label():
    scores = np.array([[0.1, 0.9, 0.5, 0.5], [3.0, 2.0, 1.0, 0.0]])
    ranks = ranking.label_ranks(scores, np.array([2, 3]))
    assert ranks.tolist() == [1, 3]


def test_excluded_columns_leave_the_ranking_but_the_label_never_does():
    scores = np.array([[0.9, 0.8, 0.7, 0.1]])
    excluded = [np.array([0, 1, 3])]  # the label (3) is listed but stays ranked
    assert ranking.label_ranks(scores, np.array([3]), excluded).tolist() == [1]
    assert ranking.label_ranks(scores, np.array([3])).tolist() == [3]


def test_a_label_that_is_no_candidate_or_never_scored_is_a_miss():
    scores = np.array([[0.5, -np.inf], [0.5, 0.4]])
    ranks = ranking.label_ranks(scores, np.array([1, -1]))
    assert (ranks == ranking.NOT_RANKED).all()
    assert ranking.metrics(ranks)["hr@10"] == 0.0


def test_metrics_of_known_ranks():
    values = ranking.metrics(np.array([0, 3, 12, ranking.NOT_RANKED]))
    assert values["hr@1"] == 0.25 and values["hr@5"] == 0.5 and values["hr@10"] == 0.5
    assert values["ndcg@10"] == pytest.approx((1 + 1 / math.log2(5)) / 4)
    assert values["mrr"] == pytest.approx((1 + 1 / 4 + 1 / 13) / 4)


def test_sliced_metrics_count_each_slice():
    table = ranking.sliced_metrics(np.array([0, 20, 1]), ["a", "b", "a"])
    assert table["overall"]["examples"] == 3 and table["a"]["examples"] == 2
    assert table["a"]["hr@1"] == 0.5 and table["b"]["hr@10"] == 0.0


def test_candidates_map_raw_ids_to_columns():
    candidates = ranking.Candidates(np.array([-1, 50, 30, 90, -1]))
    assert candidates.columns(np.array([30, 50, 90, 40, 1000, -1])).tolist() == [
        2,
        1,
        3,
        -1,
        -1,
        -1,
    ]


def test_markov_follows_the_newest_movie_and_popularity_breaks_ties():
    # Training pairs (previous, next): 1->2 twice, 1->3 once, 2->3 once; 4 only in contexts.
    fitted = baselines.Baselines.fit(
        previous=np.array([1, 1, 1, 2]),
        labels=np.array([2, 2, 3, 3]),
        context_movies=np.array([1, 2, 4]),
    )
    assert fitted.movie_ids.tolist() == [1, 2, 3, 4]
    markov = fitted.scores(baselines.MARKOV, np.array([1, 2, 4, 0]))
    order = [fitted.movie_ids[np.argsort(-row, kind="stable")].tolist() for row in markov]
    assert order[0][:2] == [2, 3]  # after 1: 2 (twice) then 3
    assert order[1][0] == 3  # after 2: 3
    # No transition from 4, nor from an empty context: popularity decides (2 and 3 tie).
    assert set(order[2][:2]) == {2, 3} and order[3][:2] == order[2][:2]
    popularity = fitted.scores(baselines.POPULARITY, np.array([1]))[0]
    assert popularity.tolist() == [0, 2, 2, 0]
    restored = baselines.Baselines.from_arrays(fitted.to_arrays())
    np.testing.assert_array_equal(restored.scores(baselines.MARKOV, np.array([1])), markov[:1])
