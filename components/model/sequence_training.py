"""Training a recommender on whole sequences with a loss at every position (SASRec's layout).

One window per label makes a history-N model see each activity N times per epoch. Here a
user's timeline is cut into sequences of ``length`` activities and the loss is taken at
every position (predict the movie of activity t + 1 from activities <= t), so each activity
is encoded once. Per-activity features ride along with the movie ids; user (global)
features are the same at every position. The trained weights are the same Recommender's:
it then serves one history window, its output at the newest position.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

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
    next-movie targets ``[n, length]``.

    Each timeline is cut from its newest trained label back into pieces of ``length``
    activities, each piece starting ``stride`` (default: ``length``) activities before the
    next one, and every trained label is a target exactly once: in the newest piece that
    holds it. With a stride under the length, pieces overlap and each target but a
    timeline's first ones has at least ``length - stride`` activities of context, nearer
    the full window the model serves (the encoder then runs ``length / stride`` times as
    many positions per epoch; the loss, only at targets, costs the same). A piece with no
    trained label is dropped.
    """
    stride = stride or length
    if not 1 <= stride <= length:
        raise ValueError(f"the stride must be in [1, {length}], got {stride}")
    names = {name for t in timelines for name in (*t.activities, *t.user)}
    inputs: dict[str, list[np.ndarray]] = {name: [] for name in names}
    targets = []
    for timeline in timelines:
        trained = np.flatnonzero(timeline.next_movies != ids.PADDING)
        end = trained[-1] + 1 if len(trained) else 0
        while end > 0:
            start = max(0, end - length)
            # Targets from here on; earlier ones belong to the next (older) piece.
            first = max(start, end - stride) if start > 0 else 0
            piece = timeline.next_movies[start:end].copy()
            piece[: first - start] = ids.PADDING
            if (piece != ids.PADDING).any():
                for name, values in timeline.activities.items():
                    inputs[name].append(ids.left_padded(values[start:end], length, values.dtype))
                for name, value in timeline.user.items():
                    inputs[name].append(value)
                targets.append(ids.left_padded(piece, length, np.int32))
            end = first
    return {name: np.stack(rows) for name, rows in inputs.items()}, np.array(targets, np.int32)


def timelines_from_windows(
    user_ids: np.ndarray,
    positions: np.ndarray,
    contexts: dict[str, np.ndarray],
    labels: np.ndarray,
    movie_feature: str,
    user_features: dict[str, np.ndarray] | None = None,
) -> list[Timeline]:
    """Each user's timeline rebuilt from their next-movie window examples.

    ``positions`` are the labels' indices in the user's timeline (their history lengths),
    ``contexts`` each activity feature's left-padded windows ``[n, length]``,
    ``movie_feature`` the context feature that holds movie rows. Windows may be any subset
    of a user's positions (a random split holds some out): an activity is known from any
    window whose context covers it, and a label is a target only where its window is given.
    Where an activity is covered by no window (its value is unknown), the timeline is cut
    in two there rather than guessed.
    """
    order = np.lexsort((positions, user_ids))
    user_ids, positions, labels = user_ids[order], positions[order], labels[order]
    contexts = {name: values[order] for name, values in contexts.items()}
    user_features = {name: values[order] for name, values in (user_features or {}).items()}
    length = contexts[movie_feature].shape[1]
    starts = np.flatnonzero(np.r_[True, user_ids[1:] != user_ids[:-1]])
    timelines = []
    for start, end in zip(starts, [*starts[1:], len(user_ids)], strict=True):
        user_positions = positions[start:end]
        size = int(user_positions.max()) + 1
        # Activity index of every context slot; slots before the timeline's start are padding.
        slots = user_positions[:, np.newaxis] - length + np.arange(length)
        real = slots >= 0
        known = np.zeros(size, bool)
        known[slots[real]] = True
        activities = {}
        for name, windows in contexts.items():
            values = np.zeros(size, windows.dtype)
            values[slots[real]] = windows[start:end][real]
            activities[name] = values
        if len(contexts) == 1:  # movie rows only: labels fill in the newest activities too
            activities[movie_feature][user_positions] = labels[start:end]
            known[user_positions] = True
        next_movies = np.zeros(size, np.int32)
        next_movies[user_positions - 1] = labels[start:end]
        user = {name: values[start] for name, values in user_features.items()}
        timelines += _known_runs(activities, next_movies, known, user)
    return timelines


def _known_runs(
    activities: dict[str, np.ndarray],
    next_movies: np.ndarray,
    known: np.ndarray,
    user: dict[str, np.ndarray],
) -> list[Timeline]:
    """The timeline split into its runs of known activities."""
    edges = np.flatnonzero(np.diff(np.r_[False, known, False].astype(np.int8)))
    return [
        Timeline(
            {name: values[begin:end] for name, values in activities.items()},
            next_movies[begin:end],
            user,
        )
        for begin, end in zip(edges[::2], edges[1::2], strict=True)
    ]


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
    inputs: dict[str, np.ndarray],
    targets: np.ndarray,
    hparams: HParams,
    verbose: int = 2,
    callbacks: list[keras.callbacks.Callback] | None = None,
    jit_compile: bool = False,
) -> keras.callbacks.History:
    """Trains ``recommender`` (one activity group) on sequence examples: ``epochs`` passes,
    or ``train_steps`` batches in all when set (the examples repeat)."""
    # The wrapper and its optimizer live under the recommender's strategy (the default one
    # outside a cluster); the dataset is sharded by element across workers.
    with recommender.distribute_strategy.scope():
        model = SequenceModel(recommender)
        model.compile(optimizer=make_optimizer(hparams), jit_compile=jit_compile or hparams.xla)
    dataset = distribution.shard_by_data(
        tf.data.Dataset.from_tensor_slices((inputs, targets)).shuffle(
            len(targets), seed=hparams.seed
        )
    )
    if hparams.train_steps:
        dataset = dataset.repeat()
    return model.fit(
        dataset.batch(hparams.batch_size).prefetch(2),
        epochs=hparams.epochs,
        steps_per_epoch=hparams.steps_per_epoch,
        verbose=verbose,
        callbacks=callbacks,
    )
