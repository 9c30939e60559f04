"""The pipeline with its Trainer on several worker processes of this machine.

::

    python -m commands.train_workers [--workers 2] [any pipeline.local_runner flag]

The same run as ``pipeline.local_runner`` (the embedded data by default; output in
``outputs/``), except that the Trainer starts ``--workers`` processes on 127.0.0.1, each
with the TF_CONFIG Vertex AI Training would give it (chief first), which train together
under MultiWorkerMirroredStrategy through TensorFlow's gRPC collective ops. The chief's
model then goes through the same Evaluator, parity check and push as a one-process model.
Each worker prints its steps and eval figure per epoch; their logs are in the Trainer's
model-run folder (``replica_logs/``). A worker that dies ends the run with one ``error:``
line, the others stopped.
"""

from __future__ import annotations

import argparse
import sys

import components  # noqa: F401  (selects Keras 2 before TensorFlow is imported)
from pipeline import local_runner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], add_help=False)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("-h", "--help", action="store_true")
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.help:
        print(__doc__)
        return 0
    return local_runner.main(["--trainer-workers", str(args.workers), *rest])


if __name__ == "__main__":
    sys.exit(main())
