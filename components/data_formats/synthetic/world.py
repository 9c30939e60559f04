"""The synthetic world: movies (ids, titles, years, genres, popularity, planted successors)
and users (activity, taste, join time), the same in every layout."""

from __future__ import annotations

import dataclasses

import numpy as np

from components.data_formats.synthetic.spec import GENRES, Stream, SyntheticSpec

# Roughly the ML-1M share of movies per genre, so Drama and Comedy dominate as they do there.
_GENRE_WEIGHTS = np.array(
    [8, 4, 2, 4, 20, 4, 3, 25, 1.5, 1, 5, 2, 2, 5, 4, 6, 3, 2], dtype=np.float64
)

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


@dataclasses.dataclass(frozen=True)
class World:
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


def cdf(weights: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(weights)
    return cdf / cdf[-1]


def _movie_ids(rng: np.random.Generator, count: int, max_id: int | None) -> np.ndarray:
    if max_id is not None:  # sparse up to max_id, which is always one of them
        others = rng.choice(max_id - 1, count - 1, replace=False) + 1
        return np.sort(np.append(others, max_id))
    # Mostly consecutive ids with occasional holes, as in ML-1M (3883 movies, max id 3952).
    gaps = 1 + np.where(rng.random(count) < 0.1, rng.integers(1, 8, count), 0)
    gaps[0] = 1
    if count > 1:
        gaps[count // 2] = max(int(gaps[count // 2]), 2)  # at least one hole, even when tiny
    return np.cumsum(gaps)


def _titles(spec: SyntheticSpec) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng([spec.seed, Stream.TITLES])
    count = spec.num_movies
    latest = spec.latest_year
    years = np.clip(latest - np.floor(rng.exponential(9.0, count)), 1919, latest).astype(np.int64)
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
            cdfs[group] = cdf(np.sqrt(popularity[pool]))
        # Drawing with replacement and keeping the first k new ones is a weighted draw
        # without replacement that costs O(k) per movie instead of O(len(pool)).
        draws = pool[np.searchsorted(cdfs[group], rng.random(8 * k), side="right")].tolist()
        picks = [m for m in dict.fromkeys(draws) if m != i][:k]
        if len(picks) < k:  # a pool dominated by a few movies: fall back to exact sampling
            weights = np.sqrt(popularity[pool]) * (pool != i)
            picks = pool[rng.choice(pool.size, k, replace=False, p=weights / weights.sum())]
        successors[i] = picks
    return successors


def build_world(spec: SyntheticSpec) -> World:
    rng = np.random.default_rng([spec.seed, Stream.WORLD])
    n_movies, n_users, k = spec.num_movies, spec.num_users, spec.successors_per_movie
    n_genres = len(GENRES)
    movie_ids = _movie_ids(rng, n_movies, spec.max_movie_id)

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
    popularity_cdf = cdf(popularity)
    members, cdfs, ends, genre_mass = [], [], [], np.zeros(n_genres)
    size = 0
    for g in range(n_genres):
        in_genre = np.flatnonzero(genre_bits & (1 << g))
        if in_genre.size:
            genre_mass[g] = popularity[in_genre].sum()
            members.append(in_genre)
            cdfs.append(g + cdf(popularity[in_genre]))
        size += in_genre.size
        ends.append(size)

    successors = _plant_successors(rng, members, genre_mass, primary, popularity, k)
    successor_weights = 1.0 / np.arange(1, k + 1)

    if spec.mean_ratings_per_user > spec.min_ratings_per_user:
        sigma = spec.activity_sigma
        mu = np.log(spec.mean_ratings_per_user - spec.min_ratings_per_user) - sigma**2 / 2
        spread = np.rint(rng.lognormal(mu, sigma, n_users)).astype(np.int64)
    else:
        spread = np.zeros(n_users, dtype=np.int64)
    # Heavy users stop well short of the catalogue so picks never run out of unseen movies.
    cap = min(n_movies, max(spec.min_ratings_per_user, int(0.6 * n_movies)))
    ratings_per_user = np.minimum(spec.min_ratings_per_user + spread, cap)

    favourite_genres = rng.choice(n_genres, (n_users, 2), p=genre_mass / genre_mass.sum())
    if spec.join_days is None:  # most users join in the first months, as in ML-1M
        joined = np.minimum(rng.exponential(120 * 86_400.0, n_users), 1000 * 86_400.0)
    else:
        joined = rng.uniform(0, spec.join_days * 86_400.0, n_users)
    user_start = spec.start_timestamp + joined.astype(np.int64)

    present = np.zeros(int(movie_ids[-1]) + 1, dtype=bool)
    present[movie_ids] = True
    present[0] = True
    titles, years = _titles(spec)
    return World(
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
        successor_cdf=cdf(successor_weights),
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
    world = build_world(spec)
    ids = world.movie_ids
    return {int(ids[i]): ids[row].tolist() for i, row in enumerate(world.successors.tolist())}
