"""Training a recommender on whole sequences with a loss at every position (SASRec's layout).

One window per label makes a history-N model see each activity N times per epoch. Here a
user's timeline is cut into sequences of ``length`` activities and the loss is taken at
every position (predict the movie of activity t + 1 from activities <= t), so each activity
is encoded once. Per-activity features ride along with the movie ids; user (global)
features are the same at every position. The trained weights are the same Recommender's:
it then serves one history window, its output at the newest position.

In the pipeline, ExampleGen writes the pieces (``components.example_gen.pieces``) as the
training split and the Trainer streams them from Transform's output; ``sequence_examples``
cuts the same pieces in memory for tests and benchmarks.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from components.example_gen import pieces
from components.model import distribution
from components.model.hparams import HParams
from components.model.recommender import Recommender, make_optimizer
from components.transform import ids

keras = tf.keras


@dataclasses.dataclass
class Timeline:
    """One user's activities, ready to be cut into sequence examples.

    ``activities`` maps each activity feature to its values, oldest first.
    ``next_movies[i]`` is the movie row to predict after activity i, or PADDING where that
    label is not trained on (held out for evaluation, or past the user's last activity).
    ``user`` maps each global (per-user) feature to its value, shape ``[1]``.
    """

    activities: dict[str, np.ndarray]
    next_movies: np.ndarray
    user: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


def sequence_examples(
    timelines: list[Timeline], length: int, stride: int | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Inputs (per feature, ``[n, length]`` left-padded with 0; global ones ``[n, 1]``) and
    next-movie targets ``[n, length]``: the pieces ``pieces.cut`` chooses, as numpy arrays.

    The pipeline's Trainer reads the same pieces from ExampleGen's training examples; this
    in-memory form serves tests and benchmarks.
    """
    names = {name for t in timelines for name in (*t.activities, *t.user)}
    inputs: dict[str, list[np.ndarray]] = {name: [] for name in names}
    targets = []
    for timeline in timelines:
        for piece in pieces.cut(timeline.next_movies != ids.PADDING, length, stride):
            window = slice(piece.start, piece.end)
            target = timeline.next_movies[window].copy()
            target[: piece.first - piece.start] = ids.PADDING
            for name, values in timeline.activities.items():
                inputs[name].append(ids.left_padded(values[window], length, values.dtype))
            for name, value in timeline.user.items():
                inputs[name].append(value)
            targets.append(ids.left_padded(target, length, np.int32))
    return {name: np.stack(rows) for name, rows in inputs.items()}, np.array(targets, np.int32)


def in_memory_dataset(
    inputs: dict[str, np.ndarray], targets: np.ndarray, hparams: HParams
) -> tf.data.Dataset:
    """Shuffled batches of in-memory sequence examples (tests and benchmarks; the pipeline
    streams its pieces from files)."""
    dataset = tf.data.Dataset.from_tensor_slices((inputs, targets)).shuffle(
        len(targets), seed=hparams.seed
    )
    return dataset.batch(hparams.batch_size)


class SequenceModel(keras.Model):
    """Wraps a Recommender so that ``fit`` trains its loss at every position."""

    def __init__(self, recommender: Recommender, **kwargs):
        super().__init__(**kwargs)
        self.recommender = recommender
        self._loss = keras.metrics.Mean(name="loss")  # the epoch's mean, not the last batch's

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self._loss]  # reset by fit at each epoch

    def train_step(self, data):
        inputs, targets = data
        with tf.GradientTape() as tape:
            loss = self.recommender.sequence_loss(inputs, targets, training=True)
            loss += sum(self.recommender.losses)
            # Under a strategy the replicas' gradients are summed, so each replica takes
            # its share of the global batch's mean (Keras' compiled loss does the same;
            # one replica: unchanged). The logged loss stays the replica's mean.
            scaled = loss / tf.distribute.get_strategy().num_replicas_in_sync
        variables = self.recommender.trainable_variables
        gradients = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(zip(gradients, variables, strict=True))
        self._loss.update_state(loss)
        return {"loss": self._loss.result()}


def fit_sequences(
    recommender: Recommender,
    batches: tf.data.Dataset,
    hparams: HParams,
    verbose: int = 2,
    callbacks: list[keras.callbacks.Callback] | None = None,
    jit_compile: bool = False,
) -> keras.callbacks.History:
    """Trains ``recommender`` (one activity group) on batches of (inputs, targets) sequence
    examples: ``epochs`` passes, or ``train_steps`` batches in all when set (the batches
    repeat)."""
    # The wrapper and its optimizer live under the recommender's strategy (the default one
    # outside a cluster); the batches are sharded by element across workers.
    with recommender.distribute_strategy.scope():
        model = SequenceModel(recommender)
        model.compile(optimizer=make_optimizer(hparams), jit_compile=jit_compile or hparams.xla)
    batches = distribution.shard_by_data(batches)
    if hparams.train_steps:
        batches = batches.repeat()
    return model.fit(
        batches.prefetch(2),
        epochs=hparams.epochs,
        steps_per_epoch=hparams.steps_per_epoch,
        verbose=verbose,
        callbacks=callbacks,
    )
