"""Runs the pipeline locally with LocalDagRunner and Beam's DirectRunner.

As a module::

    python -m pipeline.local_runner --data-dir DIR --output-dir DIR [--config FILE]
        [--split leave_last_out|random|temporal] [--min-rating R] [--beam-arg=--flag=value]

As a TFX CLI pipeline (settings from RECS_* environment variables, any flag from RECS_ARGS)::

    tfx pipeline create --engine local --pipeline_path pipeline/local_runner.py
    tfx run create --engine local --pipeline_name movie-recs

Before any component runs, ``pipeline.preflight`` checks the data and the output folder.
Every expected failure (bad data, bad settings, an unwritable or full disk) ends in one
``error:`` line and exit code 2 (``--debug``: the traceback); the ingest summary is printed
on every run that reached ExampleGen, and a failed ingest names its kept report. The run
records its process in ML Metadata, and runs whose process died are marked abandoned
(``pipeline.liveness``). Before anything reads or writes the output folder, the run takes
its lock (``pipeline.run_lock``: a second run is refused in one line, or waits with
``--wait``) and checks that its ML Metadata store is readable.
"""

import os
import sys

if not __package__:  # run as a file by the TFX CLI: import from the repository root
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import bootstrap
import components  # noqa: F401  (selects Keras 2 before TensorFlow is imported)
from pipeline import run_console

if __name__ == "__main__" and "--verbose" not in sys.argv[1:]:
    if {"-h", "--help"} & set(sys.argv[1:]):
        bootstrap.quiet_tensorflow()  # only the usage follows: no run, no log to keep them
    else:
        # TensorFlow's and the cloud libraries' import-time lines go to the run's log file.
        run_console.hold_startup_output()

# isort: split
import argparse
import contextlib
import datetime
import errno
from collections.abc import Callable

from absl import logging
from ml_metadata import errors as mlmd_errors
from tfx import v1 as tfx
from tfx.dsl.compiler import constants
from tfx.orchestration import metadata as tfx_metadata
from tfx.orchestration.local import runner_utils
from tfx.orchestration.portable import runtime_parameter_utils
from tfx.orchestration.portable.mlmd import context_lib
from tfx.proto.orchestration import pipeline_pb2
from tfx.utils import path_utils

from components import names
from components.contracts.ingest_report import IngestReport
from components.contracts.quality_metrics import QualityMetrics
from components.data_formats import spans
from components.data_formats.movielens import layouts
from components.example_gen import component as example_gen_component
from components.example_gen import ingest_checks
from components.export import serving
from components.export.conversion import ParityError
from components.model import cloud_trainer, workers
from components.validation.anomalies_gate import DataAnomaliesError
from configs import input_config
from pipeline import (
    cli_errors,
    continuous,
    liveness,
    metadata,
    options,
    paths,
    preflight,
    run_lock,
)
from pipeline.pipeline import create_pipeline

EXAMPLE_GEN = names.EXAMPLE_GEN
# Failures a user can fix: before the run (settings, data, output folder) and during it
# (ingest, schema anomalies, the file system). Anything else is a bug: its traceback shows.
SETUP_ERRORS = (
    input_config.ConfigError,
    layouts.DataError,
    preflight.PreflightError,
    run_lock.RunLockedError,
    metadata.StoreError,
    ValueError,
    OSError,
)
# A training replica that fails (killed, out of memory) and a converted model that does not
# answer like its SavedModel (nothing is pushed) end the run in one line too.
RUN_ERRORS = (
    layouts.DataError,
    DataAnomaliesError,
    OSError,
    workers.ReplicasFailed,
    ParityError,
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=env("RECS_DATA_DIR", paths.DATA_DIR))
    parser.add_argument("--output-dir", default=env("RECS_OUTPUT_DIR", paths.OUTPUT_DIR))
    options.add_arguments(parser)
    parser.add_argument("--beam-workers", type=int, default=0, help="0: one per CPU")
    parser.add_argument(
        "--beam-arg",
        action="append",
        default=[],
        help="extra Beam pipeline argument, e.g. --beam-arg=--runner=DirectRunner",
    )
    parser.add_argument("--no-cache", action="store_true", help="re-run every component")
    parser.add_argument(
        "--wait",
        action="store_true",
        help="when another run holds the output folder, wait for it (default: refuse at once)",
    )
    parser.add_argument(
        "--keep-versions",
        type=_positive,
        default=None,
        metavar="N",
        help="after the run, delete all but the newest N pushed versions (never the one the "
        "serving pointer names)",
    )
    parser.add_argument(
        "--trainer-workers",
        type=int,
        default=1,
        help="train with N worker processes on this machine (MultiWorkerMirroredStrategy, "
        "each with the TF_CONFIG Vertex AI Training would give it); 1: in-process",
    )
    parser.add_argument("--until", help="last component to run, e.g. Transform")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="every log line on the console (default: one line per component, the full log "
        "in OUTPUT_DIR/logs/)",
    )
    cli_errors.add_debug_flag(parser)
    return parser.parse_args(argv)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a number of versions is at least 1, not {text!r}")
    return int(text)


