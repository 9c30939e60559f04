"""One Trainer process vs two worker processes, on the same data and the same epochs.

    python -m benchmarks.bench_workers [--data-dir data/ml-latest-small] [--epochs 8] \\
        [--work-dir outputs/bench-workers] [--workers 2]

Runs the real pipeline (``pipeline.local_runner`` in a subprocess, the default recipe) in
one output folder, first with the Trainer in-process, then with ``--trainer-workers N``
(ExampleGen and Transform are served from cache the second time). Early stopping is off
(``early_stopping_patience=0``: every epoch trains, the best is kept) so both train the
same number of epochs with the same global batch. Prints, per variant: the best eval HR@10
(seen movies excluded, from the training log), the test HR@10 of the pushed model (the
QualityReport's), epochs, each worker's steps, the fit's seconds and the Trainer's wall
time. On one 2-core machine the two workers share the cores, so the wall time says what
the synchronisation costs, not what a second machine gains. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

from benchmarks import common
from components.contracts.quality_metrics import CANDIDATE, QualityMetrics
from components.evaluation.quality import SEEN_EXCLUDED
from components.model import cloud_trainer
from components.model.callbacks import read_training_log
from pipeline import metadata, paths

STEP_LINE = re.compile(r"\[replica (\w+ \d)\] epoch (\d+): (\d+) steps \((\d+) in all")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=paths.DATA_DIR)
    parser.add_argument("--work-dir", default=os.path.join(paths.OUTPUT_DIR, "bench-workers"))
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    return parser.parse_args(argv)


def run(args: argparse.Namespace, workers: int) -> dict:
    command = [
        sys.executable,
        "-m",
        "pipeline.local_runner",
        *("--data-dir", args.data_dir, "--output-dir", args.work_dir),
        *("--hparam", f"epochs={args.epochs}", "--hparam", "early_stopping_patience=0"),
        *common.ALWAYS_BLESS,
        *("--trainer-workers", str(workers)),
    ]
    started = time.monotonic()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - started
    model_run = metadata.latest_artifact(args.work_dir, "ModelRun").uri
    log = read_training_log(model_run)
    steps = {}
    logs = os.path.join(
        os.path.dirname(os.path.dirname(model_run)),
        cloud_trainer.REPLICA_LOGS,
        os.path.basename(model_run),
    )
    for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
        with open(os.path.join(logs, name)) as handle:
            totals = [m.group(4) for m in map(STEP_LINE.search, handle) if m]
        steps[name.removesuffix(".log")] = int(totals[-1]) if totals else None
    report = metadata.latest_artifact(args.work_dir, "movie_recs.EvaluationReport").uri
    test = QualityMetrics.read(report).overall(CANDIDATE, SEEN_EXCLUDED)
    return {
        "workers": workers,
        "best_eval_hr@10": log["best"],
        "epochs": log["epochs_trained"],
        "batch_size": log["batch_size"],
        "fit_seconds": log["train_seconds"],
        "pipeline_seconds": round(wall, 1),
        "steps_per_worker": steps or {"chief-0": None},
        "test_hr@10": round(test["hr@10"], 4),
        "test_ndcg@10": round(test["ndcg@10"], 4),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = [run(args, 1), run(args, args.workers)]
    for result in results:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
