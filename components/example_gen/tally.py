"""The ingest report's counts as ExampleGen's Beam stages gather them: each chunk of the
ratings file, user and example emitter yields a partial Tally; their sum, with what the
run read, is the ingest report (components.contracts.ingest_report)."""

from __future__ import annotations

import dataclasses
from collections import Counter

from components.contracts.ingest_report import FileSection, IngestReport


@dataclasses.dataclass
class Tally:
    """Partial counts for the ingest report; tallies add up across chunks and users."""

    lines: int
    accepted: int
    outcomes: Counter  # Reason -> lines
    first: dict[str, str]  # reason -> the first line rejected for it, described
    examples: Counter  # split -> examples

    def __add__(self, other: Tally) -> Tally:
        first = dict(other.first)
        first.update(self.first)
        return Tally(
            self.lines + other.lines,
            self.accepted + other.accepted,
            self.outcomes + other.outcomes,
            first,
            self.examples + other.examples,
        )

    @classmethod
    def empty(cls) -> Tally:
        return cls(0, 0, Counter(), {}, Counter())

    def ratings_section(self, file: str) -> FileSection:
        """The ratings file's section of the report: what FileReport says of the others."""
        return FileSection(
            file=file,
            lines=self.lines,
            accepted=self.accepted,
            rejected={reason.value: n for reason, n in sorted(self.outcomes.items())},
            first_rejections=self.first,
        )


def total(tallies) -> Tally:
    return sum(tallies, Tally.empty())


def write_report(tally: Tally, folder: str, context: IngestReport) -> None:
    """The report of a run: what it read (``context``), with the ratings' and examples'
    counts of ``tally``, written into the Examples folder."""
    dataclasses.replace(
        context,
        ratings=tally.ratings_section(context.ratings_file),
        examples=dict(sorted(tally.examples.items())),
    ).write(folder)
