"""The TensorFlow rank and HR@K agree with ``ranking`` (numpy) and with Keras' top-K
accuracy, which the Trainer's ``hr_at_K`` metric used to be."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from components.evaluation import ranking, ranking_tf

ROWS = 30


def _batch(seed: int, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Logits with many ties (small integers), a never-recommended row, and labels."""
    rng = np.random.default_rng(seed)
    logits = rng.integers(-4, 5, size=(size, ROWS)).astype(np.float32)
    logits[:, 0] = -1e9  # as the padding row's bias makes it
    labels = rng.integers(1, ROWS, size=(size, 1))
    return logits, labels


def test_ranks_agree_with_numpy():
    logits, labels = _batch(0)
    tf_ranks = ranking_tf.label_ranks(tf.constant(logits), tf.constant(labels)).numpy()
    np.testing.assert_array_equal(tf_ranks, ranking.label_ranks(logits, labels[:, 0]))


@pytest.mark.parametrize("k", ranking.TOP_KS)
def test_hit_rate_agrees_with_numpy_and_with_keras_top_k_accuracy(k):
    metric = ranking_tf.HitRate(k)
    keras_metric = tf.keras.metrics.SparseTopKCategoricalAccuracy(k=k)
    all_ranks = []
    for seed in range(3):
        logits, labels = _batch(seed)
        metric.update_state(tf.constant(labels), tf.constant(logits))
        keras_metric.update_state(tf.constant(labels), tf.constant(logits))
        all_ranks.append(ranking.label_ranks(logits, labels[:, 0]))
    assert metric.name == f"hr_at_{k}"
    assert float(metric.result()) == float(keras_metric.result())
    expected = ranking.hit_rate(np.concatenate(all_ranks), k)
    assert float(metric.result()) == pytest.approx(expected, abs=1e-7)


def test_a_rank_in_a_top_list_is_the_labels_position():
    tops = [[5, 3, 9], [5, 3, 9], [1, 2, 3]]
    ranks = ranking.ranks_in_lists(tops, [3, 7, np.array([3])])
    assert ranks.tolist() == [1, ranking.NOT_RANKED, 2]
    assert ranking.hit_rate(ranks, 2) == pytest.approx(1 / 3)
    assert np.isnan(ranking.hit_rate(np.zeros(0), 10))


def test_every_name_of_hr_at_k():
    assert ranking.hr_name(10) == "hr@10"
    assert ranking.key_name(ranking.hr_name(10)) == "hr_at_10"
    assert ranking.eval_log_name(ranking.hr_name(10)) == "val_hr_at_10"
    assert ranking.eval_log_name(ranking.ndcg_name()) == "val_ndcg_at_10"
    assert ranking.recall_name(10) == "recall_at_10"
