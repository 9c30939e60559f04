"""A masked LSTM over the history."""

from __future__ import annotations

import tensorflow as tf

keras = tf.keras


class LstmEncoder(keras.layers.Layer):
    """Masked LSTM; its final state summarises the history (padding steps are skipped)."""

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        # Left padding puts the newest activity last, so the last output is the final state.
        self._lstm = keras.layers.LSTM(units, return_sequences=True)

    def call(self, embeddings: tf.Tensor, mask: tf.Tensor, all_positions: bool = False):
        outputs = self._lstm(embeddings, mask=mask)
        return outputs if all_positions else outputs[:, -1]

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}
