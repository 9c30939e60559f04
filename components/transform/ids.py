"""How vocabulary entries become embedding rows, shared by Transform, Trainer and exporter.

Row 0 is padding, rows 1..V are the vocabulary (most frequent first) and row V + 1 holds
every out-of-vocabulary value, so a table for a vocabulary of V entries has V + 2 rows.
"""

PADDING = 0
FIRST_VOCAB_ROW = 1


def oov_row(vocab_size: int) -> int:
    return vocab_size + 1


def table_rows(vocab_size: int) -> int:
    return vocab_size + 2
