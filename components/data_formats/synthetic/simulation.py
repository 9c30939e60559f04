"""Ratings simulated chunk by chunk of users: each user's picks and timestamps."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np

from components.data_formats.synthetic.spec import Stream, SyntheticSpec
from components.data_formats.synthetic.world import World

CHUNK_RATINGS = 250_000


def user_chunks(ratings_per_user: np.ndarray) -> Iterator[tuple[int, int]]:
    """Consecutive user ranges of about CHUNK_RATINGS ratings each."""
    ends = np.cumsum(ratings_per_user)
    first, done = 0, 0
    while first < len(ratings_per_user):
        stop = int(np.searchsorted(ends, done + CHUNK_RATINGS, side="right"))
        stop = max(stop, first + 1)
        yield first, stop
        first, done = stop, int(ends[stop - 1])


@dataclasses.dataclass(frozen=True)
class Ratings:
    """One chunk of simulated ratings, in each user's time order."""

    user: np.ndarray  # user indexes
    movie: np.ndarray  # movie indexes
    score: np.ndarray  # latent rating before rounding to a layout's scale
    timestamp: np.ndarray


def simulate(world: World, spec: SyntheticSpec, first: int, stop: int, chunk: int) -> Ratings:
    rng = np.random.default_rng([spec.seed, Stream.RATINGS, chunk])
    counts = world.ratings_per_user[first:stop]
    n = int(counts.sum())
    starts = np.cumsum(counts) - counts
    user = np.repeat(np.arange(first, stop), counts)

    # All random choices are drawn up front as arrays; the loop in _pick only looks them up.
    follow = rng.random(n) < spec.successor_strength
    slot = np.searchsorted(world.successor_cdf, rng.random(n), side="right")
    favourite = world.favourite_genres[user, rng.integers(0, 2, n)]
    in_genre = np.searchsorted(world.genre_cdf, favourite + rng.random(n), side="right")
    # Float rounding can lift g + r to g + 1, which belongs to the next genre.
    in_genre = np.minimum(in_genre, world.genre_end[favourite] - 1)
    by_popularity = np.searchsorted(world.popularity_cdf, rng.random(n), side="right")
    by_taste = np.where(
        rng.random(n) < spec.genre_affinity, world.genre_members[in_genre], by_popularity
    )
    fallback_rng = np.random.default_rng([spec.seed, Stream.FALLBACK, chunk])
    movie, used = _pick(world, by_taste, follow, slot, starts, counts, fallback_rng)

    new_session = rng.random(n) < 1.0 / spec.mean_session_length
    between = 60.0 + rng.exponential(spec.session_gap_seconds, n)
    within = 1.0 + rng.exponential(spec.within_session_gap_seconds, n)
    tie = rng.random(n) < spec.tie_probability
    # Tied ratings are ordered by file position, which differs per layout; keeping ties away
    # from both ends of a successor step keeps the planted pattern intact in every layout.
    near_successor = used.copy()
    near_successor[1:] |= used[:-1]
    near_successor[:-1] |= used[1:]
    gap = np.where(new_session, between, np.where(tie & ~near_successor, 0.0, within))
    gap = gap.astype(np.int64)
    gap[starts] = 0
    elapsed = np.cumsum(gap)
    timestamp = world.user_start[user] + elapsed - np.repeat(elapsed[starts], counts)

    taste = (1 << world.favourite_genres).sum(axis=1)
    likes_genre = (world.genre_bits[movie] & taste[user]) != 0
    score = (
        3.55
        + world.user_bias[user]
        + world.movie_bias[movie]
        + 0.4 * likes_genre
        + rng.normal(0.0, 0.9, n)
    )
    return Ratings(user, movie, score, timestamp)


def _pick(
    world: World,
    by_taste: np.ndarray,
    follow: np.ndarray,
    slot: np.ndarray,
    starts: np.ndarray,
    counts: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Walks each user's timeline: successor of the previous pick, else the taste draw.

    Returns the movie indexes and whether each came from a successor. Every movie appears
    at most once per user; a repeat is replaced by a popularity draw (then the next unseen
    index, which always exists because users rate at most 60% of the movies).
    """
    n_movies = len(world.movie_ids)
    k = world.successors.shape[1]
    successors = world.successors.ravel().tolist()
    # Python lists: indexing them is several times faster than numpy scalars in this loop.
    taste, follows, slots = by_taste.tolist(), follow.tolist(), slot.tolist()
    movie = [0] * len(taste)
    used = [False] * len(taste)
    spare: list[int] = []
    for start, count in zip(starts.tolist(), counts.tolist(), strict=True):
        seen: set[int] = set()
        prev = -1
        for pos in range(start, start + count):
            if prev >= 0 and follows[pos]:
                cand = successors[prev * k + slots[pos]]
                if cand not in seen:
                    used[pos] = True
                    seen.add(cand)
                    movie[pos] = prev = cand
                    continue
            cand = taste[pos]
            tries = 0
            while cand in seen and tries < 8:
                if not spare:
                    spare = np.searchsorted(
                        world.popularity_cdf, rng.random(4096), side="right"
                    ).tolist()
                cand = spare.pop()
                tries += 1
            while cand in seen:
                cand = (cand + 1) % n_movies
            seen.add(cand)
            movie[pos] = prev = cand
    return np.array(movie, dtype=np.int64), np.array(used, dtype=bool)


def rating_strings(layout: str, score: np.ndarray) -> list[str]:
    if layout == "ml-latest":
        halves = np.clip(np.rint(score * 2), 1, 10).astype(np.int64)
        return np.array([f"{h / 2:.1f}" for h in range(11)])[halves].tolist()
    stars = np.clip(np.rint(score), 1, 5).astype(np.int64)
    return np.array([str(s) for s in range(6)])[stars].tolist()


def file_order(
    layout: str, ratings: Ratings, movie_ids: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The order each layout's real ratings file uses, applied within one chunk."""
    if layout == "ml-1m":  # grouped by user, in no particular order within a user
        return np.lexsort((rng.random(len(ratings.user)), ratings.user))
    if layout == "ml-latest":
        return np.lexsort((movie_ids[ratings.movie], ratings.user))
    return rng.permutation(len(ratings.user))  # ml-100k is shuffled
