"""The shapes of the MovieLens releases, to synthesize data of a real release's size.

None of the larger releases is on our machines, and a pipeline meant for production data
must be measured on data of that size: ``spec_like("ml-25m")`` gives a SyntheticSpec with
ML-25M's users, catalogue, sparse id range, time span and heavy tails; ``scale`` keeps a
fraction of the users, as a user subsample of the release would (its catalogue is then
what those users rated).
"""

from __future__ import annotations

import dataclasses
import datetime

from components.data_formats.synthetic.spec import SyntheticSpec


@dataclasses.dataclass(frozen=True)
class Release:
    """A MovieLens release's published figures (its README) and file layout."""

    name: str
    layout: str
    ratings: int
    users: int
    movies: int  # in the movie file
    max_movie_id: int
    first_day: str  # of the ratings, UTC
    last_day: str
    min_ratings_per_user: int = 20

    @property
    def mean_ratings_per_user(self) -> float:
        return self.ratings / self.users


def _utc(day: str) -> int:
    return int(
        datetime.datetime.fromisoformat(day).replace(tzinfo=datetime.timezone.utc).timestamp()
    )


RELEASES = {
    release.name: release
    for release in (
        Release("ml-1m", "ml-1m", 1_000_209, 6_040, 3_883, 3_952, "2000-04-25", "2003-02-28"),
        Release(
            "ml-20m", "ml-latest", 20_000_263, 138_493, 27_278, 131_262, "1995-01-09", "2015-03-31"
        ),
        Release(
            "ml-25m", "ml-latest", 25_000_095, 162_541, 62_423, 209_171, "1995-01-09", "2019-11-21"
        ),
        Release(
            "ml-32m", "ml-latest", 32_000_204, 200_948, 87_585, 292_757, "1995-01-09", "2023-10-12"
        ),
    )
}
# Shape of the larger releases beyond their published figures: per-user counts with a
# heavier tail than ML-1M's (ML-25M: median 71 against a mean of 154; heaviest users rate
# tens of thousands), and users who join over the whole span, not in its first months.
_LARGE_ACTIVITY_SIGMA = 1.25
# ... and a steeper popularity curve over their larger catalogues: at exponent 1.2 the top
# 1% of ML-25M's movies hold about 40% of the ratings and the median movie a few dozen
# (measured on the synthetic data; the release's own median is lower: no single Zipf
# exponent matches both its head and its tail).
_LARGE_POPULARITY_EXPONENT = 1.2
# A user's last ratings come this long before the release's last day at most, so that the
# simulated sessions stay within the span.
_ACTIVE_YEARS = 3


def spec_like(name: str, scale: float = 1.0, seed: int = 0, bad_lines: int = 0) -> SyntheticSpec:
    """A spec of release ``name``'s shape with ``scale`` of its users (about ``scale`` of
    its ratings). Raises ValueError naming the releases for an unknown name or a scale
    outside (0, 1]."""
    if name not in RELEASES:
        raise ValueError(f"unknown release {name!r}; one of {', '.join(RELEASES)}")
    if not 0 < scale <= 1:
        raise ValueError(f"--scale must be in (0, 1], got {scale}")
    release = RELEASES[name]
    users = max(1, round(release.users * scale))
    start = _utc(release.first_day)
    span_days = (_utc(release.last_day) - start) / 86_400
    small = release.layout == "ml-1m"
    return SyntheticSpec(
        num_users=users,
        num_movies=release.movies,
        mean_ratings_per_user=release.mean_ratings_per_user,
        min_ratings_per_user=release.min_ratings_per_user,
        activity_sigma=1.0 if small else _LARGE_ACTIVITY_SIGMA,
        popularity_exponent=1.0 if small else _LARGE_POPULARITY_EXPONENT,
        max_movie_id=release.max_movie_id,
        latest_year=int(release.last_day[:4]),
        start_timestamp=start,
        join_days=None if small else max(1.0, span_days - 365 * _ACTIVE_YEARS),
        rated_movies_only=scale < 1,
        seed=seed,
        bad_lines=bad_lines,
    )
