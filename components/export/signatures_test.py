"""The raw id -> row mapping of the on-device signatures."""

import numpy as np

from components.export import signatures
from components.transform import ids


def _rows(vocabulary: list[int], raw_ids: list[int]) -> list[int]:
    table = signatures.raw_to_row_table([str(v).encode() for v in vocabulary])
    return signatures.raw_to_row(table, np.array(raw_ids, np.int32)).numpy().tolist()


def test_known_ids_get_their_rows_and_everything_else_the_oov_row():
    oov = ids.oov_row(3)
    first = ids.FIRST_VOCAB_ROW
    assert _rows([7, 3, 5], [7, 3, 5]) == [first, first + 1, first + 2]
    # Unknown, negative, beyond the table and the int32 extremes: all OOV.
    assert _rows([7, 3, 5], [4, -1, 8, 10**6, -(2**31), 2**31 - 1]) == [oov] * 6
    assert _rows([7, 3, 5], [0]) == [ids.PADDING]


def test_oov_is_right_when_every_id_up_to_the_largest_is_known():
    # No gap in the ids: the table's own entries hold no OOV row to borrow.
    assert _rows([1, 2, 3], [3, 4, -5]) == [ids.FIRST_VOCAB_ROW + 2, ids.oov_row(3), ids.oov_row(3)]


def test_zero_is_a_row_where_zero_is_a_real_value():
    assert _rows([0, 1990], [0, 1990]) == [ids.FIRST_VOCAB_ROW, ids.FIRST_VOCAB_ROW + 1]


def test_tables_of_up_to_65536_rows_are_int16_and_map_every_row():
    # The largest narrow catalogue: rows 0 (padding) .. 65,535 (OOV), ids sparse up to 209k.
    vocabulary = list(range(3, 3 * 65_534 + 1, 3))
    table = signatures.raw_to_row_table([str(v).encode() for v in vocabulary])
    assert table.dtype == np.int16 and len(table) == vocabulary[-1] + 3
    last = ids.oov_row(len(vocabulary)) - 1
    assert _rows(vocabulary, [3, vocabulary[32_766], vocabulary[-1], 4, 0]) == [
        ids.FIRST_VOCAB_ROW,
        32_767,
        last,
        last + 1,
        ids.PADDING,
    ]
    # One movie more no longer fits: int32, the same rows.
    wider = [*vocabulary, vocabulary[-1] + 3]
    table = signatures.raw_to_row_table([str(v).encode() for v in wider])
    assert table.dtype == np.int32
    assert _rows(wider, [wider[-1], 1]) == [ids.oov_row(len(wider)) - 1, ids.oov_row(len(wider))]
