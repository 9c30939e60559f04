"""Compiles the pipeline into a PipelineJob JSON for Vertex AI Pipelines / Kubeflow Pipelines v2.

Offline and without credentials: nothing is uploaded, built or written under the pipeline
root. Module code is referenced by dotted paths that the image carries on its PYTHONPATH.

As a module::

    python -m kubeflow.runner --pipeline-root gs://BUCKET/movie-recs \\
        --image REGION-docker.pkg.dev/PROJECT/REPO/movie-recs:TAG \\
        [--data-dir gs://BUCKET/movielens/ml-1m] [--config cnn_id] [--hparam epochs=5] \\
        [--span latest|N [--span-window W]] \\
        [--beam-runner dataflow --project P --region R] [--output kubeflow/build/movie-recs.json]
        [--trainer-replicas N --trainer-machine-type TYPE --trainer-accelerator TYPE:COUNT]
        [--local]  (absolute local paths, for kubeflow.local_run; see kubeflow/remote.py)

With the TFX CLI (settings from RECS_* environment variables, see ``--help``)::

    RECS_PIPELINE_ROOT=gs://... RECS_IMAGE=... \\
        tfx pipeline compile --engine vertex --pipeline_path kubeflow/runner.py
"""

import os
import sys

if not __package__:  # run as a file by the TFX CLI: import from the repository root
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import components  # noqa: F401  (selects Keras 2 before TensorFlow is imported)

# isort: split
import argparse
import posixpath

from google.protobuf import json_format
from tfx import v1 as tfx
from tfx.orchestration import pipeline as tfx_pipeline

from components import names
from components.example_gen.component import span_range
from configs import input_config
from kubeflow import beam, remote
from pipeline import cli_errors, options, paths, preflight
from pipeline.pipeline import create_pipeline

# Where the Dockerfile puts the project; every path the containers read is under it.
IMAGE_PROJECT_DIR = "/pipeline"
DATA_DIR_PARAMETER = "data_dir"
# Span data (compiled with --span): the span a run holds out, as TFX's RangeConfig in JSON
# (ExampleGen's range_config); `kubeflow.submit --span N|latest` writes it.
SPAN_PARAMETER = "range_config"
DEFAULT_OUTPUT = os.path.join(paths.REPO_ROOT, "kubeflow", "build", "{pipeline_name}.json")


def image_path(local_path: str) -> str:
    """The path inside the image of a file of this repository."""
    relative = os.path.relpath(local_path, paths.REPO_ROOT)
    return posixpath.join(IMAGE_PROJECT_DIR, *relative.split(os.sep))


def parse_args(argv: list[str]) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--pipeline-root",
        default=env("RECS_PIPELINE_ROOT"),
        help="where runs write artifacts, e.g. gs://BUCKET/movie-recs (env RECS_PIPELINE_ROOT)",
    )
    parser.add_argument(
        "--image",
        default=env("RECS_IMAGE"),
        help="the image built from kubeflow/Dockerfile, for every component (env RECS_IMAGE)",
    )
    parser.add_argument(
        "--data-dir",
        default=env("RECS_DATA_DIR", image_path(paths.DATA_DIR)),
        help="default of the data_dir run parameter: MovieLens files, e.g. "
        "gs://BUCKET/movielens/ml-1m (default: the data embedded in the image)",
    )
    parser.add_argument(
        "--push-destination",
        default=env("RECS_PUSH_DESTINATION"),
        help="where blessed TFLite models go (default: PIPELINE_ROOT/serving_models)",
    )
    parser.add_argument(
        "--output",
        default=env("RECS_PIPELINE_FILE", DEFAULT_OUTPUT),
        help="the PipelineJob JSON to write (default: kubeflow/build/PIPELINE_NAME.json)",
    )
    options.add_arguments(parser)
    parser.add_argument("--no-cache", action="store_true", help="compile with caching off")
    group = parser.add_argument_group("Beam (ExampleGen, StatisticsGen, Transform, Evaluator)")
    group.add_argument(
        "--beam-runner", default=env("RECS_BEAM_RUNNER", "direct"), choices=beam.RUNNERS
    )
    group.add_argument(
        "--project", default=env("RECS_GCP_PROJECT"), help="Dataflow / Vertex AI Training project"
    )
    group.add_argument(
        "--region", default=env("RECS_GCP_REGION"), help="Dataflow / Vertex AI Training region"
    )
    group.add_argument(
        "--temp-location",
        default=env("RECS_BEAM_TEMP_LOCATION"),
        help="Dataflow temp files (default: PIPELINE_ROOT/beam-tmp)",
    )
    group.add_argument("--max-workers", type=int, default=beam.BeamSettings.max_workers)
    group.add_argument("--machine-type", default=beam.BeamSettings.machine_type)
    group.add_argument("--flink-master", default=env("RECS_FLINK_MASTER"), help="HOST:PORT")
    group.add_argument("--spark-master-url", default=env("RECS_SPARK_MASTER_URL"))
    group.add_argument("--job-endpoint", default=env("RECS_JOB_ENDPOINT"), help="HOST:PORT")
    group.add_argument(
        "--beam-environment-type",
        default="DOCKER",
        choices=("DOCKER", "EXTERNAL", "PROCESS"),
        help="how portable runners start workers (DOCKER: the pipeline image)",
    )
    group.add_argument("--beam-environment-config", default="")
    group.add_argument(
        "--beam-arg",
        action="append",
        default=[],
        help="extra Beam pipeline argument, e.g. --beam-arg=--num_workers=8",
    )
    remote.add_arguments(parser)
    cli_errors.add_debug_flag(parser)
    args = parser.parse_args(argv)
    missing = [
        f"--{name} (or RECS_{name.upper().replace('-', '_')})"
        for name in ("pipeline-root", "image")
        if not getattr(args, name.replace("-", "_"))
    ]
    if missing:
        parser.error("missing " + " and ".join(missing))
    # Paths the tasks could not reach fail here, in one line, before anything is written.
    remote.check_paths(
        {
            "--data-dir": args.data_dir,
            "--pipeline-root": args.pipeline_root,
            "--temp-location": args.temp_location,
            "--push-destination": args.push_destination,
        },
        local=args.local,
        image_dir=IMAGE_PROJECT_DIR,
        in_image_ok=("--data-dir",),
    )
    return args


