"""Tests for the synthetic MovieLens generator, read back with small independent readers."""

from __future__ import annotations

import csv
import dataclasses
import itertools
import pathlib
import re
from collections import Counter, defaultdict

import numpy as np
import pytest

from components.data_formats import synthetic
from components.data_formats.synthetic import SyntheticSpec, SyntheticSummary, write_movielens

SPEC = SyntheticSpec()
RATINGS_FILE = {"ml-1m": "ratings.dat", "ml-100k": "u.data", "ml-latest": "ratings.csv"}
SEPARATOR = {"ml-1m": "::", "ml-100k": "\t"}
Row = tuple[int, int, float, int]  # user, movie, rating, timestamp


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, tuple[pathlib.Path, SyntheticSummary]]:
    """The default spec written once in every layout."""
    out = {}
    for layout in synthetic.LAYOUTS:
        directory = tmp_path_factory.mktemp(layout)
        out[layout] = (directory, write_movielens(directory, layout, SPEC))
    return out


def _split(layout: str, line: str) -> list[str]:
    if layout == "ml-latest":
        return next(csv.reader([line]))
    return line.split(SEPARATOR[layout])


def _rating_lines(directory: pathlib.Path, layout: str) -> list[str]:
    lines = (directory / RATINGS_FILE[layout]).read_text("ascii").splitlines()
    if layout == "ml-latest":
        assert lines[0] == "userId,movieId,rating,timestamp"
        return lines[1:]
    return lines


def _rows(directory: pathlib.Path, layout: str) -> list[Row]:
    """Ratings in file order, from a file without bad lines."""
    rows = []
    for line in _rating_lines(directory, layout):
        user, movie, rating, timestamp = _split(layout, line)
        rows.append((int(user), int(movie), float(rating), int(timestamp)))
    return rows


def _movie_ids(directory: pathlib.Path, layout: str) -> set[int]:
    if layout == "ml-1m":
        lines = (directory / "movies.dat").read_bytes().decode("latin-1").splitlines()
        return {int(line.split("::")[0]) for line in lines}
    if layout == "ml-100k":
        lines = (directory / "u.item").read_bytes().decode("latin-1").splitlines()
        return {int(line.split("|")[0]) for line in lines}
    with open(directory / "movies.csv", encoding="utf-8", newline="") as handle:
        return {int(row["movieId"]) for row in csv.DictReader(handle)}


def _timelines(rows: list[Row]) -> dict[int, list[tuple[int, int]]]:
    """(timestamp, movie) per user in time order, ties in file order (as the pipeline does)."""
    by_user: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for line_no, (user, movie, _, timestamp) in enumerate(rows):
        by_user[user].append((timestamp, line_no, movie))
    return {user: [(t, m) for t, _, m in sorted(items)] for user, items in by_user.items()}


def _next_pairs(rows: list[Row]) -> list[tuple[int, int]]:
    pairs = []
    for timeline in _timelines(rows).values():
        pairs += [(a[1], b[1]) for a, b in itertools.pairwise(timeline)]
    return pairs


def _all_bytes(directory: pathlib.Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def test_unknown_layout_names_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match="ml-1m, ml-100k, ml-latest"):
        write_movielens(tmp_path, "ml-20m", SPEC)


def test_impossible_spec_is_rejected():
    with pytest.raises(ValueError, match="num_movies"):
        SyntheticSpec(num_movies=3, min_ratings_per_user=5)
    with pytest.raises(ValueError, match="successor_strength"):
        SyntheticSpec(successor_strength=1.5)


@pytest.mark.parametrize("layout", synthetic.LAYOUTS)
def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path, layout):
    spec = SyntheticSpec(num_users=50, bad_lines=10)
    first = write_movielens(tmp_path / "a", layout, spec)
    write_movielens(tmp_path / "b", layout, spec)
    write_movielens(tmp_path / "c", layout, SyntheticSpec(num_users=50, bad_lines=10, seed=1))
    assert _all_bytes(tmp_path / "a") == _all_bytes(tmp_path / "b")
    assert sorted(p.name for p in first.files) == sorted(_all_bytes(tmp_path / "a"))
    ratings = RATINGS_FILE[layout]
    assert (tmp_path / "a" / ratings).read_bytes() != (tmp_path / "c" / ratings).read_bytes()


