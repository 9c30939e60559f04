"""Pipeline defaults: paths relative to the repository, and Beam settings."""

from __future__ import annotations

import hashlib
import os

from components import names

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PIPELINE_NAME = "movie-recs"
# The embedded data set (MovieLens ml-latest-small, vendored with its README).
DATA_DIR = os.path.join(REPO_ROOT, "data", "ml-latest-small")
# Everything a run writes: pipeline root, ML Metadata, pushed models (git-ignored).
OUTPUT_DIR = os.path.join(REPO_ROOT, "outputs")
INPUT_CONFIG = os.path.join(REPO_ROOT, "configs", "transformer_id.pbtxt")
SCHEMA_DIR = os.path.join(REPO_ROOT, "schema")

# Module code is referenced by dotted path, so no wheel is built for it (Kubeflow images
# carry the project on PYTHONPATH).
PREPROCESSING_FN = "components.transform.preprocessing.preprocessing_fn"
RUN_FN = "components.model.trainer.run_fn"


def pipeline_root(output_dir: str) -> str:
    return os.path.join(output_dir, "pipeline_root")


def push_destination(output_dir: str) -> str:
    """Pushed TFLite models, one versioned folder each."""
    return os.path.join(output_dir, names.PUSHED_MODELS_DIR)


def metadata_path(output_dir: str) -> str:
    return os.path.join(output_dir, "metadata.sqlite")


def staged_schema_dir(output_dir: str, schema_dir: str = SCHEMA_DIR) -> str:
    """A copy of schema/ under a folder named by its content hash.

    ImportSchemaGen's cache key is the schema's path, so an edited schema would otherwise
    be served from cache; a content-addressed path makes every edit a new import.
    """
    with open(os.path.join(schema_dir, "schema.pbtxt"), "rb") as handle:
        content = handle.read()
    staged = os.path.join(output_dir, "schema", hashlib.sha256(content).hexdigest()[:16])
    os.makedirs(staged, exist_ok=True)
    with open(os.path.join(staged, "schema.pbtxt"), "wb") as handle:
        handle.write(content)
    return staged


def beam_args(workers: int = 0, extra: list[str] | None = None) -> list[str]:
    """DirectRunner in multi-processing mode; ``workers=0`` means one per CPU."""
    return [
        "--direct_running_mode=multi_processing",
        f"--direct_num_workers={workers}",
        *(extra or []),
    ]
