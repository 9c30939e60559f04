"""The baselines every model must beat: popularity and first-order Markov.

Both are fitted on the training split's (newest context movie, label) pairs, the same
examples the model trains on. Popularity scores a movie by how often it was watched next;
first-order Markov by how often it followed the user's newest movie, popularity breaking
ties (and ranking the movies that never followed it). Candidates are every movie of the
training examples. Scores feed components.evaluation.ranking, like a model's.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from components.evaluation import ranking

POPULARITY, MARKOV = "popularity", "markov"
NAMES = (POPULARITY, MARKOV)
# Small enough that popularity never outweighs one observed transition.
_TIE_BREAK = 1e-3


@dataclasses.dataclass
class Baselines:
    movie_ids: np.ndarray  # candidate raw movie ids, ascending; column i scores movie_ids[i]
    label_counts: np.ndarray  # per candidate, how often it was a training label
    # Transitions as a sparse table: for the previous movie's column, (next column, count).
    transition_from: np.ndarray
    transition_to: np.ndarray
    transition_counts: np.ndarray

    @classmethod
    def fit(cls, previous: np.ndarray, labels: np.ndarray, context_movies: np.ndarray):
        """From the training pairs (newest context movie, label); ``context_movies`` lists
        every movie of the training contexts, so that they are candidates too."""
        movie_ids = np.unique(np.concatenate([labels, context_movies, previous[previous > 0]]))
        label_counts = np.bincount(np.searchsorted(movie_ids, labels), minlength=len(movie_ids))
        known = previous > 0
        pairs = np.stack(
            [np.searchsorted(movie_ids, previous[known]), np.searchsorted(movie_ids, labels[known])]
        )
        unique_pairs, counts = np.unique(pairs, axis=1, return_counts=True)
        return cls(movie_ids, label_counts, unique_pairs[0], unique_pairs[1], counts)

    @property
    def candidates(self) -> ranking.Candidates:
        return ranking.Candidates(self.movie_ids)

    def scores(self, name: str, previous: np.ndarray) -> np.ndarray:
        """``[examples, candidates]`` scores of one baseline for examples whose newest
        context movie is ``previous`` (raw ids; 0 for an empty context)."""
        popularity = self.label_counts.astype(np.float32)
        if name == POPULARITY:
            return np.tile(popularity, (len(previous), 1))
        if name != MARKOV:
            raise ValueError(f"unknown baseline {name!r}; one of {NAMES}")
        scores = np.tile(popularity * (_TIE_BREAK / max(popularity.sum(), 1.0)), (len(previous), 1))
        starts = np.searchsorted(self.transition_from, np.arange(len(self.movie_ids) + 1))
        for row, column in enumerate(self.candidates.columns(previous)):
            if column >= 0:
                chosen = slice(starts[column], starts[column + 1])
                scores[row, self.transition_to[chosen]] += self.transition_counts[chosen]
        return scores

    def to_arrays(self) -> dict[str, np.ndarray]:
        return dataclasses.asdict(self)

    @classmethod
    def from_arrays(cls, arrays) -> Baselines:
        return cls(**{field.name: arrays[field.name] for field in dataclasses.fields(cls)})
