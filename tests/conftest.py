import dataclasses
import os

import pytest

import components  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is loaded)
from components.data_formats import synthetic

# One small synthetic ML-1M-layout data set, one real pipeline run through the Trainer:
# shared by the integration tests so the suite pays for it once.
PIPELINE_SPEC = synthetic.SyntheticSpec(
    num_users=120, num_movies=250, mean_ratings_per_user=25, seed=7, bad_lines=10
)
PIPELINE_CONFIG = "cnn_full"
PIPELINE_EPOCHS = 2
PIPELINE_HPARAMS = ("--hparam", f"epochs={PIPELINE_EPOCHS}", "--hparam", "batch_size=64")
# A 2-epoch model loses to first-order Markov on a planted next-movie pattern: this shared run
# tests what comes after the gate (push, sidecar, lineage), so its Markov rule only asks the
# model to stay within 90% of Markov. tests/test_quality_gate.py tests the rule itself.
PIPELINE_GATE = ("--min-lift-over-markov", "-0.9")


TESTS_DIR = os.path.dirname(os.path.abspath(__file__))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here that uses the shared pipeline run is an integration test, marked or not
    (the modules and tests that run pipelines of their own carry the mark themselves)."""
    for item in items:
        in_tests = os.path.dirname(str(item.path)) == TESTS_DIR
        if in_tests and "pipeline_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


@dataclasses.dataclass(frozen=True)
class PipelineRun:
    data_dir: str
    output_dir: str
    summary: synthetic.SyntheticSummary
    args: tuple[str, ...]


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory) -> PipelineRun:
    from tests import pipeline_runs

    data_dir = str(tmp_path_factory.mktemp("ml-1m-synthetic"))
    output_dir = str(tmp_path_factory.mktemp("outputs"))
    summary = synthetic.write_movielens(data_dir, "ml-1m", PIPELINE_SPEC)
    args = ("--config", PIPELINE_CONFIG, *PIPELINE_HPARAMS, *PIPELINE_GATE)
    pipeline_runs.run_pipeline(data_dir, output_dir, *args)
    return PipelineRun(data_dir, output_dir, summary, args)
