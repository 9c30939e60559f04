"""The pushed model as an app uses it: the LiteRT interpreter, the sidecar, a history of any
length turned into the signature's inputs.

``Recommender`` loads a pushed model (checked by ``model_files``) and recommends after a
history; ``print_text`` is its text form, shared by ``python -m commands.recommend`` and the
local runner's end-of-run summary. No TensorFlow here: this is what a device runs.
"""

from __future__ import annotations

import os

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from components import names
from components.contracts.sidecar import Sidecar
from components.export import model_files, movie_inputs, serving
from components.export.layout import (
    EXCLUDED_MOVIES,
    MODEL_FILE,
    RECOMMEND,
    RECOMMEND_UNSEEN,
    TOP_IDS,
    TOP_SCORES,
)
from components.transform import ids
from configs import features as raw


class RecommendError(ValueError):
    """Bad input: the message says what and how to fix it."""


def find_model(path: str) -> str:
    """The .tflite file that ``path`` names: a file, a pushed version folder, or a push
    destination or output folder (the version its serving pointer names; see
    components.export.serving)."""
    if os.path.isfile(path):
        return path
    if os.path.isfile(os.path.join(path, MODEL_FILE)):
        return os.path.join(path, MODEL_FILE)
    for root in (os.path.join(path, names.PUSHED_MODELS_DIR), path):
        try:
            found = serving.current(root)
        except serving.ServingError as error:
            raise RecommendError(str(error)) from None
        if found is not None:
            return found[0].model_path
    raise RecommendError(
        f"No pushed model at {path!r}: give a .tflite file, a pushed model folder, or an "
        "output folder whose pipeline pushed a model (run `make run` first)."
    )


class Recommender:
    """A pushed model and its sidecar: histories in, titled recommendations out."""

    def __init__(self, model_path: str):
        self.model_path = find_model(model_path)
        sidecar = Sidecar.path(os.path.dirname(self.model_path))
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

    def _unseen(self, features: dict[str, np.ndarray], history: list[int]) -> dict:
        """``recommend_unseen``'s output with every movie of ``history`` excluded, exactly,
        however long the history.

        The model excludes at most ``excluded_length`` movies: the most recent ones. A longer
        history's older movies can then come out on top; those found are excluded in the
        next call, in place of the oldest movies of the list, until the top K holds no
        watched movie. Those top K are the same as with every watched movie excluded
        (excluding movies only removes candidates), usually after one or two calls.
        """
        runner = self.interpreter.get_signature_runner(RECOMMEND_UNSEEN)
        newest_first = list(dict.fromkeys(reversed(history)))
        watched, found = set(newest_first), []
        while True:
            recent = [m for m in newest_first if m not in found]
            excluded = recent[: self.excluded_length - len(found)][::-1] + found
            output = runner(
                **features,
                **{EXCLUDED_MOVIES: ids.left_padded(excluded, self.excluded_length, np.int32)},
            )
            not_excluded = watched.difference(excluded)
            again = [int(m) for m in output[TOP_IDS] if int(m) in not_excluded]
            if not again or len(found) + len(again) > self.excluded_length:
                return self._drop(output, watched) if again else output
            found += again

    @staticmethod
    def _drop(output: dict, watched: set[int]) -> dict:
        """The output without watched movies: fewer than K results, where the watched movies
        that came out on top are more than the model can exclude at once."""
        keep = [i for i, m in enumerate(output[TOP_IDS]) if int(m) not in watched]
        return {name: values[keep] for name, values in output.items()}

    def recommend(self, history: list[int], k: int, include_seen: bool) -> dict:
        """Top ``k`` movies after ``history`` (oldest first, any length).

        The model's input is the most recent movies of the history; unless
        ``include_seen``, every movie of the history is excluded (``_unseen``).
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
            output = self._unseen(features, known)
        top = [int(m) for m in output[TOP_IDS]]
        scores = [round(float(s), 5) for s in output[TOP_SCORES]]
        unknown = list(dict.fromkeys(m for m in history if str(m) not in self.movies))
        return {
            "history": history,
            "movie_ids": top[:k],
            "scores": scores[:k],
            "titles": [self.movies[str(m)]["title"] for m in top[:k]],
            "unknown_ids": unknown,
        }


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
