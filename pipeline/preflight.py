"""Checks made before any component runs, for what would otherwise fail minutes or hours in.

* The data: a folder (not a file) with one MovieLens layout, readable files, CSV headers that
  name the expected columns, and at least one user left with enough ratings after
  ``--min-rating`` and ``--min-timeline-length``. That last check reads ratings only until
  one user qualifies (a few lines for real data) and names the filter that empties it.
* Span data (``span-0001/``, ...): spans numbered from 1 without a gap, one layout, none
  empty, and a held-out span that has earlier spans to train on.
* The output folder: creatable, writable, with free space for an estimate of the run.

Nothing is created: the output folder is probed with a temporary file in its nearest
existing ancestor. Every failure is a PreflightError or a DataError with one sentence.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections import defaultdict

from components.contracts.ingest_report import FileSection
from components.data_formats import spans
from components.data_formats.movielens import layouts, readers, tables, validation
from components.example_gen import timelines
from components.example_gen.ingest_checks import check_file
from components.example_gen.settings import IngestSettings
from pipeline import cli_errors

# A run's outputs (examples, transformed examples, models, evaluations) were measured at
# 10-16x the size of the input files on the embedded data, plus a fixed part (schema,
# models, metadata). The estimate is a floor: a disk under it certainly cannot hold a run.
OUTPUT_BYTES_PER_INPUT_BYTE = 10
FIXED_OUTPUT_BYTES = 50 << 20


class PreflightError(ValueError):
    """The run cannot succeed as set up; the message says what to change."""


@dataclasses.dataclass(frozen=True)
class DataFiles:
    """The data as ExampleGen will read it: layout, files, rating rules, movies, size."""

    data_dir: str
    layout: layouts.Layout
    files: dict[str, str]
    rules: validation.RatingRules
    movie_ids: frozenset[int]
    # Span data: the ratings files of every span a run reads, oldest first (else empty).
    span_ratings: tuple[str, ...] = ()

    @property
    def ratings_files(self) -> tuple[str, ...]:
        return self.span_ratings or (self.files["ratings"],)

    @property
    def input_bytes(self) -> int:
        paths = {*self.files.values(), *self.span_ratings}
        return sum(os.path.getsize(path) for path in paths)


def inspect_data(data_dir: str, settings: IngestSettings) -> DataFiles:
    """The layout, readable files, CSV headers, and the movies and users files' share of
    invalid lines (cheap: those files are small, and ratings are not read yet).

    Raises DataError or PreflightError."""
    layout = layouts.detect_layout(data_dir)
    files = layouts.input_files(data_dir, layout)
    for path in files.values():
        _check_readable(path)
    rules = validation.rating_rules(
        data_dir, layout, settings.min_timestamp, settings.max_timestamp
    )
    movies, movie_report = tables.read_movies(data_dir, layout)
    _, user_report = tables.read_users(data_dir, layout)
    for report in (movie_report, user_report):
        if report is not None:
            check_file(FileSection.from_json(report.to_json()), settings.max_bad_fraction)
    return DataFiles(data_dir, layout, files, rules, frozenset(movies))


def inspect_spans(data_dir: str, settings: IngestSettings, span: int) -> DataFiles:
    """``inspect_data`` for span data held out at ``span``: the spans run from 1 without a
    gap, each holds ratings in one layout, and ``span`` has earlier spans (within the
    window) to train on; the movies and users files are the held-out span's.

    Raises DataError (SpanError) or PreflightError, one sentence each."""
    found = spans.list_spans(data_dir)
    spans.check_sequence(data_dir, found)
    latest = found[-1].number
    if not 1 <= span <= latest:
        raise PreflightError(f"--span {span}: {data_dir} holds spans 1..{latest}")
    if span < 2:
        raise PreflightError(
            f"--span {span} is the first span: a run holds out its span and trains on the "
            "spans before it, so the first run is for span 2"
        )
    if settings.span_window == 1:
        raise PreflightError("--span-window 1 leaves nothing to train on: give 2 or more")
    data = inspect_data(found[span - 1].folder, settings)
    paths = []
    for earlier in found[:span]:
        layout = layouts.detect_layout(earlier.folder)
        if layout != data.layout:
            raise PreflightError(
                f"{earlier.folder} is in the {layout.name} layout, span {span} in "
                f"{data.layout.name}: every span must have the same layout"
            )
        path = layouts.input_files(earlier.folder, layout)["ratings"]
        _check_readable(path)
        _check_not_empty(path, layout)
        paths.append(path)
    return dataclasses.replace(data, span_ratings=tuple(paths))


def _check_not_empty(path: str, layout: layouts.Layout) -> None:
    """Raises SpanError when a span's ratings file has no data line (an empty span)."""
    for line_no, line in readers.stream_lines(path):
        if not line.strip() or (layout.has_header and line_no == 1):
            continue
        return
    raise spans.SpanError(f"{path} holds no ratings: an empty span (remove it or add its ratings)")