def test_ml_1m_files(written):
    directory, summary = written["ml-1m"]
    lines = _rating_lines(directory, "ml-1m")
    assert all(re.fullmatch(r"\d+::\d+::[1-5]::\d{9,10}", line) for line in lines)
    rows = _rows(directory, "ml-1m")
    assert len(rows) == summary.num_ratings

    users = [row[0] for row in rows]
    runs = [user for user, _ in itertools.groupby(users)]
    assert runs == sorted(set(runs)), "ratings.dat must be grouped by user, users ascending"
    assert len(runs) == summary.num_users == SPEC.num_users
    timestamps_by_user = defaultdict(list)
    for user, _, _, timestamp in rows:
        timestamps_by_user[user].append(timestamp)
    assert any(ts != sorted(ts) for ts in timestamps_by_user.values()), "not time-sorted"

    raw = (directory / "movies.dat").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # latin-1 bytes for the accented titles, as in the real file
    movies = [line.split("::") for line in raw.decode("latin-1").splitlines()]
    assert len(movies) == summary.num_movies == SPEC.num_movies
    assert all(len(fields) == 3 for fields in movies)
    titles = {fields[1] for fields in movies}
    assert "Bicycle Thief, The (Ladri di biciclette) (1948)" in titles
    assert any(not title.isascii() for title in titles)
    assert all(re.search(r"\(\d{4}\)$", title) for title in titles)
    for fields in movies:
        genres = fields[2].split("|")
        assert genres and set(genres) <= set(synthetic.GENRES)
    ids = sorted(int(fields[0]) for fields in movies)
    assert ids[-1] > len(ids), "movie ids should have gaps"

    user_lines = (directory / "users.dat").read_bytes().decode("latin-1").splitlines()
    assert len(user_lines) == SPEC.num_users
    zips = []
    for line in user_lines:
        _, gender, age, occupation, zip_code = line.split("::")
        assert gender in ("M", "F")
        assert int(age) in (1, 18, 25, 35, 45, 50, 56)
        assert 0 <= int(occupation) <= 20
        assert re.fullmatch(r"\d{5}(-\d{4})?", zip_code)
        zips.append(zip_code)
    assert any("-" in z for z in zips) and any("-" not in z for z in zips)

    assert {row[1] for row in rows} <= set(ids)
    assert len({(row[0], row[1]) for row in rows}) == len(rows), "a (user, movie) pair twice"


def test_ml_100k_files(written):
    directory, summary = written["ml-100k"]
    lines = _rating_lines(directory, "ml-100k")
    assert all(re.fullmatch(r"\d+\t\d+\t[1-5]\t\d{9,10}", line) for line in lines)
    rows = _rows(directory, "ml-100k")
    assert len(rows) == summary.num_ratings
    same_user_next = sum(a[0] == b[0] for a, b in itertools.pairwise(rows))
    assert same_user_next < 0.1 * len(rows), "u.data should be shuffled, not grouped by user"

    genres = (directory / "u.genre").read_text().splitlines()
    assert genres == [f"{g}|{i}" for i, g in enumerate(synthetic.ML100K_GENRES)]
    occupations = set((directory / "u.occupation").read_text().splitlines())
    assert {"technician", "writer", "student"} <= occupations

    items = (directory / "u.item").read_bytes().decode("latin-1").splitlines()
    assert len(items) == SPEC.num_movies
    for line in items:
        fields = line.split("|")
        assert len(fields) == 5 + 19
        assert re.search(r"\(\d{4}\)$", fields[1])
        assert re.fullmatch(r"\d{2}-[A-Z][a-z]{2}-\d{4}", fields[2])
        assert fields[3] == "" and fields[4].startswith("http://")
        assert set(fields[5:]) <= {"0", "1"} and "1" in fields[5:]
    assert any(not line.isascii() for line in items)

    for line in (directory / "u.user").read_bytes().decode("latin-1").splitlines():
        _, age, gender, occupation, _zip = line.split("|")
        assert 1 <= int(age) <= 100 and gender in ("M", "F") and occupation in occupations
    assert {row[1] for row in rows} <= _movie_ids(directory, "ml-100k")


