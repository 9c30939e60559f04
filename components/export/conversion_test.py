import numpy as np
import pytest

from components.export import conversion


def _check(lite_ids, lite_scores, saved_ids, saved_scores) -> bool:
    return conversion._same_ranking(
        np.array(lite_ids),
        np.array(lite_scores, np.float32),
        np.array(saved_ids),
        np.array(saved_scores, np.float32),
    )


def test_identical_lists_agree():
    assert _check([5, 7, 9], [3.0, 2.0, 1.0], [5, 7, 9], [3.0, 2.0, 1.0])


def test_movies_whose_scores_tie_may_swap():
    # The pusher's failure seen on the embedded data: two movies 1e-5 apart, swapped.
    assert _check([5, 9, 7], [3.0, 2.00001, 2.0], [5, 7, 9], [3.0, 2.00001, 2.0])


def test_a_tie_at_the_cut_may_trade_the_last_place():
    assert _check([5, 7, 11], [3.0, 2.0, 1.0], [5, 7, 9], [3.0, 2.0, 1.000001])


@pytest.mark.parametrize(
    "lite_ids, lite_scores",
    [
        ([5, 9, 7], [3.0, 2.0, 1.0]),  # a real swap: 2.0 against 1.0
        ([5, 7, 11], [3.0, 2.0, 0.5]),  # a movie that scored far below the K-th
        ([7, 5, 9], [3.0, 3.0, 1.0]),  # the scores tie in TFLite only
    ],
)
def test_other_differences_disagree(lite_ids, lite_scores):
    assert not _check(lite_ids, lite_scores, [5, 7, 9], [3.0, 2.0, 1.0])
