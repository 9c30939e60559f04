"""Reading one split of an Examples artifact as numpy columns (batched parsing, no protos).

Evaluation, the baselines and the push's parity check read a few features of many
examples (a million training examples for the baselines on ML-1M): ``tf.io.parse_example``
on batches does that in C++ rather than one Python proto at a time.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import tensorflow as tf

from configs import features as raw

SPLIT_FOLDER = "Split-{}"
_KIND_TO_DTYPE = {raw.Kind.INT: tf.int64, raw.Kind.FLOAT: tf.float32, raw.Kind.STRING: tf.string}


@dataclasses.dataclass
class Ragged:
    """A variable-length feature of n examples: ``values[splits[i]:splits[i + 1]]``."""

    values: np.ndarray
    splits: np.ndarray

    def __len__(self) -> int:
        return len(self.splits) - 1

    def row(self, index: int) -> np.ndarray:
        return self.values[self.splits[index] : self.splits[index + 1]]

    def rows(self) -> list[np.ndarray]:
        return np.split(self.values, self.splits[1:-1])

    def last(self, missing: int = 0) -> np.ndarray:
        """The newest (last) value of each row, ``missing`` for an empty row."""
        ends = self.splits[1:]
        filled = np.diff(self.splits) > 0
        result = np.full(len(self), missing, dtype=self.values.dtype)
        result[filled] = self.values[ends[filled] - 1]
        return result

    def head(self, count: int) -> Ragged:
        return Ragged(self.values[: self.splits[count]], self.splits[: count + 1])


def split_files(examples_uri: str, split: str) -> list[str]:
    return sorted(tf.io.gfile.glob(os.path.join(examples_uri, SPLIT_FOLDER.format(split), "*")))


def read_split(
    examples_uri: str, split: str, names: list[str], limit: int | None = None
) -> dict[str, Ragged]:
    """The named raw features of a split's examples (in file order), as ragged columns.

    A feature an example lacks is an empty row; ``limit`` reads only the first examples.
    """
    spec = {
        name: tf.io.RaggedFeature(_KIND_TO_DTYPE[raw.RAW_FEATURES[name].kind]) for name in names
    }
    dataset = tf.data.TFRecordDataset(split_files(examples_uri, split), compression_type="GZIP")
    if limit is not None:
        dataset = dataset.take(limit)
    values: dict[str, list[np.ndarray]] = {name: [] for name in names}
    lengths: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for batch in dataset.batch(4096).map(lambda records: tf.io.parse_example(records, spec)):
        for name in names:
            values[name].append(batch[name].flat_values.numpy())
            lengths[name].append(batch[name].row_lengths().numpy())
    columns = {}
    for name in names:
        row_lengths = np.concatenate(lengths[name]) if lengths[name] else np.zeros(0, np.int64)
        splits = np.zeros(len(row_lengths) + 1, np.int64)
        np.cumsum(row_lengths, out=splits[1:])
        flat = np.concatenate(values[name]) if values[name] else np.zeros(0)
        columns[name] = Ragged(flat, splits)
    return columns
