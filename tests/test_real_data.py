"""ExampleGen on the real ML-1M files, when ../shared/data/movielens/ml-1m is present."""

import math
import os
from collections import Counter

import pytest

from components.evaluation.examples import read_split
from configs import features as raw
from pipeline import paths
from tests import pipeline_runs

ML_1M = os.path.join(paths.REPO_ROOT, "..", "shared", "data", "movielens", "ml-1m")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.realdata,
    pytest.mark.integration,
    pytest.mark.skipif(not os.path.isdir(ML_1M), reason="ML-1M is not beside the repository"),
]


def test_ml_1m_yields_the_canonical_counts(tmp_path):
    pipeline_runs.run_pipeline(
        ML_1M,
        str(tmp_path),
        "--until",
        pipeline_runs.EXAMPLE_GEN,
        # Pieces of 10 without overlap (the default recipe on ML-1M cuts 50 overlapping by
        # 25): the count below is then one division per user.
        "--recipe",
        "compact",
        # ML-1M is large enough that Beam's worker processes pay off.
        "--beam-arg=--direct_running_mode=multi_processing",
    )
    report = pipeline_runs.ingest_report(str(tmp_path))
    assert report["layout"] == "ml-1m"
    assert report["ratings"]["lines"] == report["ratings"]["accepted"] == 1_000_209
    assert report["ratings"]["rejected"] == {}
    assert report["movies"]["accepted"] == 3_883
    assert report["users"]["accepted"] == 6_040
    # Leave-last-out: one test and one eval example per user; every other label after a
    # user's first rating is a training target, once, in the sequence layout's pieces of
    # 10 movies: ceil(targets / 10) pieces per user.
    with open(os.path.join(ML_1M, "ratings.dat"), "rb") as ratings:
        per_user = Counter(line.split(b"::", 1)[0] for line in ratings)
    pieces = sum(math.ceil((count - 3) / 10) for count in per_user.values())
    assert report["examples"] == {"test": 6_040, "eval": 6_040, "train": pieces}
    train = read_split(
        pipeline_runs.latest_artifact(str(tmp_path), "Examples", pipeline_runs.EXAMPLE_GEN).uri,
        "train",
        [raw.NEXT_MOVIE_IDS],
    )
    targets = train[raw.NEXT_MOVIE_IDS].values
    assert len(train[raw.NEXT_MOVIE_IDS]) == pieces
    assert (targets != raw.NO_TARGET).sum() == 1_000_209 - 3 * 6_040
