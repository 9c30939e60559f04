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


def test_the_standard_error_bound_is_exact_for_a_hit_rate_and_bounds_ndcg():
    ranks = np.array([0, 3, 12, ranking.NOT_RANKED] * 50)
    values = ranking.metrics(ranks)
    for name in ("hr@1", "hr@10"):
        hits = (ranks < int(name.split("@")[1])).astype(float)
        exact = hits.std() / math.sqrt(len(ranks))
        assert ranking.standard_error_bound(values[name], len(ranks)) == pytest.approx(exact)
    gains = np.where(ranks < 10, 1 / np.log2(ranks.astype(float) + 2), 0.0)
    assert ranking.standard_error_bound(values["ndcg@10"], len(ranks)) > gains.std() / math.sqrt(
        len(ranks)
    )
    assert math.isnan(ranking.standard_error_bound(0.5, 0))


def test_a_gap_is_shown_only_beyond_two_standard_errors_of_it():
    # 0.30 vs 0.25 over n examples: noise 2 * sqrt((.21 + .1875) / n).
    assert ranking.noise_of_gap(0.30, 0.25, 1000) == pytest.approx(2 * math.sqrt(0.3975 / 1000))
    assert ranking.within_noise(0.30, 0.25, 500)  # noise 0.0564 > the gap 0.05
    assert not ranking.within_noise(0.30, 0.25, 1000)  # noise 0.0399 < 0.05
    assert ranking.within_noise(0.25, 0.30, 100)  # symmetric; noise 0.126
    assert ranking.within_noise(0.3, 0.2, 0)  # no examples: nothing is shown


def test_per_example_shares_average_to_the_figures_and_the_paired_noise_counts_correlation():
    rng = np.random.default_rng(0)
    ours = rng.integers(0, 40, size=400)
    for name, value in ranking.metrics(ours).items():
        assert ranking.per_example(ours, name).mean() == pytest.approx(value)
    # A second model that ranks nearly like the first: the paired noise is far below the
    # unpaired one, which takes the two as independent.
    theirs = np.where(rng.random(400) < 0.05, ours + 20, ours)
    paired = ranking.paired_noise_of_gap(ours, theirs, "hr@10")
    first, second = ranking.hit_rate(ours, 10), ranking.hit_rate(theirs, 10)
    assert 0 < paired < ranking.noise_of_gap(first, second, 400) / 2
    assert ranking.paired_noise_of_gap(ours, ours, "mrr") == 0.0