def build(
    args: argparse.Namespace,
    announce: Callable[[str], None] = print,
    hold: Callable[[], None] = lambda: None,
):
    """The pipeline for these arguments. Config, data and output-folder problems fail here
    (``pipeline.preflight``), before any component runs.

    Span data (``span-0001/``, ...) is detected: the run holds out the span ``--span``
    names (resolved here, so that preflight checks the very spans the run reads), trains
    on the spans before it and warm-starts from the latest blessed model. Raises
    continuous.NothingToRun when ``--span next`` finds every span evaluated."""
    span_data = args.span is not None or spans.has_spans(args.data_dir)
    settings = options.settings(
        args, spans=span_data, ratings=preflight.count_ratings(args.data_dir)
    )
    announce(f"Recipe: {settings.recipe}")
    config = input_config.parse(settings.input_config_text, "the input config")
    range_config = None
    if span_data:
        span = continuous.resolve_span(
            args.span, args.data_dir, args.output_dir, args.pipeline_name
        )
        data = preflight.inspect_spans(args.data_dir, settings.ingest, span)
        range_config = example_gen_component.span_range(span)
        announce(f"Span data: this run holds out span {span} and trains on the spans before it.")
    else:
        data = preflight.inspect_data(args.data_dir, settings.ingest)
    layout = data.layout
    if input_config.needs_user_features(config) and layout.users_file is None:
        raise input_config.ConfigError(
            f"{args.config or 'the recipe'} uses user features, but the {layout.name} layout in "
            f"{args.data_dir} has no users file; choose a config without global features."
        )
    preflight.check_output(args.output_dir, data.input_bytes)
    preflight.check_examples_possible(data, settings.ingest)
    hold()  # the run lock, before the first write in the output folder
    output_dir = os.path.abspath(args.output_dir)
    return create_pipeline(
        pipeline_name=args.pipeline_name,
        pipeline_root=paths.pipeline_root(output_dir),
        data_dir=os.path.abspath(args.data_dir),
        settings=settings,
        push_destination=paths.push_destination(output_dir),
        schema_dir=paths.staged_schema_dir(output_dir),
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            paths.metadata_path(output_dir)
        ),
        beam_pipeline_args=paths.beam_args(args.beam_workers, args.beam_arg),
        enable_cache=not args.no_cache,
        until=args.until,
        range_config=range_config,
        trainer_cloud=local_workers(args.trainer_workers),
    )


def local_workers(count: int) -> dict | None:
    """The Trainer's custom-config keys for ``count`` local worker processes (None: 1)."""
    if count < 1:
        raise ValueError(f"--trainer-workers must be at least 1, got {count}")
    if count == 1:
        return None
    # The Vertex job spec as kubeflow.runner compiles it, launched here ("local").
    return cloud_trainer.custom_config(
        image="local",
        project="local",
        region="local",
        replicas=count,
        machine_type="local",
        launcher=cloud_trainer.LOCAL,
    )


class OwnedDagRunner(tfx.orchestration.LocalDagRunner):
    """LocalDagRunner that records this process as the owner of its run in ML Metadata.

    It picks the run id as LocalDagRunner would (the start time), and registers the run's
    context before the first component, with the owner (``liveness.current_owner``): a run
    whose process dies is then recognised as abandoned, not left "in progress" forever.
    """

    run_id: str | None = None

    def run_with_ir(self, pipeline: pipeline_pb2.Pipeline, run_options=None):
        self.run_id = datetime.datetime.now().isoformat()
        # LocalDagRunner substitutes only parameters still unset, so it keeps this id.
        runtime_parameter_utils.substitute_runtime_parameter(
            pipeline, {constants.PIPELINE_RUN_ID_PARAMETER_NAME: self.run_id}
        )
        _record_owner(pipeline, self.run_id)
        return super().run_with_ir(pipeline, run_options)


