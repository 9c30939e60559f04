"""Beam executor of MovieLensExampleGen: rating files -> per-user timelines -> examples.

Work is spread over line-aligned chunks of the ratings file and then over users, so Beam
handles a few hundred chunk elements and one element per user rather than one per rating.
Every line's outcome is counted (Beam counters, and the ingest report in the output
artifact: components.contracts.ingest_report, summed by example_gen.tally), and a run whose
share of invalid lines exceeds ``max_bad_fraction`` fails with one message naming the file,
line and reason. The size and SHA-256 of each input file go
into the report and the Examples artifact's custom properties, for lineage.

TFX deletes a failed execution's output folder, so the report is also kept beside it
(``ingest_record.kept_report_path``): when ingest fails, the counts so far are where the
error message says.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections import Counter, defaultdict
from typing import Any

import apache_beam as beam
from tfx.components.example_gen import base_example_gen_executor, write_split
from tfx.components.util import examples_utils
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs

from components import names
from components.contracts.ingest_report import FileSection, IngestReport, InputFile
from components.data_formats import limits
from components.data_formats.movielens import layouts, readers, tables, validation
from components.data_formats.movielens.validation import Reason
from components.example_gen import ingest_checks, source, timelines
from components.example_gen.ingest_record import kept_report_path
from components.example_gen.movie_table import write_movie_table
from components.example_gen.settings import SPAN_KEY, settings_from_exec_properties
from components.example_gen.tally import Tally, total, write_report

_COUNTER_NAMESPACE = names.EXAMPLE_GEN


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
        yield beam.pvalue.TaggedOutput("report", Tally(lines, 0, outcomes, first, Counter()))
        yield from by_user.items()


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
        yield beam.pvalue.TaggedOutput("report", Tally(0, accepted, outcomes, {}, Counter()))
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
        yield beam.pvalue.TaggedOutput("report", Tally(0, 0, Counter(), {}, examples))


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
        planned = source.plan_source(data_dir, settings, None if span is None else int(span))
        catalogue = planned.catalogue_dir
        layout = layouts.detect_layout(catalogue)
        rules = {
            path: validation.rating_rules(
                path.rsplit("/", 1)[0], layout, settings.min_timestamp, settings.max_timestamp
            )
            for path, _ in planned.ratings
        }
        window = next(iter(rules.values()))  # the same time window for every file
        movies, movie_report = tables.read_movies(catalogue, layout)
        write_movie_table(self._examples_uri, movies)
        users, user_report = tables.read_users(catalogue, layout)
        ratings_path = source.ratings_description(data_dir, planned)
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
            | "RatingsFile" >> beam.Create(planned.ratings)
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
                pipeline | "SpanCutoffs" >> beam.Create([planned.cutoffs])
            )
        else:
            cutoffs = beam.pvalue.AsSingleton(pipeline | "NoCutoffs" >> beam.Create([()]))
        emitted = built.timelines | "EmitExamples" >> beam.ParDo(
            _EmitExamples(movies, users, settings.examples), cutoffs
        ).with_outputs("report", main="examples")

        context = IngestReport(
            data_dir=data_dir,
            layout=layout.name,
            ratings_file=ratings_path,
            # Size and SHA-256 of each file read: what lineage traces a model back to.
            input_files={
                role: InputFile(**entry)
                for role, entry in source.input_files(planned, layout).items()
            },
            movies=FileSection.from_json(movie_report.to_json()),
            users=FileSection.from_json(user_report.to_json() if user_report else None),
            settings=dataclasses.asdict(settings),
            spans=source.spans_context(planned),
            timestamp_window={
                "min": window.min_timestamp,
                "max": window.max_timestamp,
                "min_utc": limits.iso_date(window.min_timestamp),
                "max_utc": limits.iso_date(window.max_timestamp),
            },
        )
        _ = (
            (parsed.report, built.report, emitted.report)
            | "MergeReports" >> beam.Flatten()
            | "SumReports" >> beam.CombineGlobally(total)
            | "WriteReport" >> beam.Map(write_report, self._examples_uri, context)
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
        self._examples_uri = examples.uri
        kept = kept_report_path(examples.uri)
        data_dir = exec_properties[standard_component_specs.INPUT_BASE_KEY]
        try:
            report = self._ingest(examples, exec_properties)
        except layouts.DataError as error:
            ingest_checks.keep_report(examples.uri, kept, data_dir, str(error))
            raise IngestError(f"{error} Ingest report: {kept}", kept) from error
        ingest_checks.keep_report(examples.uri, kept, data_dir, None)
        logging.info("MovieLens ingest report:\n%s", ingest_checks.summarize(report).text)

    def _ingest(self, examples, exec_properties) -> IngestReport:
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
        report = IngestReport.read(examples.uri)
        for key, value in ingest_checks.summarize(report).properties.items():
            examples.set_int_custom_property(key, value)
        for key, value in ingest_checks.input_file_properties(report).items():
            if isinstance(value, int):
                examples.set_int_custom_property(key, value)
            else:
                examples.set_string_custom_property(key, value)
        ingest_checks.check_bad_lines(report, settings.max_bad_fraction)
        return report


class IngestError(layouts.DataError):
    """ExampleGen failed on its data; ``report_path`` is the ingest report kept for it."""

    def __init__(self, message: str, report_path: str):
        super().__init__(message)
        self.report_path = report_path
