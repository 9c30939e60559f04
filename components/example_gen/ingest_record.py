"""Where ExampleGen records what it ingested: one definition for the executor that writes
it and for readers that must not import TensorFlow (``python -m pipeline.lineage``)."""

from __future__ import annotations

# In the Examples artifact's folder: every line's outcome per file, the input files' digests.
REPORT_FILE = "ingest_report.json"
# The input files' roles, as components.data_formats.movielens.input_files names them.
INPUT_ROLES = ("ratings", "movies", "users")


def input_file_property(role: str, field: str) -> str:
    """The Examples custom property holding one input file's ``file``, ``bytes`` or
    ``sha256``."""
    return f"{role}_{field}"
