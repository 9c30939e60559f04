"""A release's shape, synthesized: ML-25M's id range, time span, scale and heavy tails."""

from __future__ import annotations

import csv
import datetime
import pathlib
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from components.data_formats import synthetic
from components.data_formats.synthetic import releases

# Synthesizes 75,000 ratings and runs the command: in make test, not in make unit.
pytestmark = pytest.mark.slow

ML25M = releases.RELEASES["ml-25m"]
SCALE = 0.003  # 488 users, about 75,000 ratings


@pytest.fixture(scope="module")
def ml25m_sample(tmp_path_factory) -> tuple[pathlib.Path, synthetic.SyntheticSummary]:
    out = tmp_path_factory.mktemp("ml-25m")
    return out, synthetic.write_movielens(out, "ml-latest", synthetic.spec_like("ml-25m", SCALE))


def _ratings(folder: pathlib.Path) -> list[tuple[int, int, float, int]]:
    with open(folder / "ratings.csv", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["userId", "movieId", "rating", "timestamp"]
    return [(int(u), int(m), float(r), int(t)) for u, m, r, t in rows[1:]]


def _utc(day: str) -> int:
    return int(datetime.datetime.fromisoformat(day + "T00:00:00+00:00").timestamp())


def test_a_user_subsample_has_the_release_shape(ml25m_sample):
    folder, summary = ml25m_sample
    ratings = _ratings(folder)
    users = Counter(u for u, *_ in ratings)
    # The scale keeps that fraction of the users, and about that fraction of the ratings.
    assert summary.num_users == len(users) == round(ML25M.users * SCALE)
    assert len(ratings) == summary.num_ratings
    assert len(ratings) == pytest.approx(ML25M.ratings * SCALE, rel=0.15)
    # Heavy-tailed activity: every user has the release's minimum, a few rate far more
    # than the typical one (ML-25M: median 71, mean 154).
    counts = np.array(sorted(users.values()))
    assert counts[0] >= ML25M.min_ratings_per_user
    assert np.median(counts) < 0.75 * counts.mean() and counts[-1] > 10 * np.median(counts)
    # Heavy-tailed popularity: the top 1% of the rated movies hold a large share.
    popularity = np.array(sorted(Counter(m for _, m, *_ in ratings).values(), reverse=True))
    assert popularity[: len(popularity) // 100].sum() > 0.2 * len(ratings)
    # Sparse ids up to about the release's largest, over its years of ratings.
    movie_ids = [m for _, m, *_ in ratings]
    assert max(movie_ids) <= ML25M.max_movie_id and max(movie_ids) > 0.5 * ML25M.max_movie_id
    timestamps = [t for *_, t in ratings]
    assert _utc(ML25M.first_day) <= min(timestamps) < _utc("1997-01-01")
    assert _utc("2015-01-01") < max(timestamps) <= _utc(ML25M.last_day) + 86_400


def test_the_catalogue_of_a_subsample_is_what_its_users_rated(ml25m_sample):
    folder, summary = ml25m_sample
    with open(folder / "movies.csv", encoding="utf-8") as handle:
        listed = [int(row[0]) for row in list(csv.reader(handle))[1:]]
    assert len(listed) == summary.num_movies == len(set(listed))
    assert set(listed) == {m for _, m, *_ in _ratings(folder)}
    # The whole release lists its whole catalogue, rated or not.
    assert synthetic.spec_like("ml-25m").num_movies == ML25M.movies
    assert not synthetic.spec_like("ml-25m").rated_movies_only


def test_every_release_shape_and_scale_makes_a_valid_spec():
    for name, release in releases.RELEASES.items():
        spec = synthetic.spec_like(name, 0.5, seed=3)
        assert spec.num_users == round(release.users * 0.5) and spec.seed == 3
        assert spec.mean_ratings_per_user == pytest.approx(release.ratings / release.users)
    with pytest.raises(ValueError, match="unknown release 'ml-26m'"):
        synthetic.spec_like("ml-26m")
    for scale in (0, -1, 1.5):
        with pytest.raises(ValueError, match="--scale must be in"):
            synthetic.spec_like("ml-25m", scale)


def test_the_command_writes_a_release_shape_and_refuses_conflicting_sizes(tmp_path):
    command = [sys.executable, "-m", "commands.data", "synthesize", "--like", "ml-20m"]
    done = subprocess.run(
        [*command, "--scale", "0.001", "--out", str(tmp_path / "a")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "shaped like ml-20m at scale 0.001" in done.stdout
    assert (tmp_path / "a" / "ratings.csv").stat().st_size > 100_000
    refused = subprocess.run(
        [*command, "--users", "10", "--out", str(tmp_path / "b")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1].endswith("leave out --users (use --scale)")
    assert "Traceback" not in refused.stderr and not (tmp_path / "b").exists()
