"""Recommends movies with a pushed TFLite model on the standalone LiteRT interpreter.

    python -m pipeline.recommend --model outputs --history 1,2,3 [--k 10] [--include-seen]
    python -m pipeline.recommend --model PATH --histories FILE [--json]

``--model`` is a .tflite file, a pushed version folder, or an output folder (its latest
pushed model). Histories are comma-separated raw movie ids, oldest first. Movies already in
the history are left out unless ``--include-seen``. Inputs the model has besides the movie
ids are derived from the movies where possible (genres, years) and left empty otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter

# No TensorFlow here: this is what a device runs.
from components import names
from components.export import movie_inputs
from components.export.layout import (
    EXCLUDED_MOVIES,
    MODEL_FILE,
    RECOMMEND,
    RECOMMEND_UNSEEN,
    SIDECAR_FILE,
    TOP_IDS,
    TOP_SCORES,
)
from components.transform import ids
from configs import features as raw
from pipeline import cli_errors, model_files, paths


class RecommendError(ValueError):
    """Bad input: the message says what and how to fix it."""


def find_model(path: str) -> str:
    """The .tflite file that ``path`` names (a file, a pushed folder or an output folder)."""
    if os.path.isfile(path):
        return path
    candidates = [
        os.path.join(path, MODEL_FILE),
        *_latest_pushed(os.path.join(path, names.PUSHED_MODELS_DIR)),
        *_latest_pushed(path),
    ]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    raise RecommendError(
        f"No pushed model at {path!r}: give a .tflite file, a pushed model folder, or an "
        "output folder whose pipeline pushed a model (run `make run` first)."
    )


def _latest_pushed(folder: str) -> list[str]:
    if not os.path.isdir(folder):
        return []
    versions = sorted((v for v in os.listdir(folder) if v.isdigit()), key=int)
    return [os.path.join(folder, versions[-1], MODEL_FILE)] if versions else []


class Recommender:
    """A pushed model and its sidecar: histories in, titled recommendations out."""

    def __init__(self, model_path: str):
        self.model_path = find_model(model_path)
        sidecar = os.path.join(os.path.dirname(self.model_path), SIDECAR_FILE)
        try:  # a damaged file is one clear line, never an interpreter crash
            self.sidecar = movie_inputs.with_movie_inputs(model_files.load_sidecar(sidecar))
            self.interpreter: Interpreter = model_files.load_interpreter(
                self.model_path, self.sidecar
            )
        except model_files.ModelFileError as error:
            raise RecommendError(str(error)) from None
        self.movies = self.sidecar["movies"]
        self.inputs = {spec["name"]: spec for spec in self.sidecar["inputs"]}
        self.k = self.sidecar["k"]
        self.window = self.inputs[raw.CONTEXT_MOVIE_ID]["length"]
        self.excluded_length = self.inputs[EXCLUDED_MOVIES]["length"]

    def features(self, history: list[int]) -> dict[str, np.ndarray]:
        """The model's inputs for the most recent movies of ``history``.

        Years and genres are the sidecar's per-movie values, concatenated oldest first
        (components/export/movie_inputs.py: the browser demo builds them the same way).
        """
        features = {}
        for name, spec in self.inputs.items():
            if name == EXCLUDED_MOVIES:
                continue
            if name == raw.CONTEXT_MOVIE_ID:
                values = history
            elif name in movie_inputs.DERIVED:
                values = movie_inputs.history_values(self.sidecar, history, name)
            else:
                values = []  # ratings and user profile are not known from ids alone
            features[name] = ids.left_padded(values, spec["length"], spec["dtype"])
        return features

    def recommend(self, history: list[int], k: int, include_seen: bool) -> dict:
        """Top ``k`` movies after ``history`` (oldest first, any length).

        The model's input is the most recent movies of the history; unless
        ``include_seen``, every movie of the history is excluded: the most recent
        ``excluded_movie_ids`` length of them by the model, any older ones here.
        """
        if not history:
            raise RecommendError("The history is empty: give at least one movie id.")
        if not 1 <= k <= self.k:
            raise RecommendError(f"--k must be between 1 and {self.k} (the model's K)")
        known = [m if str(m) in self.movies else ids.UNKNOWN_RAW_ID for m in history]
        features = self.features(known[-self.window :])
        if include_seen:
            output = self.interpreter.get_signature_runner(RECOMMEND)(**features)
        else:
            excluded = ids.left_padded(known, self.excluded_length, np.int32)
            runner = self.interpreter.get_signature_runner(RECOMMEND_UNSEEN)
            output = runner(**features, **{EXCLUDED_MOVIES: excluded})
        top = [int(m) for m in output[TOP_IDS]]
        scores = [round(float(s), 5) for s in output[TOP_SCORES]]
        if not include_seen and len(history) > self.excluded_length:
            older = set(history[: -self.excluded_length])
            kept = [i for i, movie in enumerate(top) if movie not in older]
            top, scores = [top[i] for i in kept], [scores[i] for i in kept]
        unknown = list(dict.fromkeys(m for m in history if str(m) not in self.movies))
        return {
            "history": history,
            "movie_ids": top[:k],
            "scores": scores[:k],
            "titles": [self.movies[str(m)]["title"] for m in top[:k]],
            "unknown_ids": unknown,
        }


def parse_history(text: str) -> list[int]:
    try:
        history = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        history = None
    if history is None or any(m < 1 for m in history):
        raise RecommendError(
            f"A history is comma-separated positive movie ids, oldest first; got {text!r}"
        )
    return history


def _read_histories(path: str) -> list[tuple[int, str]]:
    """(line number, text) of each non-blank line of a UTF-8 histories file."""
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line_no = data.count(b"\n", 0, error.start) + 1
        raise RecommendError(f"{path} is not UTF-8 text (line {line_no}).") from None
    return [(n, line) for n, line in enumerate(text.split("\n"), 1) if line.strip()]


def print_text(recommender: Recommender, result: dict) -> None:
    recent = result["history"][-recommender.window :]
    titles = [recommender.movies.get(str(m), {}).get("title", f"movie {m}") for m in recent]
    older = len(result["history"]) - len(recent)
    print(f"Because you watched: {', '.join(titles)}" + (f" (and {older} more)" if older else ""))
    if result["unknown_ids"]:
        print(f"Not in the model's catalogue: {result['unknown_ids']}")
    for rank, (title, movie, score) in enumerate(
        zip(result["titles"], result["movie_ids"], result["scores"], strict=True), start=1
    ):
        genres = "|".join(recommender.movies[str(movie)]["genres"])
        print(f"{rank:3d}. {title} [{genres}] (id {movie}, score {score:.3f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=paths.OUTPUT_DIR)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--history", help="comma-separated movie ids, oldest first")
    source.add_argument("--histories", help="file with one history per line")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--include-seen", action="store_true")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    cli_errors.add_debug_flag(parser)
    args = parser.parse_args(argv)
    try:
        recommender = Recommender(args.model)
        history = args.history
        lines = [(0, history)] if history is not None else _read_histories(args.histories)
    except (RecommendError, OSError) as error:
        return cli_errors.fail(error, args.debug)
    failures = 0
    for line_no, text in lines:
        try:
            result = recommender.recommend(parse_history(text.strip()), args.k, args.include_seen)
        except RecommendError as error:
            where = f"line {line_no}: " if line_no else ""
            print(f"error: {where}{error}", file=sys.stderr)
            failures += 1
            continue
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
        else:
            print_text(recommender, result)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
