"""How vocabulary entries become embedding rows, shared by Transform, Trainer and exporter.

Row 0 is padding, rows 1..V are the vocabulary (most frequent first) and row V + 1 holds
every out-of-vocabulary value, so a table for a vocabulary of V entries has V + 2 rows.

Raw ids (movie and user ids as the files give them) are limited once, here: the on-device
signatures map raw ids with dense int32 gather tables of ``max id + 1`` rows, so an id above
``MAX_RAW_ID`` would be caught only at export, after a whole run. Ingest rejects such ids as
it reads them, the schema's id domains say the same, and the exporter checks it again.
This module imports nothing, so TensorFlow-free code (ingest checks, the schema test) can
use it.
"""

PADDING = 0
FIRST_VOCAB_ROW = 1

# Rows of the largest on-device gather table: 4M int32 rows = 16 MB, and far within int32.
MAX_TABLE_SIZE = 4_000_000
# Raw ids are 1..MAX_RAW_ID: 0 is padding, and the table has one row per id 0..MAX_RAW_ID.
MIN_RAW_ID = 1
MAX_RAW_ID = MAX_TABLE_SIZE - 1


def oov_row(vocab_size: int) -> int:
    return vocab_size + 1


def table_rows(vocab_size: int) -> int:
    return vocab_size + 2
