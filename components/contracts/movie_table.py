"""``movies.json``: the movie table MovieLensExampleGen read (id -> title, genres, year).

Written into the Examples artifact's folder by ExampleGen (components.example_gen.
movie_table); read by the TFLitePusher for the sidecar's titles, genres and years: a file
of a recorded artifact, not a second read of the raw data that lineage would not see.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from components.contracts.base import Contract


@dataclasses.dataclass
class MovieTable(Contract):
    FILE: ClassVar[str] = "movies.json"
    VERSION: ClassVar[int] = 1
    INDENT: ClassVar[int | None] = None
    ENSURE_ASCII: ClassVar[bool] = False

    # movie id -> {"title", "genres", "year"}; in the file, ids are the top-level keys.
    movies: dict[int, dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {str(movie_id): movie for movie_id, movie in sorted(self.movies.items())}

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> MovieTable:
        return cls({int(movie_id): movie for movie_id, movie in values.items()})
