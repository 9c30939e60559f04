"""Recommendation quality on ML-1M: encoders x history lengths x features, plus baselines.

    python -m benchmarks.bench_quality [--encoders CNN,BOW,LSTM,TRANSFORMER] [--lengths 10,50]
        [--features id,id_genre,id_features] [--protocol headline|seed] [--layout sequences]

Headline protocol (the brief's): per user leave-last-out, full ranking over every movie,
movies already in the user's history removed from the ranking ("filtered"); also reported
unfiltered. Seed protocol: min rating 2, a seeded random 90/10 split of windows, unfiltered.
Models are the pipeline's own (components.model) trained on the same windows ExampleGen
writes, or on whole sequences (--layout sequences); popularity and first-order Markov
baselines are computed in the same run. Features: id (movie ids), id_genre (plus the
flattened genres; windows only), id_features (plus rating and year per activity and the
user's profile; configs/cnn_id_features.pbtxt).
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
FEATURE_CONFIGS = {"id": "cnn_id", "id_genre": "cnn_id_genre", "id_features": "cnn_id_features"}


@dataclasses.dataclass
class Data:
    sequences: list[np.ndarray]  # per user, movie rows in time order
    ratings: list[np.ndarray]  # per user, the ratings of those movies scaled to (0, 1]
    genre_rows: list[np.ndarray]  # per movie row, its genre rows
    year_rows: np.ndarray  # per movie row, its release year's row
    user_rows: dict[str, np.ndarray]  # per user feature, each user's row
    vocab_sizes: dict[str, int]

    @property
    def num_movies(self) -> int:
        return self.vocab_sizes["movie_id"]


def _rows(values: list, limit: int | None = None) -> tuple[dict, int]:
    """Vocabulary rows, most frequent first as Transform orders them; the rest are OOV."""
    kept = [value for value, _ in Counter(values).most_common(limit)]
    return {value: row for row, value in enumerate(kept, ids.FIRST_VOCAB_ROW)}, len(kept)


def load(data_dir: str, min_rating: float) -> Data:
    plain = read_single_process(data_dir)
    movies, by_user = plain.movies, plain.ratings_by_user
    settings = timelines.ExampleSettings(min_rating=min_rating)
    kept_users, raw_timelines = [], []
    for user_id in sorted(by_user):
        timeline, _ = timelines.build_timeline(user_id, by_user[user_id], settings)
        if timeline:
            kept_users.append(user_id)
            raw_timelines.append(timeline.ratings)
    row_of, num_movies = _rows([r.movie_id for t in raw_timelines for r in t])
    genres = sorted({g for m in row_of for g in movies[m].genres})
    genre_row = {g: row for row, g in enumerate(genres, ids.FIRST_VOCAB_ROW)}
    year_row, num_years = _rows([movies[r.movie_id].year for t in raw_timelines for r in t])
    genre_rows = [np.zeros(0, np.int32)] * ids.table_rows(num_movies)
    year_rows = np.zeros(ids.table_rows(num_movies), np.int32)
    for movie, row in row_of.items():
        genre_rows[row] = np.array([genre_row[g] for g in movies[movie].genres], np.int32)
        year_rows[row] = year_row[movies[movie].year]
    vocab_sizes = {"movie_id": num_movies, "movie_genre": len(genres), "movie_year": num_years}
    user_rows = {}
    features_config = input_config.load(FEATURE_CONFIGS["id_features"])
    for group in features_config.global_feature_groups:
        for feature in group.features:
            name = feature.feature_name  # user_<field of movielens.User>
            values = [getattr(plain.users[u], name.removeprefix("user_")) for u in kept_users]
            rows, vocab_sizes[name] = _rows(values, feature.vocab_size or None)
            oov = ids.oov_row(vocab_sizes[name])
            user_rows[name] = np.array([rows.get(v, oov) for v in values], np.int32)
    max_rating = max(r.rating for t in raw_timelines for r in t)
    return Data(
        sequences=[np.array([row_of[r.movie_id] for r in t], np.int32) for t in raw_timelines],
        ratings=[np.array([r.rating / max_rating for r in t], np.float32) for t in raw_timelines],
        genre_rows=genre_rows,
        year_rows=year_rows,
        user_rows=user_rows,
        vocab_sizes=vocab_sizes,
    )


def activities(data: Data, user: int, features: str) -> dict[str, np.ndarray]:
    """A user's per-activity inputs, oldest first."""
    movies = data.sequences[user]
    values = {"context_movie_id": movies}
    if features == "id_features":
        values["context_movie_rating"] = data.ratings[user]
        values["context_movie_year"] = data.year_rows[movies]
    return values


