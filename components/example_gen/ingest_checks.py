"""What ExampleGen (and the runner) make of an ingest report: the lines a run prints, the
figures kept in ML Metadata, the bad-line limit and the no-example error."""

from __future__ import annotations

import dataclasses

from components import names
from components.contracts.ingest_report import FileSection, IngestReport
from components.data_formats.movielens import layouts, validation
from components.data_formats.movielens.validation import Reason
from components.example_gen import timelines
from components.example_gen.ingest_record import input_file_property
from components.example_gen.settings import IngestSettings


@dataclasses.dataclass
class Summary:
    text: str
    properties: dict[str, int]


def invalid_lines(section: FileSection) -> int:
    """A file's bad input: rejected lines, less structural ones and the settings' filters."""
    return validation.count_reasons(section.rejected, validation.INVALID_REASONS)


def summarize(report: IngestReport) -> Summary:
    """A readable account of every line's outcome, and the figures kept in MLMD."""
    rows = []
    for section in report.file_sections():
        rows.append(
            f"{section.file}: {section.lines} lines = {section.accepted} accepted"
            + "".join(f" + {n} {reason}" for reason, n in sorted(section.rejected.items()))
        )
    examples = report.examples
    rows.append("examples: " + ", ".join(f"{s}={examples.get(s, 0)}" for s in timelines.SPLITS))
    ratings = report.ratings
    properties = {
        names.RATING_LINES_PROPERTY: ratings.lines,
        names.ACCEPTED_RATINGS_PROPERTY: ratings.accepted,
        **{f"{names.REJECTED_PREFIX}{r}": n for r, n in ratings.rejected.items()},
        **{f"{names.EXAMPLES_COUNT_PREFIX}{s}": examples.get(s, 0) for s in timelines.SPLITS},
    }
    return Summary("\n".join(rows), properties)


def input_file_properties(report: IngestReport) -> dict[str, str | int]:
    """``<role>_file``, ``<role>_bytes`` and ``<role>_sha256`` of each input file (for MLMD)."""
    properties: dict[str, str | int] = {}
    for role, entry in sorted(report.input_files.items()):
        properties[input_file_property(role, "file")] = entry.path
        properties[input_file_property(role, "bytes")] = entry.bytes
        properties[input_file_property(role, "sha256")] = entry.sha256
    return properties


def check_file(section: FileSection, max_bad_fraction: float) -> None:
    """Fails when a file's share of invalid lines is over the limit."""
    invalid = invalid_lines(section)
    data_lines = section.lines - validation.count_reasons(
        section.rejected, validation.SKIPPED_REASONS
    )
    if data_lines and invalid / data_lines > max_bad_fraction:
        first = "; ".join(
            section.first_rejections[r]
            for r in sorted(section.first_rejections)
            if Reason(r) in validation.INVALID_REASONS
        )
        raise layouts.DataError(
            f"{section.file}: {invalid} of {data_lines} lines are invalid "
            f"({invalid / data_lines:.1%} > max_bad_fraction {max_bad_fraction:.1%}). "
            f"First of each kind: {first}"
        )


def check_bad_lines(report: IngestReport, max_bad_fraction: float) -> None:
    """Fails when a file's invalid share is over the limit or nothing usable remains."""
    for section in report.file_sections():
        check_file(section, max_bad_fraction)
    if not sum(report.examples.values()):
        ratings = report.ratings
        rejected = ratings.rejected
        filtered = ratings.accepted + rejected.get(Reason.SHORT_TIMELINE.value, 0)
        valid = filtered + rejected.get(Reason.BELOW_MIN_RATING.value, 0)
        settings = IngestSettings.from_dict(report.settings).examples
        raise layouts.DataError(
            "No examples: "
            + timelines.no_examples_message(ratings.file, valid, filtered, None, settings)
        )


def keep_report(examples_uri: str, kept: str, data_dir: str, error: str | None) -> None:
    """Copies the report (or, when ingest failed before counting, what is known) to where
    TFX does not delete it, with the error that ended ingest."""
    report = IngestReport.read_if_present(examples_uri) or IngestReport(data_dir=data_dir)
    dataclasses.replace(report, error=error).write_file(kept)
