"""The movie table ExampleGen read, kept in its Examples artifact for what ships with a model
(components.contracts.movie_table)."""

from __future__ import annotations

from typing import Any

from components.contracts.movie_table import MovieTable
from components.data_formats.movielens.validation import Movie


def write_movie_table(examples_uri: str, movies: dict[int, Movie]) -> None:
    MovieTable(
        {
            movie_id: {"title": movie.title, "genres": list(movie.genres), "year": movie.year}
            for movie_id, movie in movies.items()
        }
    ).write(examples_uri)


def read_movie_table(examples_uri: str) -> dict[int, dict[str, Any]]:
    """movie id -> {"title", "genres", "year"}."""
    table = MovieTable.read_if_present(examples_uri)
    if table is None:
        raise ValueError(
            f"{examples_uri} has no {MovieTable.FILE}: it was written by an older "
            "ExampleGen; run again with --no-cache"
        )
    return table.movies
