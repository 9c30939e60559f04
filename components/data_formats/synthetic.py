"""Deterministic synthetic MovieLens data in the ml-1m, ml-100k and ml-latest layouts.

The files follow the real MovieLens formats (separators, encodings, quoting, headers,
line order), and the ratings carry the structure a recommender should find: Zipf-skewed movie
popularity, users who favour a couple of genres, and a planted next-movie pattern (each
movie has a few "successors" that tend to be rated right after it). Timestamps come in
sessions with many ties, as in MovieLens.

The same spec gives the same users, movies, picks and timestamps in every layout; only the
rating scale (whole stars vs half stars) and the file order differ. Ratings are simulated
and written in chunks of users, so memory stays flat for tens of millions of ratings.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import pathlib
import urllib.parse
from collections.abc import Callable, Iterator

import numpy as np

LAYOUTS = ("ml-1m", "ml-100k", "ml-latest")
BAD_LINE_REASONS = (
    "wrong_column_count",
    "non_numeric",
    "rating_out_of_range",
    "unknown_movie",
    "duplicate",
)
GENRES = (
    "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
)  # fmt: skip
ML100K_GENRES = ("unknown", *GENRES)
NO_GENRES = "(no genres listed)"
# Roughly the ML-1M share of movies per genre, so Drama and Comedy dominate as they do there.
_GENRE_WEIGHTS = np.array(
    [8, 4, 2, 4, 20, 4, 3, 25, 1.5, 1, 5, 2, 2, 5, 4, 6, 3, 2], dtype=np.float64
)
ML1M_AGES = (1, 18, 25, 35, 45, 50, 56)
_ML1M_AGE_WEIGHTS = np.array([4, 18, 35, 20, 9, 8, 6], dtype=np.float64)
ML100K_OCCUPATIONS = (
    "administrator", "artist", "doctor", "educator", "engineer", "entertainment", "executive",
    "healthcare", "homemaker", "lawyer", "librarian", "marketing", "none", "other",
    "programmer", "retired", "salesman", "scientist", "student", "technician", "writer",
)  # fmt: skip
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Real titles that exercise the parsers: commas, nested parentheses, quotes, latin-1 letters.
_SPECIAL_TITLES = (
    ("Bicycle Thief, The (Ladri di biciclette)", 1948),
    ("American President, The", 1995),
    ("Café au Lait (Métisse)", 1993),
    ('"Great Performances" Cats', 1998),
    ("City of Lost Children, The (Cité des enfants perdus, La)", 1995),
    ("Cry, the Beloved Country", 1995),
)
_ADJECTIVES = (
    "Last", "Silent", "Broken", "Golden", "Lost", "Dark", "Wild", "Secret", "Crimson",
    "Hidden", "Final", "Little", "Big", "Red", "Blue", "Frozen", "Midnight", "Endless",
    "Strange", "Sweet", "Naïve", "Déjà", "Über", "Fiancée's", "Señor", "Grand", "Quiet",
)  # fmt: skip
_NOUNS = (
    "River", "Night", "Summer", "Kingdom", "Road", "Heart", "Mountain", "City", "Dream",
    "Storm", "Garden", "Train", "Island", "Promise", "Game", "Voyage", "Mirror", "Winter",
    "Café", "Noël", "Mañana", "Garçon", "Soirée", "Façade", "Shadow", "Harbor", "Circus",
)  # fmt: skip
_TAGS = (
    "funny", "Highly quotable", "dark comedy", "based on a book", "visually appealing",
    "atmospheric", "twist ending", "sci-fi, dystopia", "classic", "boring",
)  # fmt: skip
_CHUNK_RATINGS = 250_000
TagRow = tuple[int, int, str, int]  # userId, movieId, tag, timestamp
# Stream ids keep the random draws of each concern independent, so e.g. the ml-latest tag
# draws never shift the ratings relative to the other layouts.
_WORLD, _RATINGS, _FALLBACK, _ORDER, _BAD, _TAGS_STREAM, _TITLES, _USERS, _LINKS = range(9)


@dataclasses.dataclass(frozen=True)
class SyntheticSpec:
    """Size and shape of a synthetic MovieLens data set; the same spec gives the same bytes."""

    num_users: int = 200
    num_movies: int = 300
    # Per-user counts are min_ratings_per_user plus a lognormal spread (long tail like ML-1M).
    mean_ratings_per_user: float = 30.0
    min_ratings_per_user: int = 5
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


@dataclasses.dataclass(frozen=True)
class SyntheticSummary:
    """What write_movielens wrote. bad_lines_by_reason lists only reasons that occur."""

    layout: str
    num_ratings: int
    num_users: int
    num_movies: int
    bad_lines_by_reason: dict[str, int]
    files: tuple[pathlib.Path, ...]


@dataclasses.dataclass(frozen=True)
class _World:
    """Everything about users and movies that does not depend on the layout."""

    movie_ids: np.ndarray  # sorted, with gaps
    genres: list[tuple[int, ...]]  # genre indexes per movie
    hide_genres: np.ndarray  # movies whose metadata lists no genre (ml-100k, ml-latest)
    titles: list[str]
    years: np.ndarray
    popularity_cdf: np.ndarray
    genre_members: np.ndarray  # movie indexes, grouped by genre
    genre_cdf: np.ndarray  # per group: genre index + popularity CDF within the genre
    genre_end: np.ndarray  # one past each genre's last entry in genre_members
    genre_bits: np.ndarray
    movie_bias: np.ndarray
    successors: np.ndarray  # (movies, successors_per_movie) movie indexes, likeliest first
    successor_cdf: np.ndarray
    ratings_per_user: np.ndarray
    favourite_genres: np.ndarray  # (users, 2) genre indexes; both may be the same genre
    user_bias: np.ndarray
    user_start: np.ndarray
    unknown_movie_ids: np.ndarray  # ids missing from the movie file, for injected lines


def _cdf(weights: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(weights)
    return cdf / cdf[-1]


def _movie_ids(rng: np.random.Generator, count: int) -> np.ndarray:
    # Mostly consecutive ids with occasional holes, as in ML-1M (3883 movies, max id 3952).
    gaps = 1 + np.where(rng.random(count) < 0.1, rng.integers(1, 8, count), 0)
    gaps[0] = 1
    if count > 1:
        gaps[count // 2] = max(int(gaps[count // 2]), 2)  # at least one hole, even when tiny
    return np.cumsum(gaps)


def _titles(spec: SyntheticSpec) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng([spec.seed, _TITLES])
    count = spec.num_movies
    years = np.clip(2000 - np.floor(rng.exponential(9.0, count)), 1919, 2000).astype(np.int64)
    adjectives = rng.integers(0, len(_ADJECTIVES), count).tolist()
    nouns = rng.integers(0, len(_NOUNS), (count, 2)).tolist()
    styles = rng.integers(0, 10, count).tolist()
    titles = []
    for i in range(count):
        adjective, noun, other = _ADJECTIVES[adjectives[i]], *(_NOUNS[j] for j in nouns[i])
        style = styles[i]
        if style < 4:
            name = f"{adjective} {noun}"
        elif style < 6:
            name = f"{noun} of the {other}"
        elif style < 8:
            name = f"{adjective} {noun}, The"  # MovieLens moves leading articles to the end
        elif style == 8:
            name = f"{noun}, {other} and Me"
        else:
            name = f"{adjective} {noun} ({other} {noun})"  # an alternate-language title
        titles.append(name)
    # The special titles go to random slots so they are not all low, contiguous ids.
    slots = rng.permutation(count)[: len(_SPECIAL_TITLES)].tolist()
    for slot, (name, year) in zip(slots, _SPECIAL_TITLES, strict=False):
        titles[slot] = name
        years[slot] = year
    return [f"{name} ({year})" for name, year in zip(titles, years.tolist(), strict=True)], years


def _plant_successors(
    rng: np.random.Generator,
    members: list[np.ndarray],
    genre_mass: np.ndarray,
    primary: np.ndarray,
    popularity: np.ndarray,
    k: int,
) -> np.ndarray:
    """k distinct successors per movie, from its primary genre, likeliest first.

    They are drawn by the square root of popularity: plain popularity would make "follow
    the successor" look like "rate the blockbusters", uniform draws would flatten the
    popularity skew, since successor picks make up a large share of all ratings.
    """
    n_movies = len(primary)
    successors = np.empty((n_movies, k), dtype=np.int64)
    groups = np.cumsum(genre_mass > 0) - 1  # genre index -> position in `members`
    everyone = np.arange(n_movies)
    cdfs: dict[int, np.ndarray] = {}
    for i in range(n_movies):
        group = int(groups[primary[i]])
        pool = members[group] if members[group].size > k else everyone
        if pool is everyone:
            group = -1
        if group not in cdfs:
            cdfs[group] = _cdf(np.sqrt(popularity[pool]))
        # Drawing with replacement and keeping the first k new ones is a weighted draw
        # without replacement that costs O(k) per movie instead of O(len(pool)).
        draws = pool[np.searchsorted(cdfs[group], rng.random(8 * k), side="right")].tolist()
        picks = [m for m in dict.fromkeys(draws) if m != i][:k]
        if len(picks) < k:  # a pool dominated by a few movies: fall back to exact sampling
            weights = np.sqrt(popularity[pool]) * (pool != i)
            picks = pool[rng.choice(pool.size, k, replace=False, p=weights / weights.sum())]
        successors[i] = picks
    return successors


def _build_world(spec: SyntheticSpec) -> _World:
    rng = np.random.default_rng([spec.seed, _WORLD])
    n_movies, n_users, k = spec.num_movies, spec.num_users, spec.successors_per_movie
    n_genres = len(GENRES)
    movie_ids = _movie_ids(rng, n_movies)

    genre_p = _GENRE_WEIGHTS / _GENRE_WEIGHTS.sum()
    primary = rng.choice(n_genres, n_movies, p=genre_p)
    extra = rng.choice(n_genres, (n_movies, 2), p=genre_p)
    extra_count = rng.choice(3, n_movies, p=[0.45, 0.4, 0.15])
    genres = [
        tuple(sorted({first, *more[:count]}))
        for first, more, count in zip(
            primary.tolist(), extra.tolist(), extra_count.tolist(), strict=True
        )
    ]
    genre_bits = np.array([sum(1 << g for g in gs) for gs in genres], dtype=np.int64)
    # ml-latest and ml-100k list a few movies without any genre; the movie still has its taste.
    hide_genres = rng.random(n_movies) < 0.01
    if n_movies >= 20 and not hide_genres.any():
        hide_genres[rng.integers(n_movies)] = True

    ranks = rng.permutation(n_movies)
    popularity = 1.0 / (ranks + 1.0) ** spec.popularity_exponent
    popularity_cdf = _cdf(popularity)
    members, cdfs, ends, genre_mass = [], [], [], np.zeros(n_genres)
    size = 0
    for g in range(n_genres):
        in_genre = np.flatnonzero(genre_bits & (1 << g))
        if in_genre.size:
            genre_mass[g] = popularity[in_genre].sum()
            members.append(in_genre)
            cdfs.append(g + _cdf(popularity[in_genre]))
        size += in_genre.size
        ends.append(size)

    successors = _plant_successors(rng, members, genre_mass, primary, popularity, k)
    successor_weights = 1.0 / np.arange(1, k + 1)

    if spec.mean_ratings_per_user > spec.min_ratings_per_user:
        sigma = 1.0
        mu = np.log(spec.mean_ratings_per_user - spec.min_ratings_per_user) - sigma**2 / 2
        spread = np.rint(rng.lognormal(mu, sigma, n_users)).astype(np.int64)
    else:
        spread = np.zeros(n_users, dtype=np.int64)
    # Heavy users stop well short of the catalogue so picks never run out of unseen movies.
    cap = min(n_movies, max(spec.min_ratings_per_user, int(0.6 * n_movies)))
    ratings_per_user = np.minimum(spec.min_ratings_per_user + spread, cap)

    favourite_genres = rng.choice(n_genres, (n_users, 2), p=genre_mass / genre_mass.sum())
    # Most users join in the first months, as in ML-1M, a few much later.
    user_start = spec.start_timestamp + np.minimum(
        rng.exponential(120 * 86_400.0, n_users), 1000 * 86_400.0
    ).astype(np.int64)

    present = np.zeros(int(movie_ids[-1]) + 1, dtype=bool)
    present[movie_ids] = True
    present[0] = True
    titles, years = _titles(spec)
    return _World(
        movie_ids=movie_ids,
        genres=genres,
        hide_genres=hide_genres,
        titles=titles,
        years=years,
        popularity_cdf=popularity_cdf,
        genre_members=np.concatenate(members),
        genre_cdf=np.concatenate(cdfs),
        genre_end=np.array(ends, dtype=np.int64),
        genre_bits=genre_bits,
        movie_bias=rng.normal(0.0, 0.45, n_movies) + 0.1 * np.log(popularity / popularity.mean()),
        successors=successors,
        successor_cdf=_cdf(successor_weights),
        ratings_per_user=ratings_per_user,
        favourite_genres=favourite_genres,
        user_bias=rng.normal(0.0, 0.4, n_users),
        user_start=user_start,
        unknown_movie_ids=np.flatnonzero(~present),
    )


def planted_successors(spec: SyntheticSpec) -> dict[int, list[int]]:
    """Movie id -> the movie ids planted to follow it, likeliest first.

    After a movie, the next pick is one of its successors with probability about
    ``spec.successor_strength`` (less once a user has rated them); successor j is chosen with
    weight proportional to 1 / (j + 1).
    """
    world = _build_world(spec)
    ids = world.movie_ids
    return {int(ids[i]): ids[row].tolist() for i, row in enumerate(world.successors.tolist())}


def _user_chunks(ratings_per_user: np.ndarray) -> Iterator[tuple[int, int]]:
    """Consecutive user ranges of about _CHUNK_RATINGS ratings each."""
    ends = np.cumsum(ratings_per_user)
    first, done = 0, 0
    while first < len(ratings_per_user):
        stop = int(np.searchsorted(ends, done + _CHUNK_RATINGS, side="right"))
        stop = max(stop, first + 1)
        yield first, stop
        first, done = stop, int(ends[stop - 1])


@dataclasses.dataclass(frozen=True)
class _Ratings:
    """One chunk of simulated ratings, in each user's time order."""

    user: np.ndarray  # user indexes
    movie: np.ndarray  # movie indexes
    score: np.ndarray  # latent rating before rounding to a layout's scale
    timestamp: np.ndarray


