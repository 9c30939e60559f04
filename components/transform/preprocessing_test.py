"""Tests for components.transform.preprocessing.right_align, run eagerly."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from components.transform import ids, preprocessing


def sparse_rows(rows: list[list], dtype: tf.DType = tf.int64) -> tf.SparseTensor:
    """A SparseTensor like a VarLenFeature: row i holds rows[i] at columns 0..len-1."""
    flat = [value for row in rows for value in row]
    ragged = tf.RaggedTensor.from_row_lengths(
        tf.constant(flat, dtype=dtype), [len(row) for row in rows]
    )
    return ragged.to_sparse()


def aligned(rows: list[list], length: int, dtype: tf.DType = tf.int64) -> np.ndarray:
    return preprocessing.right_align(sparse_rows(rows, dtype), length).numpy()


def test_long_rows_keep_their_last_values():
    out = aligned([[1, 2, 3, 4, 5, 6], [7, 8, 9, 10]], length=3)
    np.testing.assert_array_equal(out, [[4, 5, 6], [8, 9, 10]])


def test_short_rows_are_left_padded_with_zero():
    out = aligned([[5], [6, 7], [8, 9, 10]], length=4)
    np.testing.assert_array_equal(out, [[0, 0, 0, 5], [0, 0, 6, 7], [0, 8, 9, 10]])
    assert ids.PADDING == 0


def test_row_of_exactly_the_length_is_unchanged():
    np.testing.assert_array_equal(aligned([[3, 1, 2]], length=3), [[3, 1, 2]])


def test_empty_rows_are_all_zeros():
    out = aligned([[], [1, 2, 3, 4, 5], [], [9]], length=3)
    np.testing.assert_array_equal(out, [[0, 0, 0], [3, 4, 5], [0, 0, 0], [0, 0, 9]])


def test_batch_of_only_empty_rows():
    out = aligned([[], []], length=2)
    np.testing.assert_array_equal(out, [[0, 0], [0, 0]])
    assert out.dtype == np.int64


def test_float_values():
    out = aligned([[0.5, 1.0, 0.25], [0.75]], length=2, dtype=tf.float32)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[1.0, 0.25], [0.0, 0.75]])


def test_mixed_rows_in_one_batch():
    rows = [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [], [42], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]
    out = aligned(rows, length=10)
    assert out.shape == (4, 10)
    expected = [
        [3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        [0] * 10,
        [0] * 9 + [42],
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    ]
    np.testing.assert_array_equal(out, expected)


def test_dense_shape_wider_than_the_rows_is_ignored():
    # Parsing may give a dense_shape wider than any row; only the values count.
    sparse = tf.SparseTensor(
        indices=[[0, 0], [0, 1], [1, 0]],
        values=tf.constant([4, 5, 6], tf.int64),
        dense_shape=[2, 7],
    )
    out = preprocessing.right_align(sparse, 3).numpy()
    np.testing.assert_array_equal(out, [[0, 4, 5], [0, 0, 6]])


@pytest.mark.parametrize("dtype", [tf.int64, tf.float32])
def test_static_shape_is_batch_by_length(dtype):
    function = tf.function(lambda sparse: preprocessing.right_align(sparse, 5))
    concrete = function.get_concrete_function(tf.SparseTensorSpec([None, None], dtype))
    assert concrete.structured_outputs.shape.as_list() == [None, 5]
    assert concrete.structured_outputs.dtype == dtype
    # The traced graph gives the same values as eager execution.
    out = concrete(sparse_rows([[1, 2, 3, 4, 5, 6, 7], [8]], dtype)).numpy()
    np.testing.assert_array_equal(out, [[3, 4, 5, 6, 7], [0, 0, 0, 0, 8]])


def test_dense_inputs_keep_zero_values():
    # A fixed-length dense feature goes through _as_sparse first; zeros are values, not gaps.
    dense = tf.constant([[0, 7, 0], [1, 0, 2]], tf.int64)
    out = preprocessing.right_align(preprocessing._as_sparse(dense), 4).numpy()
    np.testing.assert_array_equal(out, [[0, 0, 7, 0], [0, 1, 0, 2]])
