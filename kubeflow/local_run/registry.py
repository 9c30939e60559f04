"""The artifact registry that stands in for ML Metadata: every artifact of every local run,
queried by the resolvers with the filters TFX compiles (parsed here)."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import yaml

from kubeflow.local_run.errors import LocalRunError

LOCAL_RUN_DIR = "local_run"
REGISTRY_FILE = "artifacts.jsonl"
# The only placeholder a resolver filter of TFX's LatestBlessedModelStrategy carries.
INPUT_METADATA_PLACEHOLDER = re.compile(
    r"\{\{\$\.inputs\.artifacts\['([^']+)'\]\.metadata\['([^']+)'\]\}\}"
)


class JsonLines:
    """A file of JSON objects, one a line, appended to and read whole: small, and easy to
    read for a person checking what a run did."""

    def __init__(self, path: str) -> None:
        self.path = path

    def records(self) -> list[dict[str, Any]]:
        if not os.path.exists(self.path):
            return []
        with open(self.path) as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def add(self, record: dict[str, Any]) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        with open(self.path, "a") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")


class Registry(JsonLines):
    """Every artifact of every local run of a pipeline root.

    It stands in for Vertex's ML Metadata store: resolvers query it by type, state, name
    and metadata, so it must outlive a run. Only a task that succeeded registers artifacts.
    """

    def query(self, pipeline: str, clauses: list[tuple[str, str, Any]]) -> list[dict[str, Any]]:
        """This pipeline's artifacts matching every clause, oldest first."""
        return [
            record
            for record in self.records()
            if record.get("pipeline") == pipeline
            and all(_matches(record, clause) for clause in clauses)
        ]


def schema_title(artifact_type: dict[str, Any]) -> str:
    """The type's title, from either form of an ArtifactTypeSchema."""
    if "schemaTitle" in artifact_type:
        return artifact_type["schemaTitle"]
    schema = yaml.safe_load(artifact_type.get("instanceSchema", "")) or {}
    return schema.get("title", "tfx.Artifact")


_CLAUSES = (
    ("schema_title", re.compile(r'^schema_title="(.*)"$')),
    ("state", re.compile(r"^state=(\w+)$")),
    ("name", re.compile(r'^name="(.*)"$')),
    ("metadata", re.compile(r"^metadata\.(\w+)\.(number_value|string_value|bool_value)=(.*)$")),
)


def parse_filter(text: str) -> list[tuple[str, str, Any]]:
    """(field, key, expected) per clause of an artifact query filter.

    Only the forms TFX's resolvers compile: ``schema_title="T"``, ``state=LIVE``,
    ``name="N"``, ``metadata.KEY.number_value=1`` (string_value, bool_value), joined by AND.
    """
    clauses = []
    for clause in (part.strip() for part in text.split(" AND ")):
        for field, pattern in _CLAUSES:
            match = pattern.match(clause)
            if not match:
                continue
            if field == "metadata":
                key, kind, raw = match.groups()
                clauses.append((field, key, _filter_value(kind, raw)))
            else:
                clauses.append((field, "", match.group(1)))
            break
        else:
            raise LocalRunError(f"unsupported artifact query clause: {clause!r} (in {text!r})")
    return clauses


def _filter_value(kind: str, raw: str) -> Any:
    if kind == "number_value":
        return float(raw)
    if kind == "bool_value":
        return raw.lower() == "true"
    return raw.strip('"')


def _matches(record: dict[str, Any], clause: tuple[str, str, Any]) -> bool:
    field, key, expected = clause
    if field == "schema_title":
        return record["schema_title"] == expected
    if field == "state":
        return record.get("state", "LIVE") == expected
    if field == "name":
        return record["name"] == expected
    actual = record.get("metadata", {}).get(key)
    if isinstance(expected, float):
        return isinstance(actual, int | float) and float(actual) == expected
    return actual == expected


def runtime_artifact(record: dict[str, Any]) -> dict[str, Any]:
    """A registry record as the RuntimeArtifact of an ExecutorInput."""
    return {key: record[key] for key in ("name", "uri", "type", "metadata")}


def fill_metadata_placeholders(text: str, inputs: dict[str, list[dict[str, Any]]]) -> str | None:
    """The filter with its input-metadata placeholders filled; None when an input is empty
    or lacks the key (the query then finds nothing, as on Vertex)."""
    missing = False

    def fill(match: re.Match) -> str:
        nonlocal missing
        artifacts = inputs.get(match.group(1), [])
        value = artifacts[0].get("metadata", {}).get(match.group(2)) if artifacts else None
        if value is None:
            missing = True
            return ""
        return str(value)

    filled = INPUT_METADATA_PLACEHOLDER.sub(fill, text)
    return None if missing else filled
