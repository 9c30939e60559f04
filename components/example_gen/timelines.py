"""Per-user timelines and next-movie examples, in plain Python.

The Beam executor calls these functions per user; the benchmark's single-process baseline
calls the very same ones, so both produce identical examples.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import struct
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa
from tfx_bsl.coders import example_coder

from components.data_formats import spans
from components.data_formats.movielens.validation import Movie, Rating, Reason, User
from components.example_gen import pieces
from configs import features as raw

TRAIN, EVAL, TEST = "train", "eval", "test"
SPLITS = (TRAIN, EVAL, TEST)
# Splits whose examples carry the whole watch history (raw.HISTORY_MOVIE_IDS): ranking them
# must exclude every movie the user already rated. Training needs only the context window,
# and leaving it out there keeps the examples linear in the number of ratings.
HELD_OUT_SPLITS = (EVAL, TEST)


@dataclasses.dataclass(frozen=True)
class SplitSettings:
    """How examples are assigned to train / eval / test.

    * ``leave_last_out``: per user, the last label is test, the one before is eval.
    * ``random``: example-level seeded split (the seed's protocol; windows overlap).
    * ``temporal``: global cut-offs on the label timestamp.
    * ``span``: data in spans (components.data_formats.spans). The positions whose label
      is in the newest span are held out: per user the last of them is test, the others
      eval; positions of the earlier spans in the window train; positions before the
      window are not examples (their ratings are still history).
    """

    kind: str = "leave_last_out"
    seed: int = 42
    train_fraction: float = 0.9
    eval_fraction: float = 0.05
    # Temporal cut-offs as quantiles of all label timestamps, unless given as epoch seconds.
    temporal_eval_quantile: float = 0.8
    temporal_test_quantile: float = 0.9
    temporal_eval_start: int | None = None
    temporal_test_start: int | None = None

    KINDS = ("leave_last_out", "random", "temporal", "span")

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"Unknown split {self.kind!r}; choose one of {self.KINDS}")
        # The tolerance keeps float rounding (0.7 + 0.3 vs 0.8 + 0.2) from deciding.
        if not 0 < self.train_fraction < 1 or not (
            self.eval_fraction >= 0 and self.train_fraction + self.eval_fraction < 1 - 1e-9
        ):
            raise ValueError("random split needs 0 < train_fraction < 1 - eval_fraction")
        if not 0 < self.temporal_eval_quantile < self.temporal_test_quantile < 1:
            raise ValueError("temporal split needs 0 < eval quantile < test quantile < 1")


@dataclasses.dataclass(frozen=True)
class ExampleSettings:
    """How timelines become examples.

    Held-out (eval, test) examples are always windows: one per label, its newest
    ``max_context_length`` earlier ratings and the whole history. Training examples are
    windows too (``training_layout="windows"``), or the sequence layout's pieces
    (``"sequences"``): each user's training timeline cut (``pieces.cut``) into pieces of
    ``max_context_length`` activities starting ``sequence_stride`` apart, each with its
    targets (``NEXT_MOVIE_IDS``), so the training split grows with the ratings, not with
    ratings x history.
    """

    min_rating: float = 0.0
    min_timeline_length: int = 3
    max_context_length: int = 10
    split: SplitSettings = dataclasses.field(default_factory=SplitSettings)
    training_layout: str = pieces.WINDOWS
    sequence_stride: int = 0  # 0: the history length (no overlap)

    def __post_init__(self) -> None:
        if self.training_layout not in pieces.TRAINING_LAYOUTS:
            raise ValueError(
                f"training_layout must be one of {pieces.TRAINING_LAYOUTS}, "
                f"got {self.training_layout!r}"
            )
        if not 0 <= self.sequence_stride <= self.max_context_length:
            raise ValueError(
                f"sequence_stride must be in [0, {self.max_context_length}] (the history "
                f"length), got {self.sequence_stride}"
            )


@dataclasses.dataclass
class Timeline:
    """One user's accepted ratings in time order (ties in file order)."""

    user_id: int
    ratings: list[Rating]


def build_timeline(
    user_id: int, ratings: Iterable[Rating], settings: ExampleSettings
) -> tuple[Timeline | None, Counter]:
    """Orders a user's ratings and applies the filters.

    Returns the timeline (None when too short) and the count of ratings left out by reason;
    ``len(timeline.ratings) + sum(outcomes.values())`` equals the number of ratings given.
    """
    outcomes: Counter = Counter()
    seen: set[int] = set()
    kept = []
    # A repeated (user, movie) keeps its first line in the file.
    for rating in sorted(ratings, key=lambda r: r.line_no):
        if rating.movie_id in seen:
            outcomes[Reason.DUPLICATE] += 1
        elif rating.rating < settings.min_rating:
            seen.add(rating.movie_id)
            outcomes[Reason.BELOW_MIN_RATING] += 1
        else:
            seen.add(rating.movie_id)
            kept.append(rating)
    if len(kept) < max(settings.min_timeline_length, 2):
        outcomes[Reason.SHORT_TIMELINE] += len(kept)
        return None, outcomes
    kept.sort(key=lambda r: (r.timestamp, r.line_no))
    return Timeline(user_id, kept), outcomes


def no_examples_message(
    source: str, valid: int, at_min_rating: int, longest: int | None, settings: ExampleSettings
) -> str:
    """Why ``source`` yields no example, naming the setting that left nothing.

    ``valid``: ratings that passed every check; ``at_min_rating``: those of them at or above
    ``--min-rating`` (first rating of a user and movie only); ``longest``: the most such
    ratings any user has, when known.
    """
    needed = max(settings.min_timeline_length, 2)
    if not valid:
        return f"{source} holds no valid rating, so no example can be made."
    if not at_min_rating:
        return (
            f"every one of the {valid} valid ratings in {source} is below --min-rating "
            f"{settings.min_rating:g}: lower it to keep some."
        )
    most = "" if longest is None else f"; the most any user has is {longest}"
    return (
        f"no user in {source} has {needed} ratings at or above --min-rating "
        f"{settings.min_rating:g} (--min-timeline-length {settings.min_timeline_length})"
        f"{most}: lower --min-timeline-length or --min-rating."
    )


def _unit_hash(seed: int, user_id: int, position: int) -> float:
    digest = hashlib.blake2b(struct.pack("<qqq", seed, user_id, position), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2**64


def assign_split(
    timeline: Timeline, position: int, split: SplitSettings, cutoffs: Sequence[int] = ()
) -> str:
    """The split of the example whose label is ``timeline.ratings[position]``."""
    if split.kind == "leave_last_out":
        last = len(timeline.ratings) - 1
        return TEST if position == last else EVAL if position == last - 1 else TRAIN
    if split.kind == "random":
        draw = _unit_hash(split.seed, timeline.user_id, position)
        if draw < split.train_fraction:
            return TRAIN
        return EVAL if draw < split.train_fraction + split.eval_fraction else TEST
    eval_start, test_start = cutoffs
    timestamp = timeline.ratings[position].timestamp
    return TRAIN if timestamp < eval_start else EVAL if timestamp < test_start else TEST


def _windows(num_items: int, max_context_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Label positions 1..n-1 and, per position, the start of its context window."""
    positions = np.arange(1, num_items)
    return positions, np.maximum(0, positions - max_context_length)


def _gather_ranges(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row offsets and flat indices that list ``range(start, end)`` for every row."""
    lengths = ends - starts
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
    return offsets, flat


def _lists(
    offsets: np.ndarray, values: pa.Array, missing: np.ndarray | None = None
) -> pa.ListArray:
    """Lists of ``values`` cut at ``offsets``; rows where ``missing`` is True are absent
    from their example (an empty list would still count as a value of 0 in statistics)."""
    mask = None if missing is None else pa.array(missing)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values, mask=mask)


def _singletons(values: np.ndarray | pa.Array) -> pa.ListArray:
    array = values if isinstance(values, pa.Array) else pa.array(values)
    return _lists(np.arange(len(values) + 1, dtype=np.int32), array)


def split_names(
    timeline: Timeline, positions: np.ndarray, split: SplitSettings, cutoffs: Sequence[int] = ()
) -> list[str | None]:
    """The split of each example (label positions into ``timeline.ratings``); None for a
    position that is no example (a span split's positions before its window)."""
    if split.kind == "span":
        return span_splits(timeline, positions, cutoffs)
    return [assign_split(timeline, int(p), split, cutoffs) for p in positions]


def span_splits(
    timeline: Timeline, positions: np.ndarray, cutoffs: Sequence[int]
) -> list[str | None]:
    """The ``span`` split: ``cutoffs`` is (first span of the window, the held-out span), and
    a rating's span is known from its order key (``spans.span_of`` of its line number).

    The held-out span is the newest one read, so its positions end the timeline; the
    user's last of them is test (each user's next movie, as leave-last-out), the others
    eval.
    """
    first_span, held_out = cutoffs
    label_spans = [spans.span_of(timeline.ratings[int(p)].line_no) for p in positions]
    newest = [i for i, span in enumerate(label_spans) if span == held_out]
    last = newest[-1] if newest else -1
    names: list[str | None] = []
    for index, span in enumerate(label_spans):
        if span < first_span:
            names.append(None)
        elif span < held_out:
            names.append(TRAIN)
        else:
            names.append(TEST if index == last else EVAL)
    return names


def timeline_examples(
    timeline: Timeline,
    movies: dict[int, Movie],
    user: User | None,
    settings: ExampleSettings,
    cutoffs: Sequence[int] = (),
) -> list[tuple[str, bytes]]:
    """(split, serialized tf.Example) of a timeline's examples: a window for every label
    position after the first, or, in the sequence layout, pieces in place of the training
    windows (see ExampleSettings).

    A window predicts ``ratings[p]`` from the most recent ``max_context_length`` ratings
    before it, oldest first and unpadded (Transform pads them to the configured lengths).
    Eval and test windows also list every earlier movie (``HISTORY_MOVIE_IDS``).
    Columns are built with numpy and encoded by tfx_bsl in C++: about 20x faster than
    filling one tf.train.Example proto per position in Python.
    """
    ratings = timeline.ratings
    positions, starts = _windows(len(ratings), settings.max_context_length)
    named = split_names(timeline, positions, settings.split, cutoffs)
    if not any(name is not None for name in named):
        return []
    columns = _TimelineColumns(timeline, movies, user)
    examples = []
    if settings.training_layout == pieces.SEQUENCES:
        # Activity i's target is the label at position i + 1 (the first rating is no label).
        trained = np.array([name == TRAIN for name in named] + [False], bool)
        cut = pieces.cut(trained, settings.max_context_length, settings.sequence_stride)
        if cut:
            examples += [(TRAIN, e) for e in columns.encode(columns.pieces(cut, trained))]
        named = [None if name == TRAIN else name for name in named]
    kept = np.array([name is not None for name in named], bool)
    if kept.any():
        splits = [name for name in named if name is not None]
        held_out = np.array([split in HELD_OUT_SPLITS for split in splits], bool)
        batch = columns.windows(positions[kept], starts[kept], held_out)
        examples += list(zip(splits, columns.encode(batch), strict=True))
    return examples


class _TimelineColumns:
    """One timeline's examples as Arrow columns: a row per example, ragged per activity."""

    def __init__(self, timeline: Timeline, movies: dict[int, Movie], user: User | None):
        ratings = timeline.ratings
        items = [movies[r.movie_id] for r in ratings]
        self.user_id, self.user = timeline.user_id, user
        self.movie_ids = np.fromiter((r.movie_id for r in ratings), np.int64, len(ratings))
        self.scores = np.fromiter((r.rating for r in ratings), np.float32, len(ratings))
        self.years = np.fromiter((m.year for m in items), np.int64, len(items))
        self.timestamps = np.fromiter((r.timestamp for r in ratings), np.int64, len(ratings))
        genre_counts = np.fromiter((len(m.genres) for m in items), np.int64, len(items))
        self.genre_starts = np.zeros(len(items) + 1, dtype=np.int64)
        np.cumsum(genre_counts, out=self.genre_starts[1:])
        self.all_genres = pa.array([g.encode() for m in items for g in m.genres], pa.binary())

    def windows(
        self, positions: np.ndarray, starts: np.ndarray, held_out: np.ndarray
    ) -> dict[str, pa.Array]:
        """A window per label position: its context ``starts[i]:positions[i]``; held-out
        ones list the whole history too."""
        offsets, flat = _gather_ranges(starts, positions)
        columns = {
            **self._activities(starts, positions, offsets, flat),
            **self._labels(positions),
        }
        history_offsets, history_flat = _gather_ranges(
            np.zeros_like(positions), np.where(held_out, positions, 0)
        )
        columns[raw.HISTORY_MOVIE_IDS] = _lists(
            history_offsets, pa.array(self.movie_ids[history_flat]), missing=~held_out
        )
        return {**columns, **self._profile(len(positions))}

    def pieces(self, cut: list[pieces.Piece], trained: np.ndarray) -> dict[str, pa.Array]:
        """A training piece each: its activities and, per activity, the next movie where
        that is this piece's target (``raw.NO_TARGET`` elsewhere). Its label columns
        describe its newest target."""
        starts = np.array([piece.start for piece in cut], np.int64)
        ends = np.array([piece.end for piece in cut], np.int64)
        firsts = np.array([piece.first for piece in cut], np.int64)
        offsets, flat = _gather_ranges(starts, ends)
        columns = self._activities(starts, ends, offsets, flat)
        target = (flat >= np.repeat(firsts, ends - starts)) & trained[flat]
        following = self.movie_ids[np.minimum(flat + 1, len(self.movie_ids) - 1)]
        columns[raw.NEXT_MOVIE_IDS] = _lists(
            offsets, pa.array(np.where(target, following, raw.NO_TARGET))
        )
        trained_at = np.flatnonzero(trained)
        newest = trained_at[np.searchsorted(trained_at, ends) - 1]
        return {**columns, **self._labels(newest + 1), **self._profile(len(cut))}

    def _activities(
        self, starts: np.ndarray, ends: np.ndarray, offsets: np.ndarray, flat: np.ndarray
    ) -> dict[str, pa.Array]:
        """Activities ``starts[i]:ends[i]`` of each example (``offsets``, ``flat``: those
        ranges as ``_gather_ranges`` lists them)."""
        genre_offsets, genre_flat = _gather_ranges(
            self.genre_starts[starts], self.genre_starts[ends]
        )
        return {
            raw.USER_ID: _singletons(np.full(len(starts), self.user_id, np.int64)),
            raw.CONTEXT_MOVIE_ID: _lists(offsets, pa.array(self.movie_ids[flat])),
            raw.CONTEXT_MOVIE_RATING: _lists(offsets, pa.array(self.scores[flat])),
            raw.CONTEXT_MOVIE_YEAR: _lists(offsets, pa.array(self.years[flat])),
            raw.CONTEXT_MOVIE_GENRE: _lists(
                genre_offsets, self.all_genres.take(pa.array(genre_flat))
            ),
        }

    def _labels(self, positions: np.ndarray) -> dict[str, pa.Array]:
        """The label (rating ``positions[i]``) of each example."""
        return {
            raw.LABEL_MOVIE_ID: _singletons(self.movie_ids[positions]),
            raw.LABEL_TIMESTAMP: _singletons(self.timestamps[positions]),
            raw.HISTORY_LENGTH: _singletons(positions.astype(np.int64)),
            raw.HISTORY_BUCKET: _singletons(
                pa.array([raw.history_bucket(int(p)).encode() for p in positions], pa.binary())
            ),
        }

    def _profile(self, count: int) -> dict[str, pa.Array]:
        """The user's profile (data sets with a users file), on each of ``count`` examples."""
        columns: dict[str, pa.Array] = {}
        user = self.user
        if user is not None:
            columns[raw.USER_GENDER] = _singletons(pa.array([user.gender.encode()] * count))
            columns[raw.USER_AGE] = _singletons(np.full(count, user.age, np.int64))
            columns[raw.USER_OCCUPATION] = _singletons(pa.array([user.occupation.encode()] * count))
            columns[raw.USER_ZIP_PREFIX] = _singletons(pa.array([user.zip_prefix.encode()] * count))
        return columns

    @staticmethod
    def encode(columns: dict[str, pa.Array]) -> list[bytes]:
        batch = pa.RecordBatch.from_arrays(list(columns.values()), list(columns))
        return _encoder().encode(batch)


@functools.cache
def _encoder() -> example_coder.RecordBatchToExamplesEncoder:
    return example_coder.RecordBatchToExamplesEncoder()
