"""Recommendation quality on ML-1M: encoders x history lengths x features, plus baselines.

    python -m benchmarks.bench_quality [--encoders CNN,BOW,LSTM,TRANSFORMER] [--lengths 10,50]
        [--features id,id_genre] [--protocol headline|seed] [--epochs 5]

Headline protocol (the brief's): per user leave-last-out, full ranking over every movie,
movies already in the user's history removed from the ranking ("filtered"); also reported
unfiltered. Seed protocol: min rating 2, a seeded random 90/10 split of windows, unfiltered.
Models are the pipeline's own (components.model) trained on the same windows ExampleGen
writes; popularity and first-order Markov baselines are computed in the same run.
Results are printed as a table and appended to --results (JSON lines).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from collections import Counter, defaultdict

import numpy as np
import tensorflow as tf

from benchmarks.common import PeakMemory, read_single_process
from components.example_gen import timelines
from components.model import sequence_training
from components.model.hparams import HParams
from components.model.recommender import Recommender, compile_model
from components.transform import ids
from configs import input_config
from pipeline import configs

DEFAULT_DATA = os.path.join(configs.REPO_ROOT, "..", "shared", "data", "movielens", "ml-1m")
GENRE_LENGTH = 32
FEATURE_CONFIGS = {"id": "cnn_id", "id_genre": "cnn_id_genre"}


@dataclasses.dataclass
class Data:
    sequences: list[np.ndarray]  # per user, movie rows in time order
    genre_rows: list[np.ndarray]  # per movie row, its genre rows
    num_movies: int
    num_genres: int


def load(data_dir: str, min_rating: float) -> Data:
    plain = read_single_process(data_dir)
    movies, by_user = plain.movies, plain.ratings_by_user
    settings = timelines.ExampleSettings(min_rating=min_rating)
    raw_sequences = []
    for user_id in sorted(by_user):
        timeline, _ = timelines.build_timeline(user_id, by_user[user_id], settings)
        if timeline:
            raw_sequences.append([r.movie_id for r in timeline.ratings])
    # Vocabulary: most frequent first, as Transform orders it.
    counts = Counter(m for s in raw_sequences for m in s)
    row_of = {m: row for row, (m, _) in enumerate(counts.most_common(), ids.FIRST_VOCAB_ROW)}
    genres = sorted({g for m in row_of for g in movies[m].genres})
    genre_row = {g: row for row, g in enumerate(genres, ids.FIRST_VOCAB_ROW)}
    genre_rows = [np.zeros(0, np.int32)] * (len(row_of) + ids.FIRST_VOCAB_ROW)
    for movie, row in row_of.items():
        genre_rows[row] = np.array([genre_row[g] for g in movies[movie].genres], np.int32)
    sequences = [np.array([row_of[m] for m in s], np.int32) for s in raw_sequences]
    return Data(sequences, genre_rows, len(row_of), len(genres))


def windows(data: Data, positions: list[tuple[int, int]], length: int, genres: bool):
    """Inputs and labels for (user index, label position) pairs."""
    context = np.zeros((len(positions), length), np.int32)
    genre = np.zeros((len(positions), GENRE_LENGTH), np.int32) if genres else None
    labels = np.zeros((len(positions), 1), np.int32)
    for i, (user, position) in enumerate(positions):
        sequence = data.sequences[user]
        items = sequence[max(0, position - length) : position]
        context[i, length - len(items) :] = items
        labels[i, 0] = sequence[position]
        if genres:
            flat = np.concatenate([data.genre_rows[m] for m in items])[-GENRE_LENGTH:]
            genre[i, GENRE_LENGTH - len(flat) :] = flat
    inputs = {"context_movie_id": context}
    if genres:
        inputs["context_movie_genre"] = genre
    return inputs, labels


def split_positions(data: Data, protocol: str, seed: int = 42):
    train, test = [], []
    if protocol == "headline":
        for user, sequence in enumerate(data.sequences):
            last = len(sequence) - 1
            train += [(user, p) for p in range(1, last - 1)]  # eval (last - 1) held out too
            test.append((user, last))
        return train, test
    rng = np.random.default_rng(seed)
    for user, sequence in enumerate(data.sequences):
        for position in range(1, len(sequence)):
            (train if rng.random() < 0.9 else test).append((user, position))
    return train, test


def rank_metrics(scores: np.ndarray, labels: np.ndarray, seen: list[np.ndarray] | None):
    """HR@1/5/10, NDCG@10 and MRR of the label among all movie rows."""
    scores = scores.copy()
    scores[:, ids.PADDING] = -np.inf
    scores[:, -1] = -np.inf  # OOV row
    if seen is not None:
        for i, rows in enumerate(seen):
            scores[i, rows[rows != labels[i]]] = -np.inf
    label_scores = scores[np.arange(len(labels)), labels]
    ranks = (scores > label_scores[:, None]).sum(axis=1)
    return {
        "hr@1": float(np.mean(ranks < 1)),
        "hr@5": float(np.mean(ranks < 5)),
        "hr@10": float(np.mean(ranks < 10)),
        "ndcg@10": float(np.mean(np.where(ranks < 10, 1 / np.log2(ranks + 2), 0))),
        "mrr": float(np.mean(1 / (ranks + 1))),
    }


def seen_rows(data: Data, positions) -> list[np.ndarray]:
    return [data.sequences[user][:position] for user, position in positions]


def baselines(data: Data, train, test) -> dict[str, np.ndarray]:
    rows = data.num_movies + 2
    popularity = np.zeros(rows)
    transitions: dict[int, Counter] = defaultdict(Counter)
    for user, position in train:
        sequence = data.sequences[user]
        popularity[sequence[position]] += 1
        transitions[sequence[position - 1]][sequence[position]] += 1
    markov = np.zeros((len(test), rows))
    for i, (user, position) in enumerate(test):
        previous = data.sequences[user][position - 1]
        for movie, count in transitions[previous].items():
            markov[i, movie] = count
        markov[i] += popularity / popularity.sum() * 1e-3  # popularity breaks ties
    return {"popularity": np.tile(popularity, (len(test), 1)), "markov": markov}


def train_and_score(
    data: Data,
    train,
    test,
    encoder: str,
    length: int,
    features: str,
    hparams,
    layout: str,
    dims: tuple[int, int] | None,
):
    config = input_config.load(FEATURE_CONFIGS[features])
    for group in config.activity_feature_groups:
        movie = group.features[0]
        if movie.feature_name == "context_movie_id":
            movie.feature_length = length
            if dims:
                movie.embedding_dim, config.label_feature.embedding_dim = dims
    config = input_config.parse(input_config.with_encoder(config, encoder))
    genres = features == "id_genre"
    train_x, train_y = windows(data, train, length, genres)
    test_x, test_y = windows(data, test, length, genres)
    vocab_sizes = {"movie_id": data.num_movies, "movie_genre": data.num_genres}
    tf.keras.utils.set_random_seed(hparams.seed)
    model = Recommender(config, vocab_sizes, hparams)
    compile_model(model, hparams)
    if layout == "sequences":
        # Each user's training part: everything before the held-out eval and test labels.
        last_train = defaultdict(int)
        for user, position in train:
            last_train[user] = max(last_train[user], position)
        parts = [data.sequences[u][: p + 1] for u, p in sorted(last_train.items())]
        inputs, targets = sequence_training.sequence_examples(parts, length)
        start = time.perf_counter()
        sequence_training.fit_sequences(model, "context_movie_id", inputs, targets, hparams)
        seconds = time.perf_counter() - start
        scores = model.predict(test_x, batch_size=1024, verbose=0)
        positions = int((targets > 0).sum()) * hparams.epochs
        return scores, test_y[:, 0], seconds, positions / seconds
    dataset = (
        tf.data.Dataset.from_tensor_slices((train_x, train_y))
        .shuffle(200_000, seed=hparams.seed)
        .batch(hparams.batch_size)
        .prefetch(2)
    )
    start = time.perf_counter()
    model.fit(dataset, epochs=hparams.epochs, verbose=2)
    seconds = time.perf_counter() - start
    scores = model.predict(test_x, batch_size=1024, verbose=0)
    return scores, test_y[:, 0], seconds, len(train_y) * hparams.epochs / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    parser.add_argument("--protocol", choices=("headline", "seed"), default="headline")
    parser.add_argument("--encoders", default="CNN")
    parser.add_argument("--lengths", default="10")
    parser.add_argument("--features", default="id")
    parser.add_argument("--hparam", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--layout",
        choices=("windows", "sequences"),
        default="windows",
        help="sequences: loss at every position (headline protocol, id features only)",
    )
    parser.add_argument("--dims", help="context and label movie embedding sizes, e.g. 64,64")
    parser.add_argument("--results", default="docs/quality_results.jsonl")
    args = parser.parse_args()
    if args.layout == "sequences" and (args.protocol == "seed" or args.features != "id"):
        parser.error("--layout sequences needs --protocol headline and --features id")
    values = {}
    for item in args.hparam:
        name, _, value = item.partition("=")
        values[name] = json.loads(value)
    hparams = HParams.from_dict({"epochs": 5, "dropout": 0.1, **values})

    data = load(args.data_dir, min_rating=2 if args.protocol == "seed" else 0)
    train, test = split_positions(data, args.protocol)
    labels = np.array([data.sequences[u][p] for u, p in test])
    seen = seen_rows(data, test) if args.protocol == "headline" else None
    print(
        f"{len(data.sequences)} users, {data.num_movies} movies, "
        f"{len(train):,} training windows, {len(test):,} test examples"
    )
    os.makedirs(os.path.dirname(args.results) or ".", exist_ok=True)

    def record(row: dict) -> None:
        # Appended one by one, so a long run that fails later keeps what it measured.
        _print(row, args.protocol)
        with open(args.results, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"protocol": args.protocol, **row}) + "\n")

    for name, scores in baselines(data, train, test).items():
        record(
            {
                "model": name,
                "filtered": rank_metrics(scores, labels, seen),
                "unfiltered": rank_metrics(scores, labels, None),
            }
        )
    for features in args.features.split(","):
        for encoder in args.encoders.split(","):
            for length in [int(n) for n in args.lengths.split(",")]:
                with PeakMemory() as memory:
                    scores, test_labels, seconds, throughput = train_and_score(
                        data,
                        train,
                        test,
                        encoder,
                        length,
                        features,
                        hparams,
                        args.layout,
                        tuple(int(d) for d in args.dims.split(",")) if args.dims else None,
                    )
                record(
                    {
                        "model": f"{encoder} {features} h{length}"
                        + (" seq" if args.layout == "sequences" else "")
                        + (f" d{args.dims.replace(',', '/')}" if args.dims else ""),
                        "filtered": rank_metrics(scores, test_labels, seen),
                        "unfiltered": rank_metrics(scores, test_labels, None),
                        "train_seconds": round(seconds, 1),
                        "examples_per_second": round(throughput),
                        "peak_memory_gib": round(memory.peak_bytes / 2**30, 2),
                        "hparams": hparams.to_dict(),
                    }
                )
    print(f"\nprotocol: {args.protocol}; rows appended to {args.results}")


def _print(row: dict, protocol: str) -> None:
    main_metrics = row["filtered"] if protocol == "headline" else row["unfiltered"]
    metrics = " ".join(f"{k}={v:.4f}" for k, v in main_metrics.items())
    extra = f"  unfiltered hr@10={row['unfiltered']['hr@10']:.4f}" if protocol == "headline" else ""
    timing = (
        f"  train {row['train_seconds']}s ({row['examples_per_second']}/s)"
        if ("train_seconds" in row)
        else ""
    )
    print(f"{row['model']:<24} {metrics}{extra}{timing}")


if __name__ == "__main__":
    main()
