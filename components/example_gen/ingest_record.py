"""Where ExampleGen records what it ingested beside its report (components.contracts.
ingest_report): the kept copy of a failed run's report and the input files' MLMD
properties; one definition for the executor that writes them and for readers that must not
import TensorFlow (``python -m commands.lineage``)."""

from __future__ import annotations

import posixpath

# Beside the node's output folders: every execution's report, kept even when it failed.
KEPT_REPORTS = "ingest_reports"
# The input files' roles, as components.data_formats.movielens.layouts.input_files names them.
INPUT_ROLES = ("ratings", "movies", "users")


def input_file_property(role: str, field: str) -> str:
    """The Examples custom property holding one input file's ``file``, ``bytes`` or
    ``sha256``."""
    return f"{role}_{field}"


def kept_report_path(examples_uri: str) -> str:
    """Where a copy of the ingest report outlives a failed ExampleGen.

    TFX deletes the output folder of a failed execution, report included, so the copy goes
    beside the node's outputs: ``<pipeline root>/<node>/ingest_reports/<execution>.json``
    for an artifact at ``<pipeline root>/<node>/examples/<execution>``.
    """
    uri = examples_uri.rstrip("/")
    node_dir = posixpath.dirname(posixpath.dirname(uri))
    return posixpath.join(node_dir, KEPT_REPORTS, posixpath.basename(uri) + ".json")
