"""The default run over several training seeds: each figure's mean and standard deviation.

    python -m benchmarks.bench_seeds [--data-dir DIR] [--seeds 42,1,2]
        [--output-dir outputs/bench-seeds] [--runner-arg=--train-minutes=10 ...]

One pipeline run per seed, all in one output folder (``--hparam seed=S --max-regression 1``:
each seed's model may follow the previous seed's as the blessed model, so every seed is
pushed). A seed changes only the Trainer's seed, so ExampleGen, Transform and the baselines
come from TFX's cache after the first run. Each run's own QualityReport gives the test split's
figures with seen movies excluded, which is what ``commands.recommend`` returns (the same
``score_all_movies`` path). Printed: each seed's HR@1/5/10, NDCG@10 and MRR, their mean and
sample standard deviation, first-order Markov on the same split, and per figure whether the
mean is ahead of Markov by more than the noise of one run
(components.evaluation.ranking.noise_of_gap).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

from components.contracts.quality_metrics import CANDIDATE, QualityMetrics
from components.evaluation import quality, ranking
from pipeline import local_runner, metadata, paths

MARKOV = "markov"


def run_seed(data_dir: str | None, output_dir: str, seed: int, extra: list[str]) -> dict:
    """One default run at ``seed``; its QualityReport's test figures (seen excluded)."""
    argv = ["--output-dir", output_dir, "--hparam", f"seed={seed}", "--max-regression", "1"]
    argv += ["--data-dir", data_dir] if data_dir else []
    if local_runner.main([*argv, *extra]) != 0:
        sys.exit(f"the run with seed {seed} failed: see its log above")
    report = metadata.latest_artifact(output_dir, "movie_recs.EvaluationReport")
    test = QualityMetrics.read(report.uri).test
    return {name: table[quality.SEEN_EXCLUDED]["overall"] for name, table in test.items()}


def summary_rows(runs: dict[int, dict]) -> list[list[str]]:
    """Rows of the printed table: one per seed, the mean (sd), and Markov with the verdict."""
    rows = [["", *ranking.METRICS]]
    for seed, figures in runs.items():
        rows.append([f"seed {seed}", *(f"{figures[CANDIDATE][m]:.4f}" for m in ranking.METRICS)])
    means, verdicts = [], []
    first = next(iter(runs.values()))
    examples = int(first[CANDIDATE]["examples"])
    for metric in ranking.METRICS:
        values = [figures[CANDIDATE][metric] for figures in runs.values()]
        spread = statistics.stdev(values) if len(values) > 1 else float("nan")
        means.append(f"{statistics.fmean(values):.4f} ({spread:.4f})")
        markov = first[MARKOV][metric]
        mean = statistics.fmean(values)
        if ranking.within_noise(mean, markov, examples):
            verdicts.append("within the noise")
        else:
            verdicts.append("ahead" if mean > markov else "behind")
    rows.append(["mean (sd)", *means])
    rows.append(["first-order Markov", *(f"{first[MARKOV][m]:.4f}" for m in ranking.METRICS)])
    rows.append(["mean against Markov", *verdicts])
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", help="default: the runner's (the embedded data)")
    parser.add_argument("--seeds", default="42,1,2", help="the Trainer's seeds (42: default)")
    parser.add_argument("--output-dir", default=os.path.join(paths.OUTPUT_DIR, "bench-seeds"))
    parser.add_argument(
        "--runner-arg",
        action="append",
        default=[],
        help="more runner flags, e.g. --runner-arg=--gate-k=5",
    )
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    runs = {seed: run_seed(args.data_dir, args.output_dir, seed, args.runner_arg) for seed in seeds}
    rows = summary_rows(runs)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    examples = int(next(iter(runs.values()))[CANDIDATE]["examples"])
    print(f"Test split, seen movies excluded ({examples} examples), {len(seeds)} seeds:")
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
