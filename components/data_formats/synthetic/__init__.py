"""Deterministic synthetic MovieLens data in the ml-1m, ml-100k and ml-latest layouts.

The files follow the real MovieLens formats (separators, encodings, quoting, headers,
line order), and the ratings carry the structure a recommender should find: Zipf-skewed movie
popularity, users who favour a couple of genres, and a planted next-movie pattern (each
movie has a few "successors" that tend to be rated right after it). Timestamps come in
sessions with many ties, as in MovieLens.

The same spec gives the same users, movies, picks and timestamps in every layout; only the
rating scale (whole stars vs half stars) and the file order differ. Ratings are simulated
and written in chunks of users, so memory stays flat for tens of millions of ratings.
"""

from components.data_formats.synthetic.releases import RELEASES, Release, spec_like
from components.data_formats.synthetic.spec import (
    BAD_LINE_REASONS,
    GENRES,
    LAYOUTS,
    ML100K_GENRES,
    NO_GENRES,
    SyntheticSpec,
    SyntheticSummary,
)
from components.data_formats.synthetic.world import planted_successors
from components.data_formats.synthetic.writers import write_movielens

__all__ = [
    "BAD_LINE_REASONS",
    "GENRES",
    "LAYOUTS",
    "ML100K_GENRES",
    "NO_GENRES",
    "RELEASES",
    "Release",
    "SyntheticSpec",
    "SyntheticSummary",
    "planted_successors",
    "spec_like",
    "write_movielens",
]
