"""The movie table ExampleGen read, kept in its Examples artifact for what ships with a model.

The pusher's sidecar (titles, genres, years) comes from here: a file of a recorded artifact,
not a second read of the raw data that lineage would not see.
"""

from __future__ import annotations

import json
import os
from typing import Any

import tensorflow as tf

from components import names
from components.data_formats.movielens.validation import Movie


def write_movie_table(examples_uri: str, movies: dict[int, Movie]) -> None:
    table = {
        str(movie_id): {"title": movie.title, "genres": list(movie.genres), "year": movie.year}
        for movie_id, movie in sorted(movies.items())
    }
    tf.io.gfile.makedirs(examples_uri)
    with tf.io.gfile.GFile(os.path.join(examples_uri, names.MOVIES_FILE), "w") as handle:
        json.dump(table, handle, ensure_ascii=False)


def read_movie_table(examples_uri: str) -> dict[int, dict[str, Any]]:
    """movie id -> {"title", "genres", "year"}."""
    path = os.path.join(examples_uri, names.MOVIES_FILE)
    if not tf.io.gfile.exists(path):
        raise ValueError(
            f"{examples_uri} has no {names.MOVIES_FILE}: it was written by an older "
            "ExampleGen; run again with --no-cache"
        )
    with tf.io.gfile.GFile(path) as handle:
        return {int(movie_id): movie for movie_id, movie in json.load(handle).items()}