def _record_owner(pipeline: pipeline_pb2.Pipeline, run_id: str) -> None:
    deployment = runner_utils.extract_local_deployment_config(pipeline)
    connection = deployment.metadata_connection_config
    config = getattr(connection, connection.WhichOneof("connection_config"))
    # The pipeline and pipeline_run contexts, exactly as TFX registers them for every node.
    run_contexts = pipeline_pb2.NodeContexts(
        contexts=[
            spec
            for spec in pipeline.nodes[0].pipeline_node.contexts.contexts
            if spec.type.name
            in (constants.PIPELINE_CONTEXT_TYPE_NAME, constants.PIPELINE_RUN_CONTEXT_TYPE_NAME)
        ]
    )
    with tfx_metadata.Metadata(config) as handle:
        context_lib.prepare_contexts(handle, run_contexts)
        context = metadata.run_context(handle.store, run_id)
        liveness.record_owner(handle.store, context.id)


def _mark_abandoned(output_dir: str, say: Callable[[str], None]) -> None:
    """Marks the unfinished executions of runs whose process died (one line per run). A
    store that cannot be updated now is no reason to refuse the run: it is said, and the
    next run tries again."""
    if not os.path.exists(paths.metadata_path(output_dir)):
        return
    try:
        marked = liveness.mark_abandoned(metadata.store(output_dir))
    except (RuntimeError, mlmd_errors.StatusError) as error:
        say(f"warning: could not look for abandoned runs: {error}")
        return
    for line in marked:
        say(line)


class _Hold:
    """Takes the output folder's run lock once, before anything reads or writes the folder:
    at once when the folder exists (its store and spans are read while building), else
    just before the pipeline first writes in it, so a run that fails its preflight leaves
    no folder behind."""

    def __init__(self, args: argparse.Namespace, held: contextlib.ExitStack):
        self.lock = run_lock.RunLock(args.output_dir, wait=args.wait)
        self.held = held
        self.taken = False

    def __call__(self, *, tolerate_os_errors: bool = False) -> None:
        if self.taken:
            return
        try:
            self.lock.acquire()
        except OSError:
            if tolerate_os_errors:  # an unwritable folder: the preflight says so in its words
                return
            raise
        self.taken = True
        self.held.callback(self.lock.release)


def main(argv: list[str] | None = None) -> int:
    with contextlib.ExitStack() as held:
        return _main(argv, held)


def _main(argv: list[str] | None, held: contextlib.ExitStack) -> int:
    debug = options.debug_requested(argv)
    notes: list[str] = []
    try:
        args = parse_args(options.command_line(argv))
        # TFX logs through absl: INFO shows each component's progress (in the log file
        # unless --verbose); building the pipeline says nothing worth a console line.
        logging.set_verbosity(logging.INFO if args.verbose else logging.ERROR)
        hold = _Hold(args, held)
        if os.path.isdir(args.output_dir):
            hold(tolerate_os_errors=True)
            metadata.check_store(args.output_dir)
        tfx_pipeline = build(args, notes.append, hold)
    except continuous.NothingToRun as done:
        run_console.discard_startup_output()
        print(done)
        return 0
    except SETUP_ERRORS as error:
        run_console.discard_startup_output()
        return cli_errors.fail(error, debug)
    output_dir = os.path.abspath(args.output_dir)
    runner = OwnedDagRunner()
    if args.verbose:
        console = contextlib.nullcontext(print)
    else:
        console = run_console.quiet(
            run_console.log_path(output_dir),
            lambda node: run_console.key_figure(output_dir, runner.run_id, node),
        )
    try:
        with console as say:
            for note in notes:
                say(note)
            _mark_abandoned(output_dir, say)
            logging.set_verbosity(logging.INFO)
            runner.run(tfx_pipeline)
    except RUN_ERRORS as error:
        _print_ingest_summary(output_dir, runner.run_id, getattr(error, "report_path", None))
        return cli_errors.fail(disk_error(error, output_dir) or error, debug)
    except Exception as error:  # of the unexpected, only a full or failing disk is said in a line
        disk = disk_error(error, output_dir)
        if disk is None:
            raise
        return cli_errors.fail(disk, debug)
    finally:
        logging.set_verbosity(logging.INFO if args.verbose else logging.WARNING)
    if runner.run_id is None:  # the TFX CLI compiled the pipeline: nothing ran
        return 0
    _print_ingest_summary(output_dir, runner.run_id, None)
    print(f"\nPipeline root and ML Metadata: {output_dir}")
    model = _latest_model(output_dir)
    if model:
        print(f"Trained model (SavedModel with on-device signatures): {model}")
    if args.until:
        print(f"Stopped after {args.until} (--until): this run pushes no model.")
    elif _print_quality(output_dir, runner.run_id):
        _print_pushed(output_dir, runner.run_id)
    serving.clean_staging(paths.push_destination(output_dir))  # a killed push's leftovers
    if args.keep_versions:
        removed = serving.prune(paths.push_destination(output_dir), args.keep_versions)
        if removed:
            print(f"Deleted {len(removed)} old version(s) (--keep-versions {args.keep_versions}).")
    return 0