def user_values(data: Data, user: int, features: str) -> dict[str, np.ndarray]:
    if features != "id_features":
        return {}
    return {name: rows[user : user + 1] for name, rows in data.user_rows.items()}


def windows(data: Data, positions: list[tuple[int, int]], length: int, features: str):
    """Inputs and labels for (user index, label position) pairs."""
    genres = features == "id_genre"
    columns: dict[str, list[np.ndarray]] = defaultdict(list)
    labels = np.zeros((len(positions), 1), np.int32)
    for i, (user, position) in enumerate(positions):
        start = max(0, position - length)
        for name, values in activities(data, user, features).items():
            columns[name].append(sequence_training.left_padded(values[start:position], length))
        for name, value in user_values(data, user, features).items():
            columns[name].append(value)
        labels[i, 0] = data.sequences[user][position]
        if genres:
            items = data.sequences[user][start:position]
            flat = np.concatenate([data.genre_rows[m] for m in items])[-GENRE_LENGTH:]
            columns["context_movie_genre"].append(sequence_training.left_padded(flat, GENRE_LENGTH))
    return {name: np.stack(rows) for name, rows in columns.items()}, labels


def train_timelines(data: Data, train, features: str) -> list[sequence_training.Timeline]:
    """Every user's activities; only the training positions' labels are targets."""
    positions: dict[int, list[int]] = defaultdict(list)
    for user, position in train:
        positions[user].append(position)
    result = []
    for user, user_positions in sorted(positions.items()):
        movies = data.sequences[user]
        next_movies = np.zeros(len(movies), np.int32)
        at = np.array(user_positions)
        next_movies[at - 1] = movies[at]
        result.append(
            sequence_training.Timeline(
                activities(data, user, features), next_movies, user_values(data, user, features)
            )
        )
    return result


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
        if group.features[0].feature_name == "context_movie_id":
            for feature in group.features:
                feature.feature_length = length
            if dims:
                movie = group.features[0]
                movie.embedding_dim, config.label_feature.embedding_dim = dims
    config = input_config.parse(input_config.with_encoder(config, encoder))
    test_x, test_y = windows(data, test, length, features)
    tf.keras.utils.set_random_seed(hparams.seed)
    model = Recommender(config, data.vocab_sizes, hparams)
    compile_model(model, hparams)
    if layout == "sequences":
        inputs, targets = sequence_training.sequence_examples(
            train_timelines(data, train, features), length
        )
        start = time.perf_counter()
        sequence_training.fit_sequences(model, inputs, targets, hparams)
        seconds = time.perf_counter() - start
        scores = model.predict(test_x, batch_size=1024, verbose=0)
        positions = int((targets > 0).sum()) * hparams.epochs
        return scores, test_y[:, 0], seconds, positions / seconds
    train_x, train_y = windows(data, train, length, features)
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
        help="sequences: loss at every position (not with id_genre: genres are flattened)",
    )
    parser.add_argument("--dims", help="context and label movie embedding sizes, e.g. 64,64")
    parser.add_argument("--results", default="docs/quality_results.jsonl")
    args = parser.parse_args()
    if args.layout == "sequences" and "id_genre" in args.features.split(","):
        parser.error(
            "--layout sequences cannot take id_genre: flattened genres have no value per activity"
        )
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