def test_ml_latest_files(written):
    directory, summary = written["ml-latest"]
    lines = _rating_lines(directory, "ml-latest")
    assert all(re.fullmatch(r"\d+,\d+,[0-5]\.[05],\d{9,10}", line) for line in lines)
    rows = _rows(directory, "ml-latest")
    assert len(rows) == summary.num_ratings
    assert {row[2] for row in rows} <= {h / 2 for h in range(1, 11)}
    assert any(row[2] % 1 for row in rows), "half stars expected"
    keys = [(row[0], row[1]) for row in rows]
    assert keys == sorted(set(keys)), "sorted by user then movie, each pair once"

    raw = (directory / "movies.csv").read_text("utf-8")
    assert re.search(r'^\d+,"American President, The \(1995\)",', raw, re.MULTILINE)
    with open(directory / "movies.csv", encoding="utf-8", newline="") as handle:
        movies = list(csv.reader(handle))
    assert movies[0] == ["movieId", "title", "genres"]
    assert all(len(row) == 3 for row in movies)
    titles = {row[1] for row in movies[1:]}
    assert {"American President, The (1995)", '"Great Performances" Cats (1998)'} <= titles
    assert any(not title.isascii() for title in titles)
    assert any(row[2] == "(no genres listed)" for row in movies[1:])
    assert {row[1] for row in rows} <= _movie_ids(directory, "ml-latest")

    with open(directory / "links.csv", encoding="utf-8", newline="") as handle:
        links = list(csv.DictReader(handle))
    assert len(links) == SPEC.num_movies
    assert all(re.fullmatch(r"\d{7}", link["imdbId"]) for link in links)

    with open(directory / "tags.csv", encoding="utf-8", newline="") as handle:
        tags = list(csv.DictReader(handle))
    assert tags and set(tags[0]) == {"userId", "movieId", "tag", "timestamp"}
    assert {(int(t["userId"]), int(t["movieId"])) for t in tags} <= set(keys)


def test_layouts_share_the_same_ratings(written):
    timelines = {}
    for layout, (directory, _) in written.items():
        rows = _rows(directory, layout)
        timelines[layout] = {u: sorted(t) for u, t in _timelines(rows).items()}
    assert timelines["ml-1m"] == timelines["ml-100k"] == timelines["ml-latest"]


def test_ratings_per_user_respect_the_minimum_and_mean(written):
    counts = Counter(row[0] for row in _rows(written["ml-1m"][0], "ml-1m"))
    assert min(counts.values()) >= SPEC.min_ratings_per_user
    assert 0.8 * SPEC.mean_ratings_per_user < np.mean(list(counts.values()))
    assert np.mean(list(counts.values())) < 1.2 * SPEC.mean_ratings_per_user
    assert max(counts.values()) > 3 * SPEC.mean_ratings_per_user, "expected a long tail"


