"""What a compiled job's tasks can reach, checked at compile time, and where its Trainer runs.

A Vertex AI task runs in the image, on a machine of Google's: it cannot read this checkout
or this machine's folders. So every path compiled into the job (data, pipeline root, Beam
temp, push destination) must be a remote URI (gs://...) or a path inside the image (the
default data: ``/pipeline/data/...``); a relative or other local path is refused in one line
before anything is written. ``--local`` compiles for ``kubeflow.local_run`` instead, which
runs the tasks on this machine: there absolute local paths are what it needs (relative ones
are still refused: the tasks' working folder is the image's, not the caller's).

``--trainer-replicas N``, ``--trainer-machine-type TYPE`` and ``--trainer-accelerator
TYPE:COUNT`` put the Trainer on Vertex AI Training (components.model.cloud_trainer): a
custom job of N replicas of the pipeline's image (pool 0 the chief, pool 1 the others),
launched by the Trainer task through TFX's Google Cloud extension. Without them the Trainer
runs inside its own task's container, as before.
"""

from __future__ import annotations

import argparse
import os
import posixpath
import re

from components.model import cloud_trainer

# A URI scheme a Vertex task can read through tf.io.gfile / Beam's filesystems.
REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
DEFAULT_TRAINER_MACHINE = "n1-standard-8"
LOCAL_PLACEHOLDER = "local"  # project and region of a job only kubeflow.local_run runs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--local",
        action="store_true",
        help="compile for kubeflow.local_run on this machine: absolute local paths are "
        "accepted (a Vertex run needs gs:// paths)",
    )
    group = parser.add_argument_group("Trainer on Vertex AI Training (default: in its task)")
    group.add_argument(
        "--trainer-replicas",
        type=int,
        default=0,
        help="train on N replicas (MultiWorkerMirroredStrategy; 1 = one Vertex machine)",
    )
    group.add_argument(
        "--trainer-machine-type", help=f"Vertex machine type (default {DEFAULT_TRAINER_MACHINE})"
    )
    group.add_argument(
        "--trainer-accelerator",
        type=accelerator,
        help="accelerators per replica, TYPE:COUNT, e.g. NVIDIA_TESLA_T4:1",
    )


def accelerator(text: str) -> tuple[str, int]:
    kind, _, count = text.rpartition(":")
    if not kind or not count.isdigit() or int(count) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected TYPE:COUNT, e.g. NVIDIA_TESLA_T4:1")
    return kind, int(count)


def vertex_training(args: argparse.Namespace) -> bool:
    return bool(args.trainer_replicas or args.trainer_machine_type or args.trainer_accelerator)


def trainer_config(args: argparse.Namespace) -> dict | None:
    """The Trainer's custom-config keys for Vertex AI Training, or None (in its task)."""
    if not vertex_training(args):
        return None
    replicas = args.trainer_replicas or 1
    if replicas < 1:
        raise ValueError(f"--trainer-replicas must be at least 1, got {replicas}")
    project, region = args.project, args.region
    if not args.local and not (project and region):
        raise ValueError(
            "Vertex AI Training (--trainer-replicas/--trainer-machine-type/"
            "--trainer-accelerator) needs --project and --region"
        )
    return cloud_trainer.custom_config(
        image=args.image,
        project=project or LOCAL_PLACEHOLDER,
        region=region or LOCAL_PLACEHOLDER,
        replicas=replicas,
        machine_type=args.trainer_machine_type or DEFAULT_TRAINER_MACHINE,
        accelerator=args.trainer_accelerator,
    )


def check_paths(
    paths: dict[str, str | None], local: bool, image_dir: str, in_image_ok: tuple[str, ...] = ()
) -> None:
    """Raises ValueError (one line) naming the first path a task could not reach. The flags
    in ``in_image_ok`` may name a path inside the image (read-only: the embedded data)."""
    for flag, path in paths.items():
        if not path or REMOTE.match(path):
            continue
        if not os.path.isabs(path):
            where = (
                "an absolute local folder (with --local)"
                if local
                else "a gs:// path (e.g. gs://BUCKET/...) for a Vertex run"
            )
            raise ValueError(
                f"{flag} {path} is relative: a compiled job's tasks do not run in this "
                f"folder; give {where}"
            )
        in_image = posixpath.commonpath([path, image_dir]) == image_dir
        if not local and not (in_image and flag in in_image_ok):
            raise ValueError(
                f"{flag} {path} is a local path, which a Vertex AI task cannot reach: give "
                f"a gs:// path (e.g. gs://BUCKET/...), or compile with --local for "
                "kubeflow.local_run"
            )
