"""The files of each MovieLens layout, written from the world and the simulated ratings."""

from __future__ import annotations

import csv
import dataclasses
import os
import pathlib
import urllib.parse
from collections.abc import Callable

import numpy as np

from components.data_formats.synthetic.simulation import (
    file_order,
    rating_strings,
    simulate,
    user_chunks,
)
from components.data_formats.synthetic.spec import (
    BAD_LINE_REASONS,
    GENRES,
    LAYOUTS,
    ML100K_GENRES,
    NO_GENRES,
    Stream,
    SyntheticSpec,
    SyntheticSummary,
)
from components.data_formats.synthetic.world import World, build_world

ML1M_AGES = (1, 18, 25, 35, 45, 50, 56)

_ML1M_AGE_WEIGHTS = np.array([4, 18, 35, 20, 9, 8, 6], dtype=np.float64)

ML100K_OCCUPATIONS = (
    "administrator", "artist", "doctor", "educator", "engineer", "entertainment", "executive",
    "healthcare", "homemaker", "lawyer", "librarian", "marketing", "none", "other",
    "programmer", "retired", "salesman", "scientist", "student", "technician", "writer",
)  # fmt: skip

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_TAGS = (
    "funny", "Highly quotable", "dark comedy", "based on a book", "visually appealing",
    "atmospheric", "twist ending", "sci-fi, dystopia", "classic", "boring",
)  # fmt: skip

TagRow = tuple[int, int, str, int]  # userId, movieId, tag, timestamp


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
    world: World,
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
    world: World,
    spec: SyntheticSpec,
    write_tags: Callable[[list[TagRow]], object] | None = None,
) -> tuple[dict[str, int], np.ndarray]:
    """Streams the ratings file, chunk by chunk; returns the bad-line counts by reason and
    which movies (world indexes) were rated.

    ``write_tags`` receives ml-latest's tag rows as each chunk is simulated.
    """
    fmt = _FORMATS[layout]
    line_format = fmt.separator.join(["{}"] * 4) + "\n"
    total = int(world.ratings_per_user.sum())
    bad_rng = np.random.default_rng([spec.seed, Stream.BAD])
    bad_after = np.sort(bad_rng.integers(0, total, spec.bad_lines))  # row each follows
    bad_counts: dict[str, int] = {}
    rated = np.zeros(len(world.movie_ids), bool)
    offset = 0
    with open(path, "wb") as out:
        if fmt.header:
            out.write((fmt.header + "\n").encode("ascii"))
        for chunk, (first, stop) in enumerate(user_chunks(world.ratings_per_user)):
            ratings = simulate(world, spec, first, stop, chunk)
            rated[ratings.movie] = True
            order = file_order(
                layout,
                ratings,
                world.movie_ids,
                np.random.default_rng([spec.seed, Stream.ORDER, chunk]),
            )
            user_ids = ratings.user[order] + 1
            columns = (
                user_ids.tolist(),
                world.movie_ids[ratings.movie[order]].tolist(),
                rating_strings(layout, ratings.score[order]),
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
                chunk_rng = np.random.default_rng([spec.seed, Stream.BAD, chunk])
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
    return bad_counts, rated


def _tag_rows(columns: tuple[list, ...], spec: SyntheticSpec, chunk: int) -> list[TagRow]:
    """A few tags on rated movies (about one rating in 40), in ratings-file order."""
    rng = np.random.default_rng([spec.seed, Stream.TAGS, chunk])
    rows = np.flatnonzero(rng.random(len(columns[0])) < 1 / 40).tolist()
    words = rng.integers(0, len(_TAGS), len(rows)).tolist()
    delays = rng.integers(1, 3600, len(rows)).tolist()
    users, movies, _, timestamps = columns
    return [
        (users[r], movies[r], _TAGS[w], timestamps[r] + d)
        for r, w, d in zip(rows, words, delays, strict=True)
    ]


def _genre_names(world: World, movie: int, names: tuple[str, ...]) -> list[str]:
    return [names[g] for g in world.genres[movie]]


def _write_movies(
    out_dir: pathlib.Path, layout: str, world: World, spec: SyntheticSpec, listed: np.ndarray
) -> list[pathlib.Path]:
    """Writes the movie file (and ml-latest's links.csv) with the movies whose index is
    ``listed``; returns the paths written. Per-movie draws are made for every movie of the
    world, so a movie's line is the same whichever others are listed."""
    all_ids = world.movie_ids.tolist()
    ids = [(i, all_ids[i]) for i in listed.tolist()]
    if layout == "ml-1m":
        path = out_dir / "movies.dat"
        text = "".join(
            f"{movie_id}::{world.titles[i]}::{'|'.join(_genre_names(world, i, GENRES))}\n"
            for i, movie_id in ids
        )
        path.write_bytes(text.encode("latin-1"))
        return [path]
    if layout == "ml-100k":
        rng = np.random.default_rng([spec.seed, Stream.TITLES, 1])
        days = rng.integers(1, 29, len(all_ids)).tolist()
        months = rng.integers(0, 12, len(all_ids)).tolist()
        lines = []
        for i, movie_id in ids:
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
        for i, movie_id in ids:
            genres = [] if world.hide_genres[i] else _genre_names(world, i, names)
            writer.writerow([movie_id, world.titles[i], "|".join(genres) or NO_GENRES])
    rng = np.random.default_rng([spec.seed, Stream.LINKS])
    count = len(all_ids)
    # Distinct multiples plus a small offset keep the external ids unique but irregular.
    imdb = (60_000 + rng.permutation(count) * 37 + rng.integers(0, 37, count)).tolist()
    tmdb = (2 + rng.permutation(count) * 11 + rng.integers(0, 11, count)).tolist()
    no_tmdb = (rng.random(count) < 0.01).tolist()
    links = out_dir / "links.csv"
    with open(links, "w", encoding="utf-8", newline="") as handle:
        handle.write("movieId,imdbId,tmdbId\n")
        for i, movie_id in ids:
            tmdb_id = "" if no_tmdb[i] else tmdb[i]
            handle.write(f"{movie_id},{imdb[i]:07d},{tmdb_id}\n")
    return [movies, links]


def _write_users(out_dir: pathlib.Path, layout: str, spec: SyntheticSpec) -> list[pathlib.Path]:
    """Writes users.dat (ml-1m) or u.user, u.genre and u.occupation (ml-100k)."""
    if layout == "ml-latest":
        return []
    rng = np.random.default_rng([spec.seed, Stream.USERS])
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
    world = build_world(spec)
    users = _write_users(out, layout, spec)
    ratings = out / _FORMATS[layout].ratings_file
    rating_files = [ratings]
    if layout == "ml-latest":
        tags = out / "tags.csv"
        with open(tags, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["userId", "movieId", "tag", "timestamp"])
            bad_counts, rated = _write_ratings(ratings, layout, world, spec, writer.writerows)
        rating_files.append(tags)
    else:
        bad_counts, rated = _write_ratings(ratings, layout, world, spec)
    # The movie file comes last: a user subsample's catalogue is what its users rated.
    listed = np.flatnonzero(rated) if spec.rated_movies_only else np.arange(len(rated))
    movies = _write_movies(out, layout, world, spec, listed)
    return SyntheticSummary(
        layout=layout,
        num_ratings=int(world.ratings_per_user.sum()),
        num_users=spec.num_users,
        num_movies=len(listed),
        bad_lines_by_reason={r: bad_counts[r] for r in BAD_LINE_REASONS if r in bad_counts},
        files=(*movies, *users, *rating_files),
    )
