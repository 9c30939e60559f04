"""How vocabulary entries become embedding rows, shared by Transform, Trainer and exporter.

Row 0 is padding, rows 1..V are the vocabulary (most frequent first) and row V + 1 holds
every out-of-vocabulary value, so a table for a vocabulary of V entries has V + 2 rows.
"""

import numpy as np

PADDING = 0
FIRST_VOCAB_ROW = 1

# The one limit on raw ids (movie and user ids as the files give them), defined here once.
# The on-device signatures map raw ids with dense int32 gather tables of ``max id + 1`` rows
# (4M rows = 16 MB, far within int32), so a larger id would only fail at export, after a
# whole run: ingest rejects it as it reads the line (components/data_formats/limits.py),
# the schema's id domains say the same, and the exporter checks again. No TensorFlow here.
MAX_TABLE_SIZE = 4_000_000
# Raw ids are 1..MAX_RAW_ID: 0 is padding, and the table has one row per id 0..MAX_RAW_ID.
MIN_RAW_ID = 1
MAX_RAW_ID = MAX_TABLE_SIZE - 1
# A raw id no gather table holds (the on-device signatures map it to the OOV row): what an
# app passes for a movie the model does not know, whatever its real id (which may not even
# fit int32).
UNKNOWN_RAW_ID = MAX_TABLE_SIZE


def oov_row(vocab_size: int) -> int:
    return vocab_size + 1


def table_rows(vocab_size: int) -> int:
    return vocab_size + 2


def left_padded(values, length: int, dtype) -> np.ndarray:
    """The most recent ``length`` values, newest last, with PADDING in front: the one layout
    of every fixed-length sequence (Transform's output, the on-device inputs, the sequence
    layout's training examples)."""
    values = np.asarray(values, dtype)[-length:] if length else np.zeros(0, dtype)
    return np.concatenate([np.full(length - len(values), PADDING, dtype), values])
