"""Beam pipeline arguments compiled into the Kubeflow pipeline, one preset per runner.

ExampleGen, StatisticsGen, Transform and the Evaluator run Beam inside their component
containers. ``direct`` keeps the work in that container (fine for ML-1M: 3.2 GiB peak);
the other runners send it to a cluster whose workers run the same image, so the project
code they need is already on their PYTHONPATH.
"""

from __future__ import annotations

import dataclasses

from pipeline import paths

RUNNERS = ("direct", "dataflow", "flink", "spark", "portable")


class BeamSettingsError(ValueError):
    """A runner preset is missing a setting it cannot run without."""


@dataclasses.dataclass(frozen=True)
class BeamSettings:
    runner: str = "direct"
    image: str = ""
    # Dataflow
    project: str = ""
    region: str = ""
    temp_location: str = ""
    max_workers: int = 4
    machine_type: str = "e2-standard-4"
    # Flink / Spark / any portable job server
    flink_master: str = ""
    spark_master_url: str = ""
    job_endpoint: str = ""
    environment_type: str = "DOCKER"
    environment_config: str = ""
    extra: tuple[str, ...] = ()


def _require(settings: BeamSettings, **named: str) -> None:
    missing = [flag for flag, value in named.items() if not value]
    if missing:
        raise BeamSettingsError(
            f"the {settings.runner} Beam runner needs " + ", ".join(f"--{m}" for m in missing)
        )


def _portable_environment(settings: BeamSettings) -> list[str]:
    """Workers run our image (DOCKER) or an existing worker pool (EXTERNAL host:port)."""
    config = settings.environment_config or (
        settings.image if settings.environment_type == "DOCKER" else ""
    )
    _require(settings, **{"beam-environment-config": config})
    return [f"--environment_type={settings.environment_type}", f"--environment_config={config}"]


def pipeline_args(settings: BeamSettings) -> list[str]:
    """The Beam arguments for one runner preset, then any extra ones (which win on conflict)."""
    if settings.runner not in RUNNERS:
        raise BeamSettingsError(f"unknown Beam runner {settings.runner!r}; choose from {RUNNERS}")
    if settings.runner == "direct":
        args = paths.beam_args()
    elif settings.runner == "dataflow":
        _require(
            settings,
            project=settings.project,
            region=settings.region,
            **{"temp-location": settings.temp_location},
        )
        args = [
            "--runner=DataflowRunner",
            f"--project={settings.project}",
            f"--region={settings.region}",
            f"--temp_location={settings.temp_location}",
            f"--max_num_workers={settings.max_workers}",
            f"--machine_type={settings.machine_type}",
            "--experiments=use_runner_v2",
            # Workers start from the pipeline image, so no SDK or code is staged.
            "--sdk_location=container",
        ]
    elif settings.runner == "flink":
        _require(settings, **{"flink-master": settings.flink_master})
        args = [
            "--runner=FlinkRunner",
            f"--flink_master={settings.flink_master}",
            *_portable_environment(settings),
        ]
    elif settings.runner == "spark":
        _require(settings, **{"spark-master-url": settings.spark_master_url})
        args = [
            "--runner=SparkRunner",
            f"--spark_master_url={settings.spark_master_url}",
            *_portable_environment(settings),
        ]
    else:
        _require(settings, **{"job-endpoint": settings.job_endpoint})
        args = [
            "--runner=PortableRunner",
            f"--job_endpoint={settings.job_endpoint}",
            *_portable_environment(settings),
        ]
    if settings.runner != "direct":
        _require(settings, image=settings.image)
        # Workers run the pipeline image, which has TFX and the project; naming it also
        # stops TFX from building and staging a TFX source package for every Beam job.
        args.append(f"--sdk_container_image={settings.image}")
    return [*args, *settings.extra]
