"""Plots HR@10 by history length per encoder from bench_quality results (like the seed's chart).

python -m benchmarks.plot_quality [--results docs/quality_results.jsonl] [--out docs/...png]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from benchmarks import quality_table

LAYOUT_MARKERS = {"windows": "o", "sequences": "s"}
# One colour per encoder; the line style (and hollow markers) tell the feature sets apart.
FEATURE_LINES = {"id": "-", "id_genre": ":", "id_features": "--"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", default="docs/quality_results.jsonl")
    parser.add_argument("--out", default="docs/recall_by_history.png")
    args = parser.parse_args()
    # (protocol, "ENCODER features") -> history length -> (best HR@10, its training layout)
    series: dict[tuple[str, str], dict[int, tuple[float, str]]] = defaultdict(dict)
    baselines: dict[tuple[str, str], float] = {}
    with open(args.results, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            metrics = row["filtered"] if row["protocol"] == "headline" else row["unfiltered"]
            if "train_seconds" not in row:  # baselines have no history length
                baselines[(row["protocol"], row["model"])] = metrics["hr@10"]
                continue
            # One line per encoder and features: the best run at each history length, in
            # whichever layout (rows differ in sizes and hyper-parameters, all in the JSON).
            encoder, features, history, *_ = row["model"].split()
            points = series[(row["protocol"], f"{encoder} {features}")]
            length = int(history[1:])
            if metrics["hr@10"] > points.get(length, (0.0, ""))[0]:
                points[length] = (metrics["hr@10"], quality_table.layout(row["model"]))
    protocols = sorted({protocol for protocol, _ in series})
    figure, axes = plt.subplots(
        1, len(protocols), figsize=(8.5 * len(protocols), 4.5), squeeze=False
    )
    encoders = sorted({name.split()[0] for _, name in series})
    colors = {encoder: f"C{i}" for i, encoder in enumerate(encoders)}
    for axis, protocol in zip(axes[0], protocols, strict=True):
        for (row_protocol, name), points in sorted(series.items()):
            if row_protocol == protocol:
                encoder, features = name.split()
                color = colors[encoder]
                lengths = sorted(points)
                values = [points[n][0] for n in lengths]
                style = FEATURE_LINES.get(features, "-.")
                axis.plot(lengths, values, linestyle=style, color=color, label=name)
                for layout, marker in LAYOUT_MARKERS.items():
                    at = [n for n in lengths if points[n][1] == layout]
                    axis.scatter(
                        at,
                        [points[n][0] for n in at],
                        marker=marker,
                        edgecolors=color,
                        # Hollow markers for the feature runs, filled for ids only.
                        facecolors=color if features == "id" else "none",
                    )
        for (row_protocol, name), value in sorted(baselines.items()):
            if row_protocol == protocol:
                axis.axhline(value, linestyle="--", linewidth=1, color="gray")
                axis.annotate(name, (0, value), xycoords=("axes fraction", "data"), fontsize=8)
        if protocol == "headline":
            axis.axhline(0.285, linestyle=":", linewidth=1, color="black")
            axis.annotate(
                "SASRec+ (published)", (0, 0.285), xycoords=("axes fraction", "data"), fontsize=8
            )
        lengths = sorted({n for (p, _), points in series.items() if p == protocol for n in points})
        axis.set_xticks(lengths)
        axis.set_xlim(0, max(lengths) + 10)
        axis.set_title(f"ML-1M, {protocol} protocol")
        axis.set_xlabel("history length")
        axis.set_ylabel("HR@10" + (" (seen movies filtered)" if protocol == "headline" else ""))
        axis.grid(alpha=0.3)
        axis.legend(
            title="o windows, s sequences\nhollow: + features",
            fontsize=8,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
        )
    figure.tight_layout()
    figure.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
