"""What a synthetic data set is: its size and shape (SyntheticSpec), what was written, and
the random streams that keep each concern's draws independent."""

from __future__ import annotations

import dataclasses
import pathlib

from components.data_formats.movielens import layouts, validation

LAYOUTS = tuple(layout.name for layout in layouts.LAYOUTS)
BAD_LINE_REASONS = tuple(
    reason.value
    for reason in (
        validation.Reason.WRONG_COLUMN_COUNT,
        validation.Reason.NON_NUMERIC,
        validation.Reason.RATING_OUT_OF_RANGE,
        validation.Reason.UNKNOWN_MOVIE,
        validation.Reason.DUPLICATE,
    )
)
ML100K_GENRES = validation.ML100K_GENRES
GENRES = ML100K_GENRES[1:]  # ML-1M's 18 genres; ML-100K adds "unknown" in front
NO_GENRES = validation.NO_GENRES


class Stream:
    """Random stream ids: each concern draws from its own stream, so that e.g. the
    ml-latest tag draws never shift the ratings relative to the other layouts."""

    WORLD, RATINGS, FALLBACK, ORDER, BAD, TAGS, TITLES, USERS, LINKS = range(9)


@dataclasses.dataclass(frozen=True)
class SyntheticSpec:
    """Size and shape of a synthetic MovieLens data set; the same spec gives the same bytes."""

    num_users: int = 200
    num_movies: int = 300
    # Per-user counts are min_ratings_per_user plus a lognormal spread of this sigma (a long
    # tail like ML-1M's at 1.0; the larger releases' heaviest users rate thousands).
    mean_ratings_per_user: float = 30.0
    min_ratings_per_user: int = 5
    activity_sigma: float = 1.0
    # Movie ids: mostly consecutive with small holes (ML-1M), or, when set, spread over
    # 1..max_movie_id (the larger releases: ML-25M's 62,423 movies reach id 209,171).
    max_movie_id: int | None = None
    # Release years go back from this one (most movies are recent).
    latest_year: int = 2000
    popularity_exponent: float = 1.0
    genre_affinity: float = 0.7
    successor_strength: float = 0.5
    successors_per_movie: int = 3
    mean_session_length: float = 40.0
    session_gap_seconds: float = 5 * 86_400.0
    within_session_gap_seconds: float = 30.0
    # Chance that a rating shares the previous rating's second (ML-1M: about half do). Ties
    # never touch a successor step, so fewer occur the higher successor_strength is.
    tie_probability: float = 0.5
    start_timestamp: int = 956_703_932  # 2000-04-25
    # None: most users join in the first months, as in ML-1M. A number: users join evenly
    # over that many days (the larger releases span decades).
    join_days: float | None = None
    # The movie file lists every movie (a release) or only the rated ones (a user
    # subsample of a release, whose catalogue is what its users rated).
    rated_movies_only: bool = False
    seed: int = 0
    bad_lines: int = 0

    def __post_init__(self) -> None:
        if self.num_users < 1:
            raise ValueError("num_users must be at least 1")
        if self.min_ratings_per_user < 1:
            raise ValueError("min_ratings_per_user must be at least 1")
        if self.successors_per_movie < 1:
            raise ValueError("successors_per_movie must be at least 1")
        if self.num_movies < max(self.min_ratings_per_user, self.successors_per_movie + 1):
            raise ValueError(
                "num_movies must be at least min_ratings_per_user and successors_per_movie + 1"
            )
        for name in ("genre_affinity", "successor_strength", "tie_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        if self.mean_session_length < 1:
            raise ValueError("mean_session_length must be at least 1")
        if self.bad_lines < 0:
            raise ValueError("bad_lines must not be negative")
        if self.activity_sigma <= 0:
            raise ValueError("activity_sigma must be positive")
        if self.max_movie_id is not None and self.max_movie_id < self.num_movies:
            raise ValueError("max_movie_id must be at least num_movies")
        if self.join_days is not None and self.join_days <= 0:
            raise ValueError("join_days must be positive")


@dataclasses.dataclass(frozen=True)
class SyntheticSummary:
    """What write_movielens wrote. bad_lines_by_reason lists only reasons that occur."""

    layout: str
    num_ratings: int
    num_users: int
    num_movies: int
    bad_lines_by_reason: dict[str, int]
    files: tuple[pathlib.Path, ...]
