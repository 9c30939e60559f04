"""Submits a compiled pipeline to Vertex AI Pipelines or to a Kubeflow Pipelines v2 endpoint.

    python -m kubeflow.submit vertex --package kubeflow/build/movie-recs.json \\
        --project PROJECT --region REGION [--service-account SA] [--data-dir gs://...] [--no-cache]
        [--span latest|N] [--schedule "CRON"]
    python -m kubeflow.submit kfp --package kubeflow/build/movie-recs.json \\
        --host https://KFP_HOST [--experiment NAME] [--data-dir gs://...] [--no-cache]

A job compiled for span data (``kubeflow.runner --span ...``) takes the span a run holds
out as a run parameter: ``--span N`` (one run for span N) or ``--span latest``.
``vertex --schedule CRON`` creates a PipelineJobSchedule instead of one run: continuous
training, each scheduled run holding out the latest span (the compiled default) and
warm-starting from the latest blessed model.

Missing credentials, an unreachable endpoint or a rejected job end with one ``error:`` line
and exit code 2, not a stack trace.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import yaml

from kubeflow.runner import DATA_DIR_PARAMETER, DEFAULT_OUTPUT, SPAN_PARAMETER, span_value
from pipeline import cli_errors, paths
from pipeline.options import LATEST_SPAN


class SubmitError(RuntimeError):
    """The job could not be submitted; the message says why and what to do."""


def read_package(path: str) -> dict:
    """The PipelineJob JSON written by ``python -m kubeflow.runner``."""
    try:
        with open(path) as handle:
            job = json.load(handle)
    except FileNotFoundError:
        raise SubmitError(
            f"{path} does not exist: compile it with python -m kubeflow.runner"
        ) from None
    except json.JSONDecodeError as error:
        raise SubmitError(f"{path} is not a compiled PipelineJob JSON: {error}") from None
    if "pipelineSpec" not in job:
        raise SubmitError(f"{path} has no pipelineSpec: compile it with python -m kubeflow.runner")
    return job


def _parameters(args: argparse.Namespace, job: dict) -> dict[str, str]:
    """The run parameters this submission overrides (the compiled defaults hold the rest)."""
    parameters = {DATA_DIR_PARAMETER: args.data_dir} if args.data_dir else {}
    if args.span is not None:
        declared = job["pipelineSpec"]["root"].get("inputDefinitions", {}).get("parameters", {})
        if SPAN_PARAMETER not in declared:
            raise SubmitError(
                f"{args.package} was compiled without span data: compile it with "
                "python -m kubeflow.runner --span latest to choose a span per run"
            )
        try:
            parameters[SPAN_PARAMETER] = span_value(args.span)
        except ValueError as error:
            raise SubmitError(str(error)) from None
    return parameters


def _span(text: str) -> str:
    if text == LATEST_SPAN or (text.isdigit() and int(text) >= 1):
        return text
    raise argparse.ArgumentTypeError(f"{text!r}: give latest or a span number (1, 2, ...)")


def _cloud_error(error: Exception, target: str) -> SubmitError:
    """A readable reason for the usual ways a submission fails."""
    import google.auth.exceptions

    if isinstance(error, google.auth.exceptions.DefaultCredentialsError):
        return SubmitError(
            "no Google Cloud credentials: run `gcloud auth application-default login` or set "
            "GOOGLE_APPLICATION_CREDENTIALS to a service-account key file"
        )
    if isinstance(error, google.auth.exceptions.GoogleAuthError):
        return SubmitError(f"Google Cloud authentication failed: {error}")
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return SubmitError(f"could not submit to {target}: {first_line}")


def submit_vertex(args: argparse.Namespace) -> str:
    """Creates a Vertex AI PipelineJob, or with ``--schedule`` a PipelineJobSchedule;
    returns the job's console link or the schedule's resource name."""
    parameters = _parameters(args, read_package(args.package))
    import google.api_core.exceptions
    import google.auth.exceptions
    from google.cloud import aiplatform

    try:
        job = aiplatform.PipelineJob(
            display_name=args.display_name,
            template_path=args.package,
            pipeline_root=args.pipeline_root,
            parameter_values=parameters,
            enable_caching=not args.no_cache,
            project=args.project,
            location=args.region,
        )
        if args.schedule:
            schedule = job.create_schedule(
                cron=args.schedule,
                display_name=f"{args.display_name}-schedule",
                service_account=args.service_account,
            )
            return f"schedule {schedule.resource_name} ({args.schedule})"
        job.submit(service_account=args.service_account)
        return job._dashboard_uri()  # the SDK's only way to the console link
    except (
        google.auth.exceptions.GoogleAuthError,
        google.api_core.exceptions.GoogleAPIError,
        OSError,
        ValueError,
    ) as error:
        raise _cloud_error(error, f"Vertex AI ({args.project}, {args.region})") from error


def pipeline_spec_file(job: dict, directory: str) -> str:
    """KFP takes the bare PipelineSpec (YAML), not the Vertex PipelineJob around it."""
    path = os.path.join(directory, "pipeline.yaml")
    with open(path, "w") as handle:
        yaml.safe_dump(job["pipelineSpec"], handle, sort_keys=True)
    return path


def submit_kfp(args: argparse.Namespace) -> str:
    """Creates a run on a Kubeflow Pipelines v2 endpoint; returns the run id."""
    job = read_package(args.package)
    parameters = {**job["runtimeConfig"].get("parameterValues", {}), **_parameters(args, job)}
    import kfp
    import kfp_server_api
    import urllib3

    pipeline_root = args.pipeline_root or job["runtimeConfig"].get("gcsOutputDirectory")
    try:
        client = kfp.Client(host=args.host, namespace=args.namespace)
        with tempfile.TemporaryDirectory() as directory:
            result = client.create_run_from_pipeline_package(
                pipeline_spec_file(job, directory),
                arguments=parameters,
                run_name=args.display_name,
                experiment_name=args.experiment,
                pipeline_root=pipeline_root,
                enable_caching=not args.no_cache,
                service_account=args.service_account,
            )
        return result.run_id
    except (
        kfp_server_api.exceptions.OpenApiException,
        urllib3.exceptions.HTTPError,
        OSError,
        ValueError,
    ) as error:
        raise _cloud_error(error, f"Kubeflow Pipelines at {args.host}") from error


def parse_args(argv: list[str]) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    targets = parser.add_subparsers(dest="target", required=True)
    for name, help_text in (
        ("vertex", "Vertex AI Pipelines (google-cloud-aiplatform PipelineJob)"),
        ("kfp", "a Kubeflow Pipelines v2 endpoint (kfp.Client)"),
    ):
        target = targets.add_parser(name, help=help_text)
        target.add_argument(
            "--package",
            default=env(
                "RECS_PIPELINE_FILE", DEFAULT_OUTPUT.format(pipeline_name=paths.PIPELINE_NAME)
            ),
            help="the compiled PipelineJob JSON (default: kubeflow/build/movie-recs.json)",
        )
        target.add_argument("--display-name", default="movie-recs")
        target.add_argument(
            "--data-dir", help="MovieLens files for this run (overrides the compiled default)"
        )
        target.add_argument("--pipeline-root", help="overrides the compiled pipeline root")
        target.add_argument("--service-account", default=env("RECS_SERVICE_ACCOUNT"))
        target.add_argument("--no-cache", action="store_true", help="run every component again")
        target.add_argument(
            "--span",
            type=_span,
            help="span data: the span this run holds out (a number, or latest)",
        )
        cli_errors.add_debug_flag(target)
    vertex, kfp_target = targets.choices["vertex"], targets.choices["kfp"]
    vertex.add_argument("--project", default=env("RECS_GCP_PROJECT"), required=False)
    vertex.add_argument("--region", default=env("RECS_GCP_REGION"), required=False)
    vertex.add_argument(
        "--schedule",
        metavar="CRON",
        help='create a PipelineJobSchedule that runs the job on this cron schedule, e.g. "0 3 '
        '* * *" (daily at 03:00 UTC; "TZ=Europe/Berlin 0 3 * * *" for a time zone)',
    )
    kfp_target.add_argument("--host", default=env("RECS_KFP_HOST"), help="KFP API endpoint URL")
    kfp_target.add_argument("--namespace", default="kubeflow")
    kfp_target.add_argument("--experiment", default="movie-recs")
    args = parser.parse_args(argv)
    required = ("project", "region") if args.target == "vertex" else ("host",)
    missing = [f"--{name}" for name in required if not getattr(args, name)]
    if missing:
        parser.error(f"{args.target} needs " + " and ".join(missing))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.target == "vertex":
            verb = "Scheduled on" if args.schedule else "Submitted to"
            print(f"{verb} Vertex AI Pipelines: {submit_vertex(args)}")
        else:
            print(f"Submitted to Kubeflow Pipelines: run {submit_kfp(args)}")
    except SubmitError as error:
        return cli_errors.fail(error, args.debug)
    return 0


if __name__ == "__main__":
    sys.exit(main())
