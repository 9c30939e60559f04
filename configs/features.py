"""The raw features ExampleGen writes: the data contract between ExampleGen and the config.

The input config chooses among these by name; schema/schema.pbtxt describes the same set
(a test keeps the two in step).
"""

from __future__ import annotations

import dataclasses
import enum
import itertools


class Kind(str, enum.Enum):
    INT = "INT"
    FLOAT = "FLOAT"
    STRING = "STRING"


class Shape(str, enum.Enum):
    SCALAR = "scalar"  # one value per example
    PER_CONTEXT_MOVIE = "per_context_movie"  # one value per context movie, oldest first
    FLATTENED = "flattened"  # several values per context movie, concatenated oldest first
    # Every movie the user rated before the label, oldest first: what a ranking must exclude.
    # Only held-out (eval and test) examples carry it; it is never a model input.
    WHOLE_HISTORY = "whole_history"
    # Training pieces only (the sequence layout): per context movie, the movie rated right
    # after it where that next movie is a training target, else 0. A label, never an input.
    NEXT_MOVIES = "next_movies"


@dataclasses.dataclass(frozen=True)
class RawFeature:
    name: str
    kind: Kind
    shape: Shape
    user_feature: bool = False  # only present when the data set has a users file


USER_ID = "user_id"
CONTEXT_MOVIE_ID = "context_movie_id"
CONTEXT_MOVIE_RATING = "context_movie_rating"
CONTEXT_MOVIE_YEAR = "context_movie_year"
CONTEXT_MOVIE_GENRE = "context_movie_genre"
LABEL_MOVIE_ID = "label_movie_id"
LABEL_TIMESTAMP = "label_timestamp"
HISTORY_LENGTH = "history_length"  # all earlier ratings of the user, before truncation
HISTORY_BUCKET = "history_bucket"  # HISTORY_LENGTH in coarse ranges, for sliced evaluation
HISTORY_MOVIE_IDS = "history_movie_ids"  # the whole watch history (eval and test examples)
NEXT_MOVIE_IDS = "next_movie_ids"  # the targets of a training piece (sequence layout)
# In NEXT_MOVIE_IDS: no training target at this position (held out, or trained in an
# older piece). Never a movie id: ids start at 1.
NO_TARGET = 0
USER_GENDER = "user_gender"
USER_AGE = "user_age"
USER_OCCUPATION = "user_occupation"
USER_ZIP_PREFIX = "user_zip_prefix"

RAW_FEATURES: dict[str, RawFeature] = {
    f.name: f
    for f in (
        RawFeature(USER_ID, Kind.INT, Shape.SCALAR),
        RawFeature(CONTEXT_MOVIE_ID, Kind.INT, Shape.PER_CONTEXT_MOVIE),
        RawFeature(CONTEXT_MOVIE_RATING, Kind.FLOAT, Shape.PER_CONTEXT_MOVIE),
        RawFeature(CONTEXT_MOVIE_YEAR, Kind.INT, Shape.PER_CONTEXT_MOVIE),
        RawFeature(CONTEXT_MOVIE_GENRE, Kind.STRING, Shape.FLATTENED),
        RawFeature(LABEL_MOVIE_ID, Kind.INT, Shape.SCALAR),
        RawFeature(LABEL_TIMESTAMP, Kind.INT, Shape.SCALAR),
        RawFeature(HISTORY_LENGTH, Kind.INT, Shape.SCALAR),
        RawFeature(HISTORY_BUCKET, Kind.STRING, Shape.SCALAR),
        RawFeature(HISTORY_MOVIE_IDS, Kind.INT, Shape.WHOLE_HISTORY),
        RawFeature(NEXT_MOVIE_IDS, Kind.INT, Shape.NEXT_MOVIES),
        RawFeature(USER_GENDER, Kind.STRING, Shape.SCALAR, user_feature=True),
        RawFeature(USER_AGE, Kind.INT, Shape.SCALAR, user_feature=True),
        RawFeature(USER_OCCUPATION, Kind.STRING, Shape.SCALAR, user_feature=True),
        RawFeature(USER_ZIP_PREFIX, Kind.STRING, Shape.SCALAR, user_feature=True),
    )
}

# Lower bounds of the history-length buckets evaluation is sliced by.
HISTORY_BUCKET_STARTS = (1, 5, 20, 50, 200)


def history_bucket(length: int) -> str:
    """The bucket name of a history length, e.g. "005-019" or "200+" (names sort in order)."""
    starts = HISTORY_BUCKET_STARTS
    for start, end in itertools.pairwise(starts):
        if length < end:
            return f"{start:03d}-{end - 1:03d}"
    return f"{starts[-1]}+"
