"""Pipeline defaults: paths relative to the repository, and Beam settings."""

from __future__ import annotations

import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PIPELINE_NAME = "movie-recs"
# The embedded data set (MovieLens ml-latest-small, vendored with its README).
DATA_DIR = os.path.join(REPO_ROOT, "data", "ml-latest-small")
# Everything a run writes: pipeline root, ML Metadata, pushed models (git-ignored).
OUTPUT_DIR = os.path.join(REPO_ROOT, "outputs")
INPUT_CONFIG = os.path.join(REPO_ROOT, "configs", "cnn_id.pbtxt")
SCHEMA_DIR = os.path.join(REPO_ROOT, "schema")

# Module code is referenced by dotted path, so no wheel is built for it (Kubeflow images
# carry the project on PYTHONPATH).
PREPROCESSING_FN = "components.transform.preprocessing.preprocessing_fn"
RUN_FN = "components.model.trainer.run_fn"


def pipeline_root(output_dir: str) -> str:
    return os.path.join(output_dir, "pipeline_root")


def metadata_path(output_dir: str) -> str:
    return os.path.join(output_dir, "metadata.sqlite")


def beam_args(workers: int = 0, extra: list[str] | None = None) -> list[str]:
    """DirectRunner in multi-processing mode; ``workers=0`` means one per CPU."""
    return [
        "--direct_running_mode=multi_processing",
        f"--direct_num_workers={workers}",
        *(extra or []),
    ]