def _popularity_shares(directory: pathlib.Path) -> tuple[float, float]:
    counts = Counter(row[1] for row in _rows(directory, "ml-1m"))
    per_movie = sorted((counts[m] for m in _movie_ids(directory, "ml-1m")), reverse=True)
    total = sum(per_movie)
    top = sum(per_movie[: len(per_movie) // 10]) / total
    bottom = sum(per_movie[len(per_movie) // 2 :]) / total
    return top, bottom


def test_popularity_is_skewed(written, tmp_path):
    top, bottom = _popularity_shares(written["ml-1m"][0])
    # The top 10% of movies outweigh the bottom half: over 7 times more ratings per movie.
    assert top > 1.4 * bottom
    write_movielens(tmp_path, "ml-1m", SyntheticSpec(popularity_exponent=0.0))
    flat_top, flat_bottom = _popularity_shares(tmp_path)
    assert flat_top < bottom < flat_bottom


def test_planted_successors_are_visible(written, tmp_path):
    successors = synthetic.planted_successors(SPEC)
    assert len(successors) == SPEC.num_movies
    for movie, after in successors.items():
        assert len(set(after)) == SPEC.successors_per_movie and movie not in after
        assert set(after) <= set(successors)

    def hit_rate(pairs: list[tuple[int, int]]) -> float:
        return float(np.mean([b in successors[a] for a, b in pairs]))

    pairs = _next_pairs(_rows(written["ml-1m"][0], "ml-1m"))
    nexts = np.random.default_rng(0).permutation([b for _, b in pairs]).tolist()
    chance = hit_rate(list(zip([a for a, _ in pairs], nexts, strict=True)))
    assert hit_rate(pairs) > 0.3
    assert hit_rate(pairs) > 10 * chance
    top = float(np.mean([b == successors[a][0] for a, b in pairs]))
    assert top > 0.4 * hit_rate(pairs), "the first successor should be the likeliest"

    # The pattern survives every layout's file order, ties included.
    for layout in ("ml-100k", "ml-latest"):
        other = hit_rate(_next_pairs(_rows(written[layout][0], layout)))
        assert abs(other - hit_rate(pairs)) < 0.01

    write_movielens(tmp_path, "ml-1m", SyntheticSpec(successor_strength=0.0))
    assert hit_rate(_next_pairs(_rows(tmp_path, "ml-1m"))) < 3 * chance


def test_timestamps_have_ties_unless_disabled(written, tmp_path):
    def tie_share(rows: list[Row]) -> float:
        pairs = [
            a[0] == b[0]
            for timeline in _timelines(rows).values()
            for a, b in itertools.pairwise(timeline)
        ]
        return float(np.mean(pairs))

    assert tie_share(_rows(written["ml-1m"][0], "ml-1m")) > 0.03
    write_movielens(tmp_path, "ml-1m", SyntheticSpec(tie_probability=0.0))
    assert tie_share(_rows(tmp_path, "ml-1m")) == 0.0


def _classify(layout: str, lines: list[str], movies: set[int]) -> tuple[Counter, list[str]]:
    """Sorts rating lines into reasons, independently of the project's parser."""
    low, high = (0.5, 5.0) if layout == "ml-latest" else (1.0, 5.0)
    reasons: Counter = Counter()
    valid: list[str] = []
    seen: set[tuple[int, int]] = set()
    for line in lines:
        fields = _split(layout, line)
        if len(fields) != 4:
            reasons["wrong_column_count"] += 1
            continue
        try:
            user, movie, rating = int(fields[0]), int(fields[1]), float(fields[2])
            int(fields[3])
        except ValueError:
            reasons["non_numeric"] += 1
            continue
        if not low <= rating <= high:
            reasons["rating_out_of_range"] += 1
        elif movie not in movies:
            reasons["unknown_movie"] += 1
        elif (user, movie) in seen:
            assert line in valid, "a duplicate must repeat an earlier line exactly"
            reasons["duplicate"] += 1
        else:
            seen.add((user, movie))
            valid.append(line)
    return reasons, valid


@pytest.mark.parametrize("layout", synthetic.LAYOUTS)
def test_bad_lines_are_counted_by_reason(tmp_path, layout):
    spec = SyntheticSpec(num_users=60, bad_lines=23, seed=3)
    summary = write_movielens(tmp_path / "bad", layout, spec)
    write_movielens(tmp_path / "clean", layout, dataclasses.replace(spec, bad_lines=0))

    lines = _rating_lines(tmp_path / "bad", layout)
    reasons, valid = _classify(layout, lines, _movie_ids(tmp_path / "bad", layout))
    assert dict(reasons) == summary.bad_lines_by_reason
    assert set(reasons) == set(synthetic.BAD_LINE_REASONS)
    assert max(reasons.values()) - min(reasons.values()) <= 1, "round-robin over reasons"
    assert sum(reasons.values()) == spec.bad_lines
    assert len(valid) == summary.num_ratings
    header = 1 if layout == "ml-latest" else 0
    text = (tmp_path / "bad" / RATINGS_FILE[layout]).read_text("ascii")
    assert text.count("\n") == summary.num_ratings + spec.bad_lines + header
    # Injection only adds lines: dropping them leaves the clean file.
    assert valid == _rating_lines(tmp_path / "clean", layout)
