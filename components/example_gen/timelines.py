"""Per-user timelines and next-movie examples, in plain Python.

The Beam executor calls these functions per user; the benchmark's single-process baseline
calls the very same ones, so both produce identical examples.
"""

from __future__ import annotations

import dataclasses
import hashlib
import struct
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

import tensorflow as tf

from components.data_formats.movielens import Movie, Rating, Reason, User
from components.example_gen import features as raw

TRAIN, EVAL, TEST = "train", "eval", "test"
SPLITS = (TRAIN, EVAL, TEST)


@dataclasses.dataclass(frozen=True)
class SplitSettings:
    """How examples are assigned to train / eval / test.

    * ``leave_last_out``: per user, the last label is test, the one before is eval.
    * ``random``: example-level seeded split (the seed's protocol; windows overlap).
    * ``temporal``: global cut-offs on the label timestamp.
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

    KINDS = ("leave_last_out", "random", "temporal")

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"Unknown split {self.kind!r}; choose one of {self.KINDS}")
        if not 0 < self.train_fraction < 1 or not 0 <= self.eval_fraction < 1 - self.train_fraction:
            raise ValueError("random split needs 0 < train_fraction < 1 - eval_fraction")
        if not 0 < self.temporal_eval_quantile < self.temporal_test_quantile < 1:
            raise ValueError("temporal split needs 0 < eval quantile < test quantile < 1")


@dataclasses.dataclass(frozen=True)
class ExampleSettings:
    min_rating: float = 0.0
    min_timeline_length: int = 3
    max_context_length: int = 10
    split: SplitSettings = dataclasses.field(default_factory=SplitSettings)


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


def _int64(values: Iterable[int]) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def _float(values: Iterable[float]) -> tf.train.Feature:
    return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def _bytes(values: Iterable[str]) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode() for v in values]))


def make_example(
    timeline: Timeline,
    position: int,
    movies: dict[int, Movie],
    user: User | None,
    max_context_length: int,
) -> tf.train.Example:
    """The example predicting ``timeline.ratings[position]`` from the ratings before it.

    Sequence features hold the most recent ``max_context_length`` context movies, oldest
    first, unpadded; Transform pads them to the lengths in the input config.
    """
    label = timeline.ratings[position]
    context = timeline.ratings[max(0, position - max_context_length) : position]
    context_movies = [movies[r.movie_id] for r in context]
    feature = {
        raw.USER_ID: _int64([timeline.user_id]),
        raw.CONTEXT_MOVIE_ID: _int64([r.movie_id for r in context]),
        raw.CONTEXT_MOVIE_RATING: _float([r.rating for r in context]),
        raw.CONTEXT_MOVIE_YEAR: _int64([m.year for m in context_movies]),
        raw.CONTEXT_MOVIE_GENRE: _bytes([g for m in context_movies for g in m.genres]),
        raw.LABEL_MOVIE_ID: _int64([label.movie_id]),
        raw.LABEL_TIMESTAMP: _int64([label.timestamp]),
        raw.HISTORY_LENGTH: _int64([position]),
    }
    if user is not None:
        feature[raw.USER_GENDER] = _bytes([user.gender])
        feature[raw.USER_AGE] = _int64([user.age])
        feature[raw.USER_OCCUPATION] = _bytes([user.occupation])
        feature[raw.USER_ZIP_PREFIX] = _bytes([user.zip_prefix])
    return tf.train.Example(features=tf.train.Features(feature=feature))


def timeline_examples(
    timeline: Timeline,
    movies: dict[int, Movie],
    user: User | None,
    settings: ExampleSettings,
    cutoffs: Sequence[int] = (),
) -> Iterator[tuple[str, bytes]]:
    """(split, serialized example) for every label position after the first."""
    for position in range(1, len(timeline.ratings)):
        split = assign_split(timeline, position, settings.split, cutoffs)
        example = make_example(timeline, position, movies, user, settings.max_context_length)
        yield split, example.SerializeToString()