# What a full disk says through the libraries a run writes with (TensorFlow's file system,
# SQLite through ML Metadata), besides Python's own OSError.
_DISK_FULL_TEXTS = ("No space left on device", "Disk quota exceeded", "database or disk is full")


def disk_error(error: BaseException, output_dir: str) -> OSError | None:
    """A full disk or a write error, as an OSError naming the output folder (whose line says
    the free space), or None for anything else."""
    if isinstance(error, OSError) and error.errno in cli_errors.SPACE_ERRNOS:
        if error.filename is None:
            return OSError(error.errno, error.strerror, output_dir)
        return error
    text = str(error)
    if any(sign in text for sign in _DISK_FULL_TEXTS):
        store = " (ML Metadata could not record it)" if "database" in text else ""
        return OSError(errno.ENOSPC, "No space left on device", output_dir + store)
    return None


def _print_ingest_summary(output_dir: str, run_id: str | None, kept: str | None) -> None:
    """Every line's outcome per file, from the run's ingest report (or the copy a failed
    ExampleGen kept), on the console whatever happened later in the run."""
    path = kept
    if path is None and run_id is not None:
        examples = metadata.run_artifact(output_dir, run_id, EXAMPLE_GEN, names.EXAMPLES_KEY)
        path = IngestReport.path(examples.uri) if examples else None
    if path is None or not os.path.isfile(path):
        return
    report = IngestReport.read_file(path)
    if report.counted:
        summary = ingest_checks.summarize(report).text
        print(f"\nIngest ({path}):\n  " + summary.replace("\n", "\n  "))


def _print_quality(output_dir: str, run_id: str) -> bool:
    """The run's quality report: gate verdict and test-split figures; False if it has none."""
    from components.evaluation import report

    artifact = metadata.run_artifact(output_dir, run_id, names.QUALITY_REPORT, names.REPORT_KEY)
    if artifact is None:
        return False
    print(report.summary_block(QualityMetrics.read(artifact.uri).to_json()))
    print(f"Full report: {os.path.join(artifact.uri, report.HTML_FILE)}")
    return True


def _print_pushed(output_dir: str, run_id: str) -> None:
    """Where the served TFLite model is (the serving pointer's version), its size, and a
    sample recommendation; says so when this run's model was the one served already."""
    from components.export import on_device_model

    pushed = metadata.run_artifact(output_dir, run_id, names.PUSHER, names.PUSHED_MODEL_KEY)
    unchanged = pushed.custom_properties.get(names.PUSH_UNCHANGED_PROPERTY) if pushed else None
    if unchanged is not None:
        print(
            f"Push: unchanged, version {unchanged.string_value} already serves this model's "
            "bytes (no new version written)."
        )

    try:
        recommender = on_device_model.Recommender(output_dir)
    except on_device_model.RecommendError:
        print("No TFLite model has been pushed to this output folder yet.")
        return
    size = os.path.getsize(recommender.model_path)
    version = os.path.basename(os.path.dirname(recommender.model_path))
    print(
        f"Served TFLite model (version {version}, the serving pointer's): "
        f"{recommender.model_path} ({size / 2**20:.2f} MiB)"
    )
    sample = [int(m) for m in list(recommender.movies)[:3]]
    on_device_model.print_text(recommender, recommender.recommend(sample, 5, include_seen=False))
    print(
        f"Try: python -m commands.recommend --model {output_dir} --history {sample[0]},{sample[1]}"
    )
    print(f"Provenance: python -m commands.lineage --output-dir {output_dir} model")
    args = "" if os.path.abspath(output_dir) == paths.OUTPUT_DIR else f"--model {output_dir}"
    print("Try it in a browser: make demo" + (f' DEMO_ARGS="{args}"' if args else ""))


def _latest_model(output_dir: str) -> str | None:
    """The newest Trainer SavedModel recorded in ML Metadata, if any."""
    try:
        model = metadata.latest_artifact(output_dir, "Model")
    except LookupError:
        return None
    return path_utils.serving_model_path(model.uri)


if __name__ == "__main__":
    sys.exit(main())
