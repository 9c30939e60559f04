"""Where a timeline is cut into the sequence layout's training pieces (no TensorFlow).

ExampleGen writes the pieces as training examples and the Trainer trains on them as they
are, so this one function decides both; the numpy sequence examples of
``components.model.sequence_training`` (tests, benchmarks) are cut by it too.
"""

from __future__ import annotations

import dataclasses

import numpy as np

# The training layouts: one example per label (windows), or the pieces cut here (sequences).
# ExampleGen writes, and the Trainer trains on, the layout the hyper-parameters resolve.
WINDOWS, SEQUENCES = "windows", "sequences"
TRAINING_LAYOUTS = (WINDOWS, SEQUENCES)


@dataclasses.dataclass(frozen=True)
class Piece:
    """Activities ``start:end`` of a timeline; the targets from ``first`` on are this
    piece's (the earlier ones belong to an older piece)."""

    start: int
    end: int
    first: int


def cut(trained: np.ndarray, length: int, stride: int | None = None) -> list[Piece]:
    """The pieces of a timeline whose activity ``i`` has a trained target where
    ``trained[i]`` (the movie after it is a training label), newest piece first.

    The timeline is cut from its newest trained target back into pieces of ``length``
    activities, each starting ``stride`` (default: ``length``) activities before the next,
    and every trained target is a target exactly once: in the newest piece that holds it.
    With a stride under the length, pieces overlap and each target but a timeline's first
    ones has at least ``length - stride`` activities of context, nearer the full window the
    model serves. A piece with no trained target is left out.
    """
    stride = stride or length
    if not 1 <= stride <= length:
        raise ValueError(f"the stride must be in [1, {length}], got {stride}")
    positions = np.flatnonzero(trained)
    end = int(positions[-1]) + 1 if len(positions) else 0
    # Prefix sums count trained targets in any range in O(1).
    counts = np.concatenate([[0], np.cumsum(np.asarray(trained, bool))])
    found = []
    while end > 0:
        start = max(0, end - length)
        first = max(start, end - stride) if start > 0 else 0
        if counts[end] > counts[first]:
            found.append(Piece(start, end, first))
        end = first
    return found