def _simulate(world: _World, spec: SyntheticSpec, first: int, stop: int, chunk: int) -> _Ratings:
    rng = np.random.default_rng([spec.seed, _RATINGS, chunk])
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
    fallback_rng = np.random.default_rng([spec.seed, _FALLBACK, chunk])
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
    return _Ratings(user, movie, score, timestamp)


def _pick(
    world: _World,
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


def _rating_strings(layout: str, score: np.ndarray) -> list[str]:
    if layout == "ml-latest":
        halves = np.clip(np.rint(score * 2), 1, 10).astype(np.int64)
        return np.array([f"{h / 2:.1f}" for h in range(11)])[halves].tolist()
    stars = np.clip(np.rint(score), 1, 5).astype(np.int64)
    return np.array([str(s) for s in range(6)])[stars].tolist()


def _file_order(
    layout: str, ratings: _Ratings, movie_ids: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The order each layout's real ratings file uses, applied within one chunk."""
    if layout == "ml-1m":  # grouped by user, in no particular order within a user
        return np.lexsort((rng.random(len(ratings.user)), ratings.user))
    if layout == "ml-latest":
        return np.lexsort((movie_ids[ratings.movie], ratings.user))
    return rng.permutation(len(ratings.user))  # ml-100k is shuffled


@dataclasses.dataclass(frozen=True)
class _Format:
    ratings_file: str
    separator: str
    header: str | None


_FORMATS = {
    "ml-1m": _Format("ratings.dat", "::", None),
    "ml-100k": _Format("u.data", "\t", None),
    "ml-latest": _Format("ratings.csv", ",", "userId,movieId,rating,timestamp"),
}


def _bad_line(
    index: int,
    layout: str,
    fields: list[str],
    lines: list[str],
    run_start: int,
    row: int,
    world: _World,
    rng: np.random.Generator,
) -> str:
    """The index-th corrupt line (reasons in round-robin), modelled on ratings row ``row``."""
    reason = BAD_LINE_REASONS[index % len(BAD_LINE_REASONS)]
    nth = index // len(BAD_LINE_REASONS)  # alternates between two variants of each reason
    sep = _FORMATS[layout].separator
    user, movie, rating, timestamp = fields
    if reason == "wrong_column_count":
        parts = [user, movie, rating] if nth % 2 == 0 else [*fields, timestamp]
    elif reason == "non_numeric":
        parts = (
            [f"x{user}", movie, rating, timestamp]
            if nth % 2 == 0
            else [user, movie, "abc", timestamp]
        )
    elif reason == "rating_out_of_range":
        wrong = ("7.5", "0.0") if layout == "ml-latest" else ("9", "0")
        parts = [user, movie, wrong[nth % 2], timestamp]
    elif reason == "unknown_movie":
        holes = world.unknown_movie_ids
        if nth % 2 == 0 and holes.size:
            missing = int(holes[(nth // 2) % holes.size])  # a hole between real ids
        else:
            missing = int(world.movie_ids[-1]) + 1 + nth
        parts = [user, str(missing), rating, timestamp]
    else:  # duplicate: repeats an earlier line of the same user (any earlier line in ml-100k)
        return lines[int(rng.integers(run_start, row + 1))]
    return sep.join(parts) + "\n"


def _write_ratings(
    path: pathlib.Path,
    layout: str,
    world: _World,
    spec: SyntheticSpec,
    write_tags: Callable[[list[TagRow]], object] | None = None,
) -> dict[str, int]:
    """Streams the ratings file, chunk by chunk; returns the bad-line counts by reason.

    ``write_tags`` receives ml-latest's tag rows as each chunk is simulated.
    """
    fmt = _FORMATS[layout]
    line_format = fmt.separator.join(["{}"] * 4) + "\n"
    total = int(world.ratings_per_user.sum())
    bad_rng = np.random.default_rng([spec.seed, _BAD])
    bad_after = np.sort(bad_rng.integers(0, total, spec.bad_lines))  # row each follows
    bad_counts: dict[str, int] = {}
    offset = 0
    with open(path, "wb") as out:
        if fmt.header:
            out.write((fmt.header + "\n").encode("ascii"))
        for chunk, (first, stop) in enumerate(_user_chunks(world.ratings_per_user)):
            ratings = _simulate(world, spec, first, stop, chunk)
            order = _file_order(
                layout, ratings, world.movie_ids, np.random.default_rng([spec.seed, _ORDER, chunk])
            )
            user_ids = ratings.user[order] + 1
            columns = (
                user_ids.tolist(),
                world.movie_ids[ratings.movie[order]].tolist(),
                _rating_strings(layout, ratings.score[order]),
                ratings.timestamp[order].tolist(),
            )
            lines = list(map(line_format.format, *columns))
            if write_tags is not None:
                write_tags(_tag_rows(columns, spec, chunk))

            lo, hi = np.searchsorted(bad_after, [offset, offset + len(lines)])
            if lo == hi:
                out.write("".join(lines).encode("ascii"))
            else:
                # Duplicates copy from the same user's block so ml-1m stays grouped by user.
                run_starts = np.flatnonzero(np.r_[True, user_ids[1:] != user_ids[:-1]])
                chunk_rng = np.random.default_rng([spec.seed, _BAD, chunk])
                pieces: list[str] = []
                done = 0
                for index in range(int(lo), int(hi)):
                    row = int(bad_after[index]) - offset
                    run_start = 0
                    if layout != "ml-100k":
                        run_start = int(run_starts[np.searchsorted(run_starts, row, "right") - 1])
                    fields = [str(column[row]) for column in columns]
                    bad = _bad_line(index, layout, fields, lines, run_start, row, world, chunk_rng)
                    pieces.extend(lines[done : row + 1])
                    pieces.append(bad)
                    done = row + 1
                    reason = BAD_LINE_REASONS[index % len(BAD_LINE_REASONS)]
                    bad_counts[reason] = bad_counts.get(reason, 0) + 1
                pieces.extend(lines[done:])
                out.write("".join(pieces).encode("ascii"))
            offset += len(lines)
    return bad_counts


def _tag_rows(columns: tuple[list, ...], spec: SyntheticSpec, chunk: int) -> list[TagRow]:
    """A few tags on rated movies (about one rating in 40), in ratings-file order."""
    rng = np.random.default_rng([spec.seed, _TAGS_STREAM, chunk])
    rows = np.flatnonzero(rng.random(len(columns[0])) < 1 / 40).tolist()
    words = rng.integers(0, len(_TAGS), len(rows)).tolist()
    delays = rng.integers(1, 3600, len(rows)).tolist()
    users, movies, _, timestamps = columns
    return [
        (users[r], movies[r], _TAGS[w], timestamps[r] + d)
        for r, w, d in zip(rows, words, delays, strict=True)
    ]


def _genre_names(world: _World, movie: int, names: tuple[str, ...]) -> list[str]:
    return [names[g] for g in world.genres[movie]]


def _write_movies(
    out_dir: pathlib.Path, layout: str, world: _World, spec: SyntheticSpec
) -> list[pathlib.Path]:
    """Writes the movie file (and ml-latest's links.csv); returns the paths written."""
    ids = world.movie_ids.tolist()
    if layout == "ml-1m":
        path = out_dir / "movies.dat"
        text = "".join(
            f"{movie_id}::{world.titles[i]}::{'|'.join(_genre_names(world, i, GENRES))}\n"
            for i, movie_id in enumerate(ids)
        )
        path.write_bytes(text.encode("latin-1"))
        return [path]
    if layout == "ml-100k":
        rng = np.random.default_rng([spec.seed, _TITLES, 1])
        days = rng.integers(1, 29, len(ids)).tolist()
        months = rng.integers(0, 12, len(ids)).tolist()
        lines = []
        for i, movie_id in enumerate(ids):
            title = world.titles[i]
            date = f"{days[i]:02d}-{_MONTHS[months[i]]}-{world.years[i]}"
            url = "http://us.imdb.com/M/title-exact?" + urllib.parse.quote(
                title, safe="(),", encoding="latin-1"
            )
            flags = ["0"] * len(ML100K_GENRES)
            for g in world.genres[i]:
                flags[g + 1] = "1"
            if world.hide_genres[i]:  # ml-100k marks a movie without genres as "unknown"
                flags = ["1"] + ["0"] * len(GENRES)
            lines.append("|".join([str(movie_id), title, date, "", url, *flags]) + "\n")
        path = out_dir / "u.item"
        path.write_bytes("".join(lines).encode("latin-1"))
        return [path]
    # ml-latest renamed "Children's" to "Children".
    names = tuple("Children" if g == "Children's" else g for g in GENRES)
    movies = out_dir / "movies.csv"
    with open(movies, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["movieId", "title", "genres"])
        for i, movie_id in enumerate(ids):
            genres = [] if world.hide_genres[i] else _genre_names(world, i, names)
            writer.writerow([movie_id, world.titles[i], "|".join(genres) or NO_GENRES])
    rng = np.random.default_rng([spec.seed, _LINKS])
    count = len(ids)
    # Distinct multiples plus a small offset keep the external ids unique but irregular.
    imdb = (60_000 + rng.permutation(count) * 37 + rng.integers(0, 37, count)).tolist()
    tmdb = (2 + rng.permutation(count) * 11 + rng.integers(0, 11, count)).tolist()
    no_tmdb = (rng.random(count) < 0.01).tolist()
    links = out_dir / "links.csv"
    with open(links, "w", encoding="utf-8", newline="") as handle:
        handle.write("movieId,imdbId,tmdbId\n")
        for movie_id, imdb_id, tmdb_id, missing in zip(ids, imdb, tmdb, no_tmdb, strict=True):
            handle.write(f"{movie_id},{imdb_id:07d},{'' if missing else tmdb_id}\n")
    return [movies, links]


def _write_users(out_dir: pathlib.Path, layout: str, spec: SyntheticSpec) -> list[pathlib.Path]:
    """Writes users.dat (ml-1m) or u.user, u.genre and u.occupation (ml-100k)."""
    if layout == "ml-latest":
        return []
    rng = np.random.default_rng([spec.seed, _USERS])
    n = spec.num_users
    gender = np.where(rng.random(n) < 0.72, "M", "F").tolist()
    zips = rng.integers(0, 100_000, n).tolist()
    plus_four = rng.integers(0, 10_000, n).tolist()
    zip_style = rng.random(n).tolist()
    if layout == "ml-1m":
        ages = rng.choice(ML1M_AGES, n, p=_ML1M_AGE_WEIGHTS / _ML1M_AGE_WEIGHTS.sum()).tolist()
        occupations = rng.integers(0, 21, n).tolist()
        lines = []
        for u in range(n):
            code = f"{zips[u]:05d}" + (f"-{plus_four[u]:04d}" if zip_style[u] < 0.1 else "")
            lines.append(f"{u + 1}::{gender[u]}::{ages[u]}::{occupations[u]}::{code}\n")
        path = out_dir / "users.dat"
        path.write_bytes("".join(lines).encode("latin-1"))
        return [path]
    ages = np.clip(np.rint(rng.normal(33, 12, n)), 7, 73).astype(np.int64).tolist()
    occupations = rng.integers(0, len(ML100K_OCCUPATIONS), n).tolist()
    letters = rng.integers(0, 26, (n, 3)).tolist()
    lines = []
    for u in range(n):
        code = f"{zips[u]:05d}"
        if zip_style[u] < 0.02:  # ML-100K has a few Canadian postal codes
            a, b, c = (chr(65 + x) for x in letters[u])
            code = f"{a}{zips[u] % 10}{b}{zips[u] // 10 % 10}{c}"
        occupation = ML100K_OCCUPATIONS[occupations[u]]
        lines.append(f"{u + 1}|{ages[u]}|{gender[u]}|{occupation}|{code}\n")
    users = out_dir / "u.user"
    users.write_bytes("".join(lines).encode("latin-1"))
    genres = out_dir / "u.genre"
    genres.write_bytes("".join(f"{g}|{i}\n" for i, g in enumerate(ML100K_GENRES)).encode())
    occupation_file = out_dir / "u.occupation"
    occupation_file.write_bytes("".join(f"{o}\n" for o in ML100K_OCCUPATIONS).encode())
    return [users, genres, occupation_file]


def write_movielens(
    out_dir: str | os.PathLike, layout: str, spec: SyntheticSpec
) -> SyntheticSummary:
    """Writes a synthetic data set in ``layout`` ("ml-1m", "ml-100k" or "ml-latest").

    Bad lines (``spec.bad_lines``) go into the ratings file only, cycling through
    BAD_LINE_REASONS; they are not counted in ``num_ratings``.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"Unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}.")
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    world = _build_world(spec)
    files = [*_write_movies(out, layout, world, spec), *_write_users(out, layout, spec)]
    ratings = out / _FORMATS[layout].ratings_file
    if layout == "ml-latest":
        tags = out / "tags.csv"
        with open(tags, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["userId", "movieId", "tag", "timestamp"])
            bad_counts = _write_ratings(ratings, layout, world, spec, writer.writerows)
        files += [ratings, tags]
    else:
        bad_counts = _write_ratings(ratings, layout, world, spec)
        files.append(ratings)
    return SyntheticSummary(
        layout=layout,
        num_ratings=int(world.ratings_per_user.sum()),
        num_users=spec.num_users,
        num_movies=spec.num_movies,
        bad_lines_by_reason={r: bad_counts[r] for r in BAD_LINE_REASONS if r in bad_counts},
        files=tuple(files),
    )
