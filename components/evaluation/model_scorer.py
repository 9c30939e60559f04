"""Scores held-out examples with an exported model, through its on-device input path.

The model's ``score_all_movies`` signature takes the very inputs ``recommend`` takes (raw
ids, values and vocabulary rows, built by components.export.on_device_inputs) with a batch
dimension, and scores every movie: the quality report's figures are those of the model an
app runs, on every movie rather than its top K.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from components.evaluation import quality, ranking
from components.export import on_device_inputs
from components.export.layout import MOVIE_IDS, SCORE_ALL_MOVIES, SCORES


class ModelScorer:
    def __init__(self, serving_model_dir: str):
        self._model = tf.saved_model.load(serving_model_dir)
        if SCORE_ALL_MOVIES not in self._model.signatures:
            raise ValueError(
                f"{serving_model_dir} has no {SCORE_ALL_MOVIES} signature (exported by an "
                "older version of the Trainer)"
            )
        self._signature = self._model.signatures[SCORE_ALL_MOVIES]
        self.config, self._vocabularies = on_device_inputs.read_spec(serving_model_dir)
        self.feature_names = on_device_inputs.feature_names(self.config)
        self._input_names = list(self._signature.structured_input_signature[1])

    def evaluate(self, held_out: quality.HeldOut) -> dict:
        """quality.evaluate's table for this model on ``held_out`` (which must hold
        ``feature_names``)."""
        inputs = on_device_inputs.from_columns(held_out.columns, self.config, self._vocabularies)

        def score_batch(start: int, end: int) -> np.ndarray:
            return self._call(inputs, start, end)[SCORES]

        movie_ids = self._call(inputs, 0, min(1, len(held_out)))[MOVIE_IDS]
        return quality.evaluate(ranking.Candidates(movie_ids), score_batch, held_out)

    def _call(self, inputs: dict[str, np.ndarray], start: int, end: int) -> dict[str, np.ndarray]:
        feed = {name: tf.constant(inputs[name][start:end]) for name in self._input_names}
        return {name: value.numpy() for name, value in self._signature(**feed).items()}