def beam_settings(args: argparse.Namespace) -> beam.BeamSettings:
    return beam.BeamSettings(
        runner=args.beam_runner,
        image=args.image,
        project=args.project or "",
        region=args.region or "",
        temp_location=args.temp_location or posixpath.join(args.pipeline_root, "beam-tmp"),
        max_workers=args.max_workers,
        machine_type=args.machine_type,
        flink_master=args.flink_master or "",
        spark_master_url=args.spark_master_url or "",
        job_endpoint=args.job_endpoint or "",
        environment_type=args.beam_environment_type,
        environment_config=args.beam_environment_config,
        extra=tuple(args.beam_arg),
    )


def span_value(span: str | int) -> str:
    """The range_config run parameter for ``--span`` (latest or a number) as JSON."""
    if span == options.NEXT_SPAN:
        raise ValueError(
            "--span next needs the local runner's ML Metadata; a compiled job takes latest "
            "or a number (and kubeflow.submit --span N for one run)"
        )
    config = span_range(None if span == options.LATEST_SPAN else int(span))
    return json_format.MessageToJson(config, indent=None, sort_keys=True)


def span_data(args: argparse.Namespace) -> bool:
    """Whether to compile for span data: the data is chosen per run, so it is not looked
    at; ``--span`` (or ``--span-window``) says so."""
    return args.span is not None or bool(args.span_window)


def build(args: argparse.Namespace) -> tfx_pipeline.Pipeline:
    """The same pipeline as the local runner's, with paths of the image and the cloud."""
    data_dir = tfx.dsl.experimental.RuntimeParameter(
        name=DATA_DIR_PARAMETER, ptype=str, default=args.data_dir
    )
    spans = span_data(args)
    range_config = None
    if spans:
        range_config = tfx.dsl.experimental.RuntimeParameter(
            name=SPAN_PARAMETER, ptype=str, default=span_value(args.span or options.LATEST_SPAN)
        )
    return create_pipeline(
        pipeline_name=args.pipeline_name,
        pipeline_root=args.pipeline_root,
        data_dir=data_dir,
        # A folder of this machine sizes the recipe (`--recipe auto`); data on gs:// is not
        # read at compile time: the recipe for ML-1M-sized data and larger.
        settings=options.settings(
            args, spans=spans, ratings=preflight.count_ratings(args.data_dir)
        ),
        range_config=range_config,
        push_destination=args.push_destination
        or posixpath.join(args.pipeline_root, names.PUSHED_MODELS_DIR),
        # The image's copy; its path changes with its content only if the image tag does,
        # so tag images by commit (see kubeflow/README.md).
        schema_dir=image_path(paths.SCHEMA_DIR),
        beam_pipeline_args=beam.pipeline_args(beam_settings(args)),
        enable_cache=not args.no_cache,
        trainer_cloud=remote.trainer_config(args),
    )


def compile_pipeline(args: argparse.Namespace) -> str:
    """Writes the PipelineJob JSON; returns its path."""
    pipeline = build(args)  # settings problems fail here, before anything is written
    output = args.output.format(pipeline_name=args.pipeline_name)
    output_dir, filename = os.path.split(os.path.abspath(output))
    os.makedirs(output_dir, exist_ok=True)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=args.image,
            # Schema 2.1 (typed parameters) is what both KFP v2 and Vertex AI accept.
            use_pipeline_spec_2_1=True,
        ),
        output_dir=output_dir,
        output_filename=filename,
    )
    # The defaults land in the job's runtime config; a submission may override them.
    parameters = {DATA_DIR_PARAMETER: args.data_dir}
    if span_data(args):
        parameters[SPAN_PARAMETER] = span_value(args.span or options.LATEST_SPAN)
    runner.run(pipeline, parameter_values=parameters)
    return os.path.join(output_dir, filename)


def main(argv: list[str] | None = None) -> int:
    debug = options.debug_requested(argv)
    try:
        args = parse_args(options.command_line(argv))
        path = compile_pipeline(args)
    except (input_config.ConfigError, beam.BeamSettingsError, ValueError, OSError) as error:
        return cli_errors.fail(error, debug)
    print(f"PipelineJob for Vertex AI / KFP v2: {path}")
    print(f"Submit: python -m kubeflow.submit vertex --package {path} --project P --region R")
    return 0


if __name__ == "__main__":
    sys.exit(main())
