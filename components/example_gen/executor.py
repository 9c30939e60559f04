"""Beam executor of MovieLensExampleGen: rating files -> per-user timelines -> examples.

Work is spread over line-aligned chunks of the ratings file and then over users, so Beam
handles a few hundred chunk elements and one element per user rather than one per rating.
Every line's outcome is counted (Beam counters and ``ingest_report.json`` in the output
artifact), and a run whose share of invalid lines exceeds ``max_bad_fraction`` fails with
one message naming the file, line and reason. The size and SHA-256 of each input file go
into the report and the Examples artifact's custom properties, for lineage.

TFX deletes a failed execution's output folder, so the report is also kept beside it
(``ingest_record.kept_report_path``): when ingest fails, the counts so far are where the
error message says.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections import Counter, defaultdict
from typing import Any

import apache_beam as beam
import tensorflow as tf
from google.protobuf import json_format, struct_pb2
from tfx.components.example_gen import base_example_gen_executor, write_split
from tfx.components.util import examples_utils
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs

from components import names
from components.data_formats import limits, spans
from components.data_formats.movielens import layouts, readers, tables, validation
from components.data_formats.movielens.validation import Reason
from components.example_gen import timelines
from components.example_gen.ingest_record import (
    REPORT_FILE,
    input_file_property,
    kept_report_path,
)
from components.example_gen.movie_table import write_movie_table

_COUNTER_NAMESPACE = "MovieLensExampleGen"
# The span TFX's ExampleGen driver resolved (exec property and Examples custom property).
SPAN_KEY = "span"


@dataclasses.dataclass(frozen=True)
class IngestSettings:
    """Everything the executor needs besides the data folder (kept in MLMD as custom_config)."""

    examples: timelines.ExampleSettings
    max_bad_fraction: float = 0.01
    # Ratings outside this window (Unix seconds) are rejected; None: one day after ingest,
    # resolved when ExampleGen runs so that the setting (and TFX's cache key) stays fixed.
    min_timestamp: int = limits.DEFAULT_MIN_TIMESTAMP
    max_timestamp: int | None = None
    # Small enough that both workers get several chunks of a 24 MB ML-1M ratings file.
    chunk_bytes: int = 2 << 20
    # With the span split: how many spans end with the held-out one and give examples
    # (0: every span). Earlier spans are still read, as history.
    span_window: int = 0

    @property
    def spans(self) -> bool:
        """Whether the data is read as spans (components.data_formats.spans)."""
        return self.examples.split.kind == "span"

    def to_struct(self) -> struct_pb2.Struct:
        struct = struct_pb2.Struct()
        struct.update(json.loads(json.dumps(dataclasses.asdict(self))))
        return struct

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> IngestSettings:
        examples = dict(values["examples"])
        split = _typed(timelines.SplitSettings, examples.pop("split"))
        return _typed(
            cls,
            {**values, "examples": _typed(timelines.ExampleSettings, {**examples, "split": split})},
        )


def _typed(cls, values: dict[str, Any]):
    """Builds a settings dataclass from JSON values (a Struct keeps every number as a double)."""
    kwargs = {}
    for field in dataclasses.fields(cls):
        if field.name not in values:  # settings recorded before the field existed
            continue
        value = values[field.name]
        if field.type in ("int", "int | None") and value is not None:
            value = int(value)
        kwargs[field.name] = value
    return cls(**kwargs)


def settings_from_exec_properties(exec_properties: dict[str, Any]) -> IngestSettings:
    custom = example_gen_pb2.CustomConfig()
    json_format.Parse(exec_properties[standard_component_specs.CUSTOM_CONFIG_KEY], custom)
    struct = struct_pb2.Struct()
    custom.custom_config.Unpack(struct)
    return IngestSettings.from_dict(json_format.MessageToDict(struct))


def _counter(name: str) -> beam.metrics.metricbase.Counter:
    return beam.metrics.Metrics.counter(_COUNTER_NAMESPACE, name)


class _ParseChunk(beam.DoFn):
    """Parses one chunk of the ratings file; groups accepted ratings by user."""

    def __init__(
        self,
        layout: layouts.Layout,
        rules: dict[str, validation.RatingRules],
        movie_ids: frozenset[int],
    ):
        self._layout = layout
        self._rules = rules  # per ratings file: a CSV file's columns are its header's
        self._movie_ids = movie_ids

    def process(self, chunk: readers.Chunk):
        by_user: dict[int, list[tuple]] = defaultdict(list)
        outcomes: Counter = Counter()
        first: dict[str, str] = {}
        lines = 0
        rules = self._rules[chunk.path]
        for line_no, line in readers.read_chunk(chunk):
            lines += 1
            outcome = validation.parse_rating(self._layout, line, line_no, rules)
            if isinstance(outcome, validation.Rating) and outcome.movie_id not in self._movie_ids:
                outcome = Reason.UNKNOWN_MOVIE
            if isinstance(outcome, Reason):
                outcomes[outcome] += 1
                rejection = validation.Rejection(chunk.path, line_no, outcome, line)
                first.setdefault(outcome.value, rejection.describe())
            else:
                if chunk.order_offset:  # spans: later spans' ratings order after earlier ones
                    outcome = outcome._replace(line_no=line_no + chunk.order_offset)
                # Plain tuples: Beam's fast coder encodes them without pickling.
                by_user[outcome.user_id].append(tuple(outcome))
        _counter("rating_lines").inc(lines)
        for reason, count in outcomes.items():
            _counter(f"rejected_{reason.value}").inc(count)
        yield beam.pvalue.TaggedOutput("report", _Tally(lines, 0, outcomes, first, Counter()))
        yield from by_user.items()


@dataclasses.dataclass
class _Tally:
    """Partial counts for the ingest report; tallies add up across chunks and users."""

    lines: int
    accepted: int
    outcomes: Counter
    first: dict[str, str]
    examples: Counter

    def __add__(self, other: _Tally) -> _Tally:
        first = dict(other.first)
        first.update(self.first)
        return _Tally(
            self.lines + other.lines,
            self.accepted + other.accepted,
            self.outcomes + other.outcomes,
            first,
            self.examples + other.examples,
        )


def _empty_tally() -> _Tally:
    return _Tally(0, 0, Counter(), {}, Counter())


class _BuildTimeline(beam.DoFn):
    def __init__(self, settings: timelines.ExampleSettings):
        self._settings = settings

    def process(self, user_ratings):
        user_id, chunks = user_ratings
        ratings = [validation.Rating(*fields) for chunk in chunks for fields in chunk]
        timeline, outcomes = timelines.build_timeline(user_id, ratings, self._settings)
        for reason, count in outcomes.items():
            _counter(f"rejected_{reason.value}").inc(count)
        accepted = len(timeline.ratings) if timeline else 0
        _counter("accepted_ratings").inc(accepted)
        yield beam.pvalue.TaggedOutput("report", _Tally(0, accepted, outcomes, {}, Counter()))
        if timeline:
            yield timeline


class _EmitExamples(beam.DoFn):
    def __init__(self, movies, users, settings: timelines.ExampleSettings):
        self._movies = movies
        self._users = users
        self._settings = settings

    def process(self, timeline: timelines.Timeline, cutoffs):
        user = self._users.get(timeline.user_id)
        examples: Counter = Counter()
        for split, example in timelines.timeline_examples(
            timeline, self._movies, user, self._settings, cutoffs
        ):
            examples[split] += 1
            yield split, example
        yield beam.pvalue.TaggedOutput("report", _Tally(0, 0, Counter(), {}, examples))


def _label_timestamps(timeline: timelines.Timeline):
    return (rating.timestamp for rating in timeline.ratings[1:])


def _temporal_cutoffs(timeline_pcoll, split: timelines.SplitSettings):
    """(eval_start, test_start) as a singleton side input."""
    if split.temporal_eval_start is not None and split.temporal_test_start is not None:
        fixed = (split.temporal_eval_start, split.temporal_test_start)
        return beam.pvalue.AsSingleton(
            timeline_pcoll.pipeline | "FixedCutoffs" >> beam.Create([fixed])
        )
    resolution = 1000

    def pick(quantiles: list[int]) -> tuple[int, int]:
        return (
            quantiles[round(split.temporal_eval_quantile * resolution)],
            quantiles[round(split.temporal_test_quantile * resolution)],
        )

    return beam.pvalue.AsSingleton(
        timeline_pcoll
        | "LabelTimestamps" >> beam.FlatMap(_label_timestamps)
        | "Quantiles" >> beam.ApproximateQuantiles.Globally(resolution + 1)
        | "PickCutoffs" >> beam.Map(pick)
    )


@dataclasses.dataclass(frozen=True)
class Source:
    """What one ExampleGen run reads: the folder with the movies and users files (the data
    folder, or the held-out span's), and the ratings files with their order offsets."""

    catalogue_dir: str
    ratings: list[tuple[str, int]]  # (path, order offset)
    # Span data only: the held-out span and the first span that gives examples.
    held_out_span: int | None = None
    first_example_span: int | None = None

    @property
    def cutoffs(self) -> tuple[int, int]:
        return (self.first_example_span, self.held_out_span)


def plan_source(data_dir: str, settings: IngestSettings, span: int | None) -> Source:
    """The files of a run; for span data, those of span ``span`` (TFX's driver resolved it
    from the input pattern and the RangeConfig) and of every earlier span, whose ratings
    are history. Raises DataError for spans that cannot be read as a sequence."""
    if not settings.spans:
        layout = layouts.detect_layout(data_dir)
        return Source(data_dir, [(data_dir.rstrip("/") + "/" + layout.ratings_file, 0)])
    found = spans.list_spans(data_dir)
    spans.check_sequence(data_dir, found)
    if span is None or not 1 <= span <= found[-1].number:
        raise layouts.DataError(
            f"span {span} is not among the spans of {data_dir!r} (1..{found[-1].number})"
        )
    if span < 2:
        raise layouts.DataError(
            f"span {span} is the first span: a run holds out its span's ratings and trains on "
            "the spans before it, so the first run is for span 2"
        )
    read = found[:span]
    layout = layouts.detect_layout(read[-1].folder)
    ratings = []
    for earlier in read:
        if layouts.detect_layout(earlier.folder) != layout:
            raise spans.SpanError(
                f"{earlier.folder!r} is not in the {layout.name} layout of span {span}: "
                "every span must have the same layout"
            )
        path = earlier.folder.rstrip("/") + "/" + layout.ratings_file
        ratings.append((path, spans.order_key(earlier.number, 0)))
    first = max(1, span - settings.span_window + 1) if settings.span_window else 1
    return Source(read[-1].folder, ratings, span, first)


def _ratings_description(data_dir: str, source: Source) -> str:
    """The ratings file, or for spans the range of span files a run read."""
    if source.held_out_span is None:
        return source.ratings[0][0]
    name = source.ratings[-1][0].rsplit("/", 1)[-1]
    first, last = spans.folder_name(1), spans.folder_name(source.held_out_span)
    return f"{data_dir.rstrip('/')}/{{{first}..{last}}}/{name}"


def _input_files(source: Source, layout: layouts.Layout) -> dict[str, dict[str, Any]]:
    """Size and SHA-256 of each file read, by role: what lineage traces a model back to.
    For spans, "ratings" is the held-out span's file and ``ratings_span_NNNN`` the others."""
    files = layouts.input_files(source.catalogue_dir, layout)
    for path, offset in source.ratings[:-1]:
        files[f"ratings_span_{spans.span_of(offset):0{spans.SPAN_WIDTH}d}"] = path
    return {role: dataclasses.asdict(readers.digest(path)) for role, path in files.items()}


def _spans_context(source: Source) -> dict[str, Any] | None:
    if source.held_out_span is None:
        return None
    return {
        "held_out_span": source.held_out_span,
        "first_example_span": source.first_example_span,
        "spans_read": [spans.span_of(offset) for _, offset in source.ratings],
    }


def _write_report(tally: _Tally, path: str, context: dict[str, Any]) -> None:
    report = dict(context)
    report["ratings"] = {
        "file": context["ratings_file"],
        "lines": tally.lines,
        "accepted": tally.accepted,
        "rejected": {reason.value: n for reason, n in sorted(tally.outcomes.items())},
        "first_rejections": tally.first,
    }
    report["examples"] = dict(sorted(tally.examples.items()))
    with tf.io.gfile.GFile(path, "w") as handle:
        json.dump(report, handle, indent=2, sort_keys=True)


class Executor(base_example_gen_executor.BaseExampleGenExecutor):
    """Generates train/eval/test next-movie examples from MovieLens files."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        raise NotImplementedError(
            "MovieLensExampleGen splits by timeline, see GenerateExamplesByBeam"
        )

    def GenerateExamplesByBeam(self, pipeline: beam.Pipeline, exec_properties: dict[str, Any]):
        data_dir = exec_properties[standard_component_specs.INPUT_BASE_KEY]
        settings = settings_from_exec_properties(exec_properties)
        span = exec_properties.get(SPAN_KEY)
        source = plan_source(data_dir, settings, None if span is None else int(span))
        catalogue = source.catalogue_dir
        layout = layouts.detect_layout(catalogue)
        rules = {
            path: validation.rating_rules(
                path.rsplit("/", 1)[0], layout, settings.min_timestamp, settings.max_timestamp
            )
            for path, _ in source.ratings
        }
        window = next(iter(rules.values()))  # the same time window for every file
        movies, movie_report = tables.read_movies(catalogue, layout)
        write_movie_table(os.path.dirname(self._report_path), movies)
        users, user_report = tables.read_users(catalogue, layout)
        ratings_path = _ratings_description(data_dir, source)
        logging.info(
            "MovieLens layout %s in %s: %d movies, %d users with profiles; ratings: %s",
            layout.name,
            catalogue,
            len(movies),
            len(users),
            ratings_path,
        )

        parsed = (
            pipeline
            | "RatingsFile" >> beam.Create(source.ratings)
            | "PlanChunks"
            >> beam.FlatMapTuple(
                lambda path, offset: readers.plan_chunks(path, settings.chunk_bytes, offset)
            )
            | "SpreadChunks" >> beam.Reshuffle()
            | "ParseChunks"
            >> beam.ParDo(_ParseChunk(layout, rules, frozenset(movies))).with_outputs(
                "report", main="ratings"
            )
        )
        built = (
            parsed.ratings
            | "GroupByUser" >> beam.GroupByKey()
            | "BuildTimelines"
            >> beam.ParDo(_BuildTimeline(settings.examples)).with_outputs(
                "report", main="timelines"
            )
        )
        split = settings.examples.split
        if split.kind == "temporal":
            cutoffs = _temporal_cutoffs(built.timelines, split)
        elif split.kind == "span":
            cutoffs = beam.pvalue.AsSingleton(
                pipeline | "SpanCutoffs" >> beam.Create([source.cutoffs])
            )
        else:
            cutoffs = beam.pvalue.AsSingleton(pipeline | "NoCutoffs" >> beam.Create([()]))
        emitted = built.timelines | "EmitExamples" >> beam.ParDo(
            _EmitExamples(movies, users, settings.examples), cutoffs
        ).with_outputs("report", main="examples")

        context = {
            "data_dir": data_dir,
            "layout": layout.name,
            "ratings_file": ratings_path,
            # Size and SHA-256 of each file read: what lineage traces a model back to.
            "input_files": _input_files(source, layout),
            "movies": movie_report.to_json(),
            "users": user_report.to_json() if user_report else None,
            "settings": dataclasses.asdict(settings),
            "spans": _spans_context(source),
            "timestamp_window": {
                "min": window.min_timestamp,
                "max": window.max_timestamp,
                "min_utc": limits.iso_date(window.min_timestamp),
                "max_utc": limits.iso_date(window.max_timestamp),
            },
        }
        _ = (
            (parsed.report, built.report, emitted.report)
            | "MergeReports" >> beam.Flatten()
            | "SumReports" >> beam.CombineGlobally(lambda tallies: sum(tallies, _empty_tally()))
            | "WriteReport" >> beam.Map(_write_report, self._report_path, context)
        )
        by_split = emitted.examples | "PartitionSplits" >> beam.Partition(
            lambda item, n: timelines.SPLITS.index(item[0]), len(timelines.SPLITS)
        )
        return {
            name: by_split[i] | f"Serialized[{name}]" >> beam.Values()
            for i, name in enumerate(timelines.SPLITS)
        }

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        examples = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.EXAMPLES_KEY]
        )
        self._log_startup(input_dict, output_dict, exec_properties)
        examples.split_names = artifact_utils.encode_split_names(list(timelines.SPLITS))
        self._report_path = os.path.join(examples.uri, REPORT_FILE)
        kept = kept_report_path(examples.uri)
        try:
            report = self._ingest(examples, exec_properties)
        except layouts.DataError as error:
            _keep_report(self._report_path, kept, exec_properties, str(error))
            raise IngestError(f"{error} Ingest report: {kept}", kept) from error
        _keep_report(self._report_path, kept, exec_properties, None)
        logging.info("MovieLens ingest report:\n%s", summarize(report).text)

    def _ingest(self, examples, exec_properties) -> dict[str, Any]:
        """Writes the splits and the report, records the counts in MLMD, checks them."""
        settings = settings_from_exec_properties(exec_properties)
        with self._make_beam_pipeline() as pipeline:
            for split, records in self.GenerateExamplesByBeam(pipeline, exec_properties).items():
                # The per-user grouping already spreads examples over the workers, so TFX's
                # WriteSplit reshuffle is skipped: it cost 40% of ExampleGen's time on ML-1M.
                split_uri = artifact_utils.get_split_uri([examples], split)
                _ = records | f"WriteSplit[{split}]" >> beam.io.WriteToTFRecord(
                    os.path.join(split_uri, write_split.DEFAULT_FILE_NAME),
                    file_name_suffix=".gz",
                )
        examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)
        examples_utils.set_file_format(
            examples, write_split.to_file_format_str(example_gen_pb2.FORMAT_TFRECORDS_GZIP)
        )
        with tf.io.gfile.GFile(self._report_path) as handle:
            report = json.load(handle)
        for key, value in summarize(report).properties.items():
            examples.set_int_custom_property(key, value)
        for key, value in input_file_properties(report).items():
            if isinstance(value, int):
                examples.set_int_custom_property(key, value)
            else:
                examples.set_string_custom_property(key, value)
        check_bad_lines(report, settings.max_bad_fraction)
        return report


class IngestError(layouts.DataError):
    """ExampleGen failed on its data; ``report_path`` is the ingest report kept for it."""

    def __init__(self, message: str, report_path: str):
        super().__init__(message)
        self.report_path = report_path


def _keep_report(
    report_path: str, kept: str, exec_properties: dict[str, Any], error: str | None
) -> None:
    """Copies the report (or, when ingest failed before counting, what is known) to where
    TFX does not delete it, with the error that ended ingest."""
    if tf.io.gfile.exists(report_path):
        with tf.io.gfile.GFile(report_path) as handle:
            report = json.load(handle)
    else:
        report = {"data_dir": exec_properties[standard_component_specs.INPUT_BASE_KEY]}
    report["error"] = error
    tf.io.gfile.makedirs(os.path.dirname(kept))
    with tf.io.gfile.GFile(kept, "w") as handle:
        json.dump(report, handle, indent=2, sort_keys=True)


@dataclasses.dataclass
class Summary:
    text: str
    properties: dict[str, int]


def file_sections(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's per-file sections (FileReports as JSON) of the files that were read."""
    return [s for s in (report["ratings"], report["movies"], report["users"]) if s]


def invalid_lines(section: dict[str, Any]) -> int:
    """A file's bad input: rejected lines, less structural ones and the settings' filters."""
    return validation.count_reasons(section["rejected"], validation.INVALID_REASONS)


def summarize(report: dict[str, Any]) -> Summary:
    """A readable account of every line's outcome, and the figures kept in MLMD."""
    rows = []
    for section in file_sections(report):
        rejected = section["rejected"]
        rows.append(
            f"{section['file']}: {section['lines']} lines = {section['accepted']} accepted"
            + "".join(f" + {n} {reason}" for reason, n in sorted(rejected.items()))
        )
    examples = report["examples"]
    rows.append("examples: " + ", ".join(f"{s}={examples.get(s, 0)}" for s in timelines.SPLITS))
    ratings = report["ratings"]
    properties = {
        "rating_lines": ratings["lines"],
        "accepted_ratings": ratings["accepted"],
        **{f"rejected_{r}": n for r, n in ratings["rejected"].items()},
        **{f"{names.EXAMPLES_COUNT_PREFIX}{s}": examples.get(s, 0) for s in timelines.SPLITS},
    }
    return Summary("\n".join(rows), properties)


def input_file_properties(report: dict[str, Any]) -> dict[str, str | int]:
    """``<role>_file``, ``<role>_bytes`` and ``<role>_sha256`` of each input file (for MLMD)."""
    properties: dict[str, str | int] = {}
    for role, entry in sorted(report.get("input_files", {}).items()):
        properties[input_file_property(role, "file")] = entry["path"]
        properties[input_file_property(role, "bytes")] = entry["bytes"]
        properties[input_file_property(role, "sha256")] = entry["sha256"]
    return properties


def check_file(section: dict[str, Any], max_bad_fraction: float) -> None:
    """Fails when a file's share of invalid lines (a FileReport as JSON) is over the limit."""
    invalid = invalid_lines(section)
    data_lines = section["lines"] - validation.count_reasons(
        section["rejected"], validation.SKIPPED_REASONS
    )
    if data_lines and invalid / data_lines > max_bad_fraction:
        first = "; ".join(
            section["first_rejections"][r]
            for r in sorted(section["first_rejections"])
            if Reason(r) in validation.INVALID_REASONS
        )
        raise layouts.DataError(
            f"{section['file']}: {invalid} of {data_lines} lines are invalid "
            f"({invalid / data_lines:.1%} > max_bad_fraction {max_bad_fraction:.1%}). "
            f"First of each kind: {first}"
        )


def check_bad_lines(report: dict[str, Any], max_bad_fraction: float) -> None:
    """Fails when a file's invalid share is over the limit or nothing usable remains."""
    for section in file_sections(report):
        check_file(section, max_bad_fraction)
    if not sum(report["examples"].values()):
        ratings = report["ratings"]
        rejected = ratings["rejected"]
        filtered = ratings["accepted"] + rejected.get(Reason.SHORT_TIMELINE.value, 0)
        valid = filtered + rejected.get(Reason.BELOW_MIN_RATING.value, 0)
        settings = IngestSettings.from_dict(report["settings"]).examples
        raise layouts.DataError(
            "No examples: "
            + timelines.no_examples_message(ratings["file"], valid, filtered, None, settings)
        )
