"""benchmarks.bench_seeds' table: per-seed rows, mean and sample sd, and the verdict against
first-order Markov at the noise of one run's examples."""

from __future__ import annotations

from benchmarks import bench_seeds
from components.contracts.quality_metrics import CANDIDATE
from components.evaluation import ranking


def figures(hr10: float, examples: int) -> dict:
    values = {"hr@1": hr10 / 5, "hr@5": hr10 / 2, "hr@10": hr10, "ndcg@10": hr10 / 2}
    return {**values, "mrr": hr10 / 2.5, "examples": examples}


def test_the_table_gives_each_seed_the_mean_the_sd_and_the_verdict_against_markov():
    markov = figures(0.20, 6000)
    runs = {
        seed: {CANDIDATE: figures(hr10, 6000), bench_seeds.MARKOV: markov}
        for seed, hr10 in ((42, 0.30), (1, 0.32), (2, 0.31))
    }
    rows = bench_seeds.summary_rows(runs)
    assert rows[0] == ["", *ranking.METRICS]
    assert [row[0] for row in rows[1:4]] == ["seed 42", "seed 1", "seed 2"]
    assert rows[2][3] == "0.3200"  # seed 1's hr@10
    mean = dict(zip(rows[0], rows[4], strict=True))
    assert mean["hr@10"] == "0.3100 (0.0100)" and mean["hr@1"] == "0.0620 (0.0020)"
    assert rows[5][3] == "0.2000"
    # 0.31 vs 0.20 over 6,000 examples is far beyond 2 standard errors; hr@1 0.062 vs 0.040
    # (noise 2 * sqrt((.058 + .0384) / 6000) = 0.0080) too.
    assert rows[6] == ["mean against Markov", *["ahead"] * 5]
    # Over 60 examples nothing is shown.
    small = {s: {k: {**v, "examples": 60} for k, v in r.items()} for s, r in runs.items()}
    assert bench_seeds.summary_rows(small)[6][1:] == ["within the noise"] * 5
