"""ExampleGen on the real ML-1M files, when ../shared/data/movielens/ml-1m is present."""

import os

import pytest

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
        # ML-1M is large enough that Beam's worker processes pay off.
        "--beam-arg=--direct_running_mode=multi_processing",
    )
    report = pipeline_runs.ingest_report(str(tmp_path))
    assert report["layout"] == "ml-1m"
    assert report["ratings"]["lines"] == report["ratings"]["accepted"] == 1_000_209
    assert report["ratings"]["rejected"] == {}
    assert report["movies"]["accepted"] == 3_883
    assert report["users"]["accepted"] == 6_040
    # Leave-last-out: one test and one eval example per user, the rest is training.
    assert report["examples"] == {"test": 6_040, "eval": 6_040, "train": 1_000_209 - 3 * 6_040}
