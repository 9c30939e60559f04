"""``ingest_report.json``: what MovieLensExampleGen did with every input line.

Written into the Examples artifact's folder by the ExampleGen executor, and copied (with
the error that ended ingest, if any) to where TFX does not delete it
(``ExampleGen ingest_record.kept_report_path``). Read by the executor (its checks and MLMD
properties), the quality report (which spans), the runner's console and summary, and
``commands.lineage``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from components.contracts.base import Contract, known_fields


@dataclasses.dataclass
class FileSection:
    """Outcome counts of one input file (components.data_formats.movielens.FileReport as
    JSON): lines == accepted + every rejected line."""

    file: str
    lines: int = 0
    accepted: int = 0
    rejected: dict[str, int] = dataclasses.field(default_factory=dict)  # reason -> lines
    first_rejections: dict[str, str] = dataclasses.field(default_factory=dict)  # reason -> line

    @classmethod
    def from_json(cls, values: dict[str, Any] | None) -> FileSection | None:
        return None if values is None else cls(**known_fields(cls, values))


@dataclasses.dataclass
class InputFile:
    """An input file as lineage identifies it (components.data_formats.movielens.FileDigest)."""

    path: str
    bytes: int
    sha256: str


@dataclasses.dataclass
class IngestReport(Contract):
    FILE: ClassVar[str] = "ingest_report.json"
    VERSION: ClassVar[int] = 1
    INDENT: ClassVar[int] = 2
    SORT_KEYS: ClassVar[bool] = True

    data_dir: str
    # The error that ended ingest (the kept copy only; None when ingest succeeded).
    error: str | None = None
    # None when ingest failed before it could read the data.
    layout: str | None = None
    ratings_file: str | None = None  # for spans: the range of span files read
    input_files: dict[str, InputFile] = dataclasses.field(default_factory=dict)  # by role
    ratings: FileSection | None = None
    movies: FileSection | None = None
    users: FileSection | None = None  # None: the layout has no users file
    examples: dict[str, int] = dataclasses.field(default_factory=dict)  # split -> examples
    settings: dict[str, Any] | None = None  # ExampleGen's IngestSettings as JSON
    # Span data: held_out_span, first_example_span, spans_read; None otherwise.
    spans: dict[str, Any] | None = None
    # The ratings' accepted time window: min, max (Unix seconds), min_utc, max_utc.
    timestamp_window: dict[str, Any] | None = None

    @property
    def counted(self) -> bool:
        """Whether ingest got as far as counting the lines (else only data_dir and error)."""
        return self.ratings is not None

    def file_sections(self) -> list[FileSection]:
        """The sections of the files that were read: ratings, movies, users."""
        return [s for s in (self.ratings, self.movies, self.users) if s is not None]

    def section(self, role: str) -> FileSection | None:
        """The section of an input file role ("ratings", "movies", "users")."""
        return {"ratings": self.ratings, "movies": self.movies, "users": self.users}.get(role)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> IngestReport:
        values = known_fields(cls, values)
        for role in ("ratings", "movies", "users"):
            values[role] = FileSection.from_json(values.get(role))
        values["input_files"] = {
            role: InputFile(**known_fields(InputFile, entry))
            for role, entry in (values.get("input_files") or {}).items()
        }
        return cls(**values)
