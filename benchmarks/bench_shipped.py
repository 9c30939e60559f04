"""What a user gets: the pushed .tflite, asked through `commands.recommend`, on real histories.

    python -m benchmarks.bench_shipped --model OUTPUT_DIR --data-dir DATA_DIR [--limit N]

For every user of the data set (the same timelines ExampleGen builds: ratings in time
order, ties in file order, duplicates and short timelines left out), the history before
the user's last rating is written one per line and given to
`python -m commands.recommend --histories FILE --json` in a subprocess, exactly as a user
runs it: the whole history is excluded from the recommendations. HR@1/5/10 and NDCG@10
of the last rating are printed beside first-order Markov and popularity fitted on every
earlier rating, then the on-device signature's latency (one thread) and the files' sizes:
for the float model and, where the pusher pushed it beside, the int8-weights variant.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from benchmarks.common import read_single_process
from components.evaluation import ranking
from components.example_gen import timelines
from components.export import on_device_model
from components.export.layout import EXCLUDED_MOVIES, QUANTIZED_FILE, RECOMMEND_UNSEEN
from components.transform import ids


def user_histories(data_dir: str, min_timeline_length: int) -> list[list[int]]:
    """Each kept user's movie ids in time order (as ExampleGen orders and filters them)."""
    plain = read_single_process(data_dir)
    settings = timelines.ExampleSettings(min_timeline_length=min_timeline_length)
    result = []
    for user_id in sorted(plain.ratings_by_user):
        timeline, _ = timelines.build_timeline(user_id, plain.ratings_by_user[user_id], settings)
        if timeline:
            result.append([r.movie_id for r in timeline.ratings])
    return result


def baseline_ranks(histories: list[list[int]], k: int) -> dict[str, np.ndarray]:
    """Markov and popularity fitted on the training positions (all but each user's last
    two ratings, as the pipeline's leave-last-out split), ranked with the user's whole
    history excluded, as the recommend command does."""
    transitions: dict[int, Counter] = defaultdict(Counter)
    popularity: Counter = Counter()
    for history in histories:
        train = history[:-2]
        popularity.update(train[1:])
        for previous, following in itertools.pairwise(train):
            transitions[previous][following] += 1
    by_popularity = [m for m, _ in popularity.most_common()]
    lists: dict[str, list[list[int]]] = {"first-order Markov": [], "popularity": []}
    for history in histories:
        seen = set(history[:-1])
        following = transitions[history[-2]]
        markov = sorted(following, key=lambda m: (-following[m], -popularity[m]))
        for name, ordered in (
            ("first-order Markov", markov + by_popularity),
            ("popularity", by_popularity),
        ):
            top = []
            for movie in ordered:
                if movie not in seen and movie not in top:
                    top.append(movie)
                    if len(top) == k:
                        break
            lists[name].append(top)
    labels = [h[-1] for h in histories]
    return {name: ranking.ranks_in_lists(tops, labels) for name, tops in lists.items()}


def latency(recommender: on_device_model.Recommender, histories: list[list[int]], calls: int):
    """p50 / p99 milliseconds of one recommend_unseen call (one thread, inputs prepared)."""
    interpreter = Interpreter(model_path=recommender.model_path, num_threads=1)
    runner = interpreter.get_signature_runner(RECOMMEND_UNSEEN)
    feeds = []
    for history in histories[:calls]:
        features = recommender.features(history[:-1][-recommender.window :])
        features[EXCLUDED_MOVIES] = ids.left_padded(
            history[:-1], recommender.excluded_length, np.int32
        )
        feeds.append(features)
    for feed in feeds[:50]:
        runner(**feed)  # warm-up
    times = []
    for feed in feeds:
        start = time.perf_counter()
        runner(**feed)
        times.append(time.perf_counter() - start)
    return np.percentile(times, 50) * 1e3, np.percentile(times, 99) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="output folder, pushed folder or .tflite")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--min-timeline-length", type=int, default=3)
    parser.add_argument("--limit", type=int, help="only the first N users")
    parser.add_argument("--calls", type=int, default=2000, help="latency calls")
    args = parser.parse_args()

    histories = user_histories(args.data_dir, args.min_timeline_length)[: args.limit]
    labels = [h[-1] for h in histories]
    float_model = on_device_model.find_model(args.model)
    models = [float_model]
    quantized = os.path.join(os.path.dirname(float_model), QUANTIZED_FILE)
    if os.path.exists(quantized):
        models.append(quantized)  # the variant an app may ship instead (pushed beside it)
    rows, files = {}, []
    for model in models:
        name = os.path.basename(model)
        top, seconds = recommend_all(model, histories)
        print(f"{name}: the recommend command took {seconds:.1f} s for {len(histories)} users")
        rows[f"{name} (recommend)"] = ranking.ranks_in_lists(top, labels)
        p50, p99 = latency(on_device_model.Recommender(model), histories, args.calls)
        files.append((name, os.path.getsize(model) / 1e6, p50, p99))
    rows.update(baseline_ranks(histories, k=len(top[0])))
    print(f"{'model':<38} {'HR@1':>7} {'HR@5':>7} {'HR@10':>7} {'NDCG@10':>8}")
    for name, ranks in rows.items():
        m = ranking.metrics(ranks)
        print(f"{name:<38} {m['hr@1']:7.4f} {m['hr@5']:7.4f} {m['hr@10']:7.4f} {m['ndcg@10']:8.4f}")
    print_gaps_to_markov(rows)
    for name, megabytes, p50, p99 in files:
        print(
            f"{name}: {megabytes:.2f} MB; {RECOMMEND_UNSEEN} latency, 1 thread: "
            f"p50 {p50:.3f} ms, p99 {p99:.3f} ms"
        )


def print_gaps_to_markov(rows: dict[str, np.ndarray]) -> None:
    """Each shipped file's gap to first-order Markov per figure, with the paired noise
    (components.evaluation.ranking.paired_noise_of_gap): ahead, behind or within it."""
    markov = rows["first-order Markov"]
    for name, ranks in rows.items():
        if name in ("first-order Markov", "popularity"):
            continue
        parts = []
        for metric in (*(ranking.hr_name(k) for k in ranking.TOP_KS), ranking.ndcg_name()):
            gap = ranking.metrics(ranks)[metric] - ranking.metrics(markov)[metric]
            noise = ranking.paired_noise_of_gap(ranks, markov, metric)
            verdict = "within" if abs(gap) < noise else ("ahead" if gap > 0 else "behind")
            parts.append(f"{metric} {gap:+.4f} (+-{noise:.4f}, {verdict})")
        print(f"{name} against Markov: {'; '.join(parts)}")


def recommend_all(model: str, histories: list[list[int]]) -> tuple[list[list[int]], float]:
    """Each history's recommendations from `commands.recommend --histories FILE --json` in a
    subprocess (every history before its last rating), and the command's wall seconds."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "histories.txt")
        with open(path, "w", encoding="utf-8") as handle:
            handle.writelines(",".join(map(str, h[:-1])) + "\n" for h in histories)
        start = time.perf_counter()
        command = [sys.executable, "-m", "commands.recommend", "--model", model]
        completed = subprocess.run(
            [*command, "--histories", path, "--json"], capture_output=True, text=True, check=False
        )
        seconds = time.perf_counter() - start
    results = [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode or len(results) != len(histories):
        sys.exit(f"recommend failed ({completed.returncode}): {completed.stderr[-2000:]}")
    return [r["movie_ids"] for r in results], seconds


if __name__ == "__main__":
    main()
