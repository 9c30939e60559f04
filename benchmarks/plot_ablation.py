"""Plots the HSTU study's runs (bench_quality rows) beside the published references.

    python -m benchmarks.plot_ablation [--results docs/ablation_results.jsonl]
        [--out docs/ablation.png]

One bar pair per run (test HR@10 and NDCG@10, whole history excluded), labelled with the
run's name and the hyper-parameters it set, its training minutes at the bar's end; dashed
lines mark SASRec+, HSTU and HSTU-large (the paper's ML-1M figures), a red one the target.
"""

from __future__ import annotations

import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

TARGET = (0.31, 0.175)
# HR@10 / NDCG@10 on ML-1M, full ranking (the brief; Zhai et al., ICML 2024).
REFERENCES = {
    "SASRec+": (0.2853, 0.1603),
    "HSTU": (0.3097, 0.1720),
    "HSTU-large": (0.3294, 0.1893),
}


def label(row: dict) -> str:
    settings = [h for h in row.get("hparams", []) if not h.startswith(("epochs=", "train_min"))]
    return row["model"] + ("\n" + ", ".join(settings) if settings else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", default="docs/ablation_results.jsonl")
    parser.add_argument("--out", default="docs/ablation.png")
    args = parser.parse_args()
    with open(args.results, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    runs = [r for r in rows if "train_seconds" in r]

    figure, axes = plt.subplots(1, 2, figsize=(13, 1.1 * len(runs) + 1.5), sharey=True)
    positions = range(len(runs))
    for axis, metric, title in zip(axes, ("hr@10", "ndcg@10"), ("HR@10", "NDCG@10"), strict=True):
        values = [r["filtered"][metric] for r in runs]
        axis.barh(positions, values, color="tab:blue")
        for y, (value, row) in enumerate(zip(values, runs, strict=True)):
            note = f"{value:.4f}"
            if metric == "hr@10":
                note += f"  ({row['train_seconds'] / 60:.0f} min)"
            axis.text(value, y, " " + note, va="center", fontsize=8)
        column = 0 if metric == "hr@10" else 1
        for (name, figures), style in zip(REFERENCES.items(), (":", "--", "-."), strict=True):
            axis.axvline(figures[column], color="grey", linestyle=style, label=name)
        axis.axvline(TARGET[column], color="tab:red", label="target (issue 16)")
        axis.set_title(f"test {title} (whole history excluded)")
        axis.set_xlim(0.9 * min([*values, REFERENCES["SASRec+"][column]]), 1.12 * max(values))
    axes[0].set_yticks(list(positions), [label(r) for r in runs], fontsize=8)
    axes[0].invert_yaxis()
    axes[1].legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    figure.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