def check_examples_possible(data: DataFiles, settings: IngestSettings) -> None:
    """Raises DataError unless some user keeps enough ratings to make examples."""
    _check_examples_possible(
        list(data.ratings_files), data.layout, data.rules, data.movie_ids, settings
    )


def _check_readable(path: str) -> None:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as error:
        raise PreflightError(f"cannot read {path}: {cli_errors.message(error)}") from None


def _lines(paths: list[str]):
    """(path, line number, text) of the files one after the other (spans: oldest first)."""
    for path in paths:
        for line_no, line in readers.stream_lines(path):
            yield path, line_no, line


def _check_examples_possible(
    paths: list[str],
    layout: layouts.Layout,
    rules: validation.RatingRules,
    movie_ids: frozenset[int],
    settings: IngestSettings,
) -> None:
    """Reads ratings until one user has enough of them to make examples, as ExampleGen
    would count them (valid, known movie, first rating of a movie, at --min-rating)."""
    examples = settings.examples
    needed = max(examples.min_timeline_length, 2)
    seen: dict[int, set[int]] = defaultdict(set)
    kept: dict[int, int] = defaultdict(int)
    data_lines = valid = at_min_rating = 0
    first_rejection = ""
    path = paths[-1] if len(paths) == 1 else f"{paths[0]} .. {paths[-1]}"
    for file, line_no, line in _lines(paths):
        outcome = validation.parse_rating(layout, line, line_no, rules)
        if isinstance(outcome, validation.Rating) and outcome.movie_id not in movie_ids:
            outcome = validation.Reason.UNKNOWN_MOVIE
        if isinstance(outcome, validation.Reason):
            if outcome not in validation.SKIPPED_REASONS:
                data_lines += 1
                first_rejection = (
                    first_rejection or validation.Rejection(file, line_no, outcome, line).describe()
                )
            continue
        data_lines += 1
        if outcome.movie_id in seen[outcome.user_id]:
            continue
        valid += 1
        seen[outcome.user_id].add(outcome.movie_id)
        if outcome.rating >= examples.min_rating:
            at_min_rating += 1
            kept[outcome.user_id] += 1
            if kept[outcome.user_id] >= needed:
                return
    if not data_lines:
        raise layouts.DataError(f"{path} holds no ratings (only a header or blank lines).")
    if not valid:
        raise layouts.DataError(
            f"none of the {data_lines} ratings in {path} is valid; the first: {first_rejection}"
        )
    longest = max(kept.values(), default=0)
    raise layouts.DataError(
        "No examples: "
        + timelines.no_examples_message(path, valid, at_min_rating, longest, examples)
    )


def estimated_output_bytes(input_bytes: int) -> int:
    return OUTPUT_BYTES_PER_INPUT_BYTE * input_bytes + FIXED_OUTPUT_BYTES


def check_output(output_dir: str, input_bytes: int) -> None:
    """Raises PreflightError unless ``output_dir`` can be created, written and hold a run."""
    existing = _nearest_existing(output_dir)
    if not os.path.isdir(existing):
        raise PreflightError(
            f"cannot create the output folder {output_dir}: {existing} is a file, not a folder."
        )
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".recs-preflight-"):
            pass
    except OSError as error:
        where = "write in" if existing == output_dir else f"create {output_dir} in"
        raise PreflightError(
            f"cannot {where} {existing}: {cli_errors.message(error)}; choose another --output-dir"
        ) from None
    free = shutil.disk_usage(existing).free
    needed = estimated_output_bytes(input_bytes)
    if free < needed:
        raise PreflightError(
            f"not enough free space for {output_dir}: {_size(free)} free, and a run on "
            f"{_size(input_bytes)} of input files needs about {_size(needed)}; free some "
            "space or choose another --output-dir."
        )


def _nearest_existing(path: str) -> str:
    """``path`` or its closest ancestor that exists."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _size(num_bytes: int) -> str:
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20)):
        if num_bytes >= scale:
            return f"{num_bytes / scale:.1f} {unit}"
    return f"{num_bytes / 1024:.1f} KiB"


def count_ratings(data_dir: str) -> int | None:
    """The data's number of ratings (lines of its ratings files, headers excluded; every
    span's for span data): what ``--recipe auto`` sizes a run by. None where the data is not
    a local folder in a known layout (the run's own checks then say why, or it is remote)."""
    if "://" in data_dir or not os.path.isdir(data_dir):
        return None
    folders = [span.folder for span in spans.list_spans(data_dir)] or [data_dir]
    total = 0
    for folder in folders:
        if not os.path.isdir(folder):
            return None
        try:
            layout = layouts.detect_layout(folder)
        except layouts.DataError:
            return None
        path = layouts.input_files(folder, layout)["ratings"]
        lines = 0
        last = b"\n"
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 24):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
        total += lines + (last != b"\n") - layout.has_header
    return max(total, 0)
