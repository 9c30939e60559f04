"""The three MovieLens layouts, and which one a folder holds.

* ``ml-1m`` (also ML-10M): ``::``-separated ``ratings.dat`` / ``movies.dat`` / ``users.dat``,
  movie titles in latin-1.
* ``ml-100k``: tab-separated ``u.data``, pipe-separated ``u.item`` (19 genre flag columns)
  and ``u.user``, latin-1.
* ``ml-latest`` (also 20M/25M/32M and ml-latest-small): CSV with a header, quoted titles,
  UTF-8.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where a layout keeps its files and how its lines are split."""

    name: str
    ratings_file: str
    movies_file: str
    users_file: str | None
    ratings_separator: str
    movies_encoding: str
    has_header: bool
    min_rating: float
    max_rating: float


ML_1M = Layout("ml-1m", "ratings.dat", "movies.dat", "users.dat", "::", "latin-1", False, 1, 5)
ML_100K = Layout("ml-100k", "u.data", "u.item", "u.user", "\t", "latin-1", False, 1, 5)
ML_LATEST = Layout("ml-latest", "ratings.csv", "movies.csv", None, ",", "utf-8", True, 0.5, 5)
LAYOUTS = (ML_1M, ML_100K, ML_LATEST)


class DataError(ValueError):
    """Input files are missing, empty, or too broken to use."""


def file_path(data_dir: str, name: str) -> str:
    return data_dir.rstrip("/") + "/" + name


def detect_layout(data_dir: str) -> Layout:
    """Returns the layout whose ratings and movie files are in ``data_dir``.

    Raises DataError naming the expected files when none matches, when a required file is
    empty or not a file, or when the ratings of more than one layout are present (which
    one was meant is the user's call, not a silent pick).
    """
    if not tf.io.gfile.isdir(data_dir):
        if tf.io.gfile.exists(data_dir):
            raise DataError(
                f"{data_dir!r} is a file, not a folder: give the folder that holds the "
                "MovieLens files (e.g. ratings.dat and movies.dat)."
            )
        raise DataError(f"MovieLens data folder {data_dir!r} does not exist.")
    found = [lay for lay in LAYOUTS if tf.io.gfile.exists(file_path(data_dir, lay.ratings_file))]
    if len(found) > 1:
        names = " and ".join(f"{lay.ratings_file} ({lay.name})" for lay in found)
        raise DataError(
            f"{data_dir!r} holds the ratings of {len(found)} layouts, {names}: which one "
            "should be read? Keep one layout's files in the folder and move the others."
        )
    for layout in found:
        for name in (layout.ratings_file, layout.movies_file):
            path = file_path(data_dir, name)
            if not tf.io.gfile.exists(path):
                raise DataError(
                    f"{data_dir!r} looks like the {layout.name} layout ({layout.ratings_file} "
                    f"found) but {name} is missing."
                )
            if tf.io.gfile.isdir(path):
                raise DataError(f"{path!r} is a folder, not a file.")
            if tf.io.gfile.stat(path).length == 0:
                raise DataError(f"{path!r} is empty.")
        return layout
    expected = "; ".join(f"{lay.name}: {lay.ratings_file} + {lay.movies_file}" for lay in LAYOUTS)
    raise DataError(f"No MovieLens files found in {data_dir!r}. Expected one of: {expected}.")


def input_files(data_dir: str, layout: Layout) -> dict[str, str]:
    """Role ("ratings", "movies", "users") -> path of each file an ingestion reads."""
    files = {
        "ratings": file_path(data_dir, layout.ratings_file),
        "movies": file_path(data_dir, layout.movies_file),
    }
    if layout.users_file and tf.io.gfile.exists(file_path(data_dir, layout.users_file)):
        files["users"] = file_path(data_dir, layout.users_file)
    return files
