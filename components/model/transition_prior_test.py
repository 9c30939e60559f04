import numpy as np

from components.model import transition_prior
from components.transform import ids

ROWS = 6  # padding, movies 1..4, OOV 5


def _pairs():
    # Movie 1 was followed by 2 three times and by 3 once; 4 by 1 once. Padding, OOV and
    # unknown targets (0) are not transitions.
    previous = np.array([[1, 1, 1, 1, 4, 0, 5, 2]])
    following = np.array([[2, 2, 2, 3, 1, 2, 2, 0]])
    return [(previous, following)]


def test_fit_keeps_the_most_frequent_successors_with_their_log_bonus():
    prior = transition_prior.fit(_pairs(), ROWS, successors=2)
    eps = transition_prior.EPSILON
    assert prior.successors[1].tolist() == [2, 3]
    np.testing.assert_allclose(prior.bonus[1], np.log1p(np.array([0.75, 0.25]) / eps), rtol=1e-6)
    assert prior.successors[4].tolist() == [1, ids.PADDING]
    assert prior.bonus[4, 1] == 0
    assert not prior.bonus[[0, 2, 3, 5]].any()  # no transitions from these rows
    assert prior.entries == 3


def test_fit_truncates_to_the_table_width_and_counts_totals_before_it():
    prior = transition_prior.fit(_pairs(), ROWS, successors=1)
    assert prior.successors[1].tolist() == [2]
    # P(2 | 1) is 3 of 4 transitions, although only one successor is kept.
    np.testing.assert_allclose(prior.bonus[1, 0], np.log1p(0.75 / transition_prior.EPSILON))


def test_scores_add_the_weighted_bonus_of_the_newest_movies_successors():
    prior = transition_prior.fit(_pairs(), ROWS, successors=2)
    scores = prior.scores(np.array([1, 0]), weight=0.5)
    assert scores.shape == (2, ROWS)
    np.testing.assert_allclose(scores[0, [2, 3]], 0.5 * prior.bonus[1])
    assert not scores[0, [0, 1, 4, 5]].any()
    assert not scores[1].any()  # an empty history (padding) gets no bonus


def test_choose_weight_takes_the_weight_that_ranks_the_eval_labels_best():
    prior = transition_prior.fit(_pairs(), ROWS, successors=2)
    # The model ranks movie 4 first; after movie 1 the label is 2, which the prior lifts.
    logits = np.array([[-1e9, 0.0, 1.0, 0.5, 3.0, -1e9]], np.float32)
    batch = (logits, np.array([2]), [np.array([1])], np.array([1]))
    chosen, table = transition_prior.choose_weight(prior, lambda: [batch], weights=(0.0, 1.0))
    assert chosen.weight == 1.0
    assert table["0"]["hr@1"] == 0.0 and table["1"]["hr@1"] == 1.0


def test_choose_weight_keeps_no_prior_when_it_does_not_help():
    prior = transition_prior.fit(_pairs(), ROWS, successors=2)
    logits = np.array([[-1e9, 0.0, 1.0, 0.5, 3.0, -1e9]], np.float32)
    batch = (logits, np.array([4]), [np.array([1])], np.array([1]))
    chosen, _ = transition_prior.choose_weight(prior, lambda: [batch], weights=(0.0, 1.0, 2.0))
    assert chosen.weight == 0.0  # the prior lifts movie 2 above the label
