"""What each watched movie contributes to the on-device inputs: the one definition.

The model's per-activity inputs besides the movie id (its year, its genres) follow from the
movie alone. Their values are written into the sidecar per movie (``movies[id]["inputs"]``,
already as the signature takes them: raw years, genre vocabulary rows), plus the values of a
movie the model does not know (``unknown_movie_inputs``). Every client, the recommend
command and the browser demo alike, then builds an input by concatenating those values over
the history (oldest first), keeping the most recent ``length`` and padding on the left, so
no client re-implements the genre lookup or the year rule. Light: no TensorFlow.
"""

from __future__ import annotations

from typing import Any

from components.transform import ids
from configs import features as raw

# Sidecar keys.
MOVIE_INPUTS = "inputs"
UNKNOWN_MOVIE_INPUTS = "unknown_movie_inputs"
# The per-activity inputs that follow from the movie (the id itself is the history).
DERIVED = (raw.CONTEXT_MOVIE_YEAR, raw.CONTEXT_MOVIE_GENRE)


def derived_specs(input_specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The sidecar input specs of the model's inputs that follow from the movie."""
    return [spec for spec in input_specs if spec["name"] in DERIVED]


def for_movie(
    movie: dict[str, Any] | None,
    input_specs: list[dict[str, Any]],
    string_vocabularies: dict[str, list[str]],
) -> dict[str, list[int]]:
    """Input name -> the values one watched movie adds to it (``movie`` None: unknown).

    A movie has one year (PADDING when unknown: the model saw 0 as "no year") and any
    number of genres, each its vocabulary row (OOV row for a genre the vocabulary lacks;
    none for an unknown movie), as Transform and ExampleGen lay them out.
    """
    values: dict[str, list[int]] = {}
    for spec in derived_specs(input_specs):
        name = spec["name"]
        if name == raw.CONTEXT_MOVIE_YEAR:
            values[name] = [int(movie["year"] or ids.PADDING) if movie else ids.PADDING]
        elif name == raw.CONTEXT_MOVIE_GENRE:
            vocabulary = string_vocabularies[spec["vocab_name"]]
            rows = {value: row for row, value in enumerate(vocabulary, ids.FIRST_VOCAB_ROW)}
            oov = ids.oov_row(len(vocabulary))
            values[name] = [rows.get(genre, oov) for genre in movie["genres"]] if movie else []
    return values


def with_movie_inputs(sidecar: dict[str, Any]) -> dict[str, Any]:
    """``sidecar`` with every movie's input values (and the unknown movie's) filled in.

    The pusher writes them; a sidecar pushed before they existed gets them here, from the
    same definition, so older pushed models keep working with every client.
    """
    specs, vocabularies = sidecar["inputs"], sidecar["string_vocabularies"]
    for movie in sidecar["movies"].values():
        if MOVIE_INPUTS not in movie:
            movie[MOVIE_INPUTS] = for_movie(movie, specs, vocabularies)
    sidecar.setdefault(UNKNOWN_MOVIE_INPUTS, for_movie(None, specs, vocabularies))
    return sidecar


def history_values(sidecar: dict[str, Any], history: list[int], name: str) -> list[int]:
    """The values of derived input ``name`` for ``history`` (raw ids, oldest first; ids the
    model does not know contribute the unknown movie's values), before padding."""
    unknown = sidecar[UNKNOWN_MOVIE_INPUTS][name]
    movies = sidecar["movies"]
    values: list[int] = []
    for movie_id in history:
        movie = movies.get(str(movie_id))
        values.extend(movie[MOVIE_INPUTS][name] if movie else unknown)
    return values
