"""Training callbacks: the per-epoch held-out evaluation that early stopping follows, the
time budget, and the training log that the Trainer leaves in its model-run folder."""

from __future__ import annotations

import logging
import time

import numpy as np
import tensorflow as tf

from components import names
from components.contracts import training_log
from components.evaluation import ranking
from components.model import distribution
from components.transform import ids
from components.transform.preprocessing import HISTORY_ROWS

keras = tf.keras


def metric_log_name(k: int) -> str:
    """The Keras log key of the eval split's HR@K, seen movies excluded: ``val_hr_at_K``."""
    return ranking.eval_log_name(ranking.hr_name(k))


class HeldOutEvaluation(keras.callbacks.Callback):
    """After each epoch, the served model's HR@K and NDCG@10 on held-out windows, with each
    user's whole history excluded from the ranking (``val_hr_at_K``, ``val_ndcg_at_10``).

    Whatever the training layout, what is served is one window: this ranks every movie for
    it exactly as the quality report and the device do (components.evaluation.ranking).
    Placed before EarlyStopping and TensorBoard, its figures drive and reach both.
    """

    def __init__(self, recommender, windows: tf.data.Dataset, ks: list[int]):
        super().__init__()
        self.recommender = recommender
        self.windows = windows
        self.ks = ks

    def ranks(self) -> np.ndarray:
        """The label's rank in every held-out window (whole history excluded)."""
        return np.concatenate(
            [
                ranking.label_ranks(logits, labels, excluded)
                for logits, labels, excluded, _ in held_out_batches(self.recommender, self.windows)
            ]
        )

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        values = ranking.metrics(self.ranks(), self.ks)
        if logs is not None:
            for k in self.ks:
                logs[metric_log_name(k)] = values[ranking.hr_name(k)]
            logs[ranking.eval_log_name(ranking.ndcg_name())] = values[ranking.ndcg_name()]


def held_out_batches(recommender, windows: tf.data.Dataset, newest_of: str | None = None):
    """Per batch of held-out windows: the logits ``[batch, rows]``, the label rows (-1 when
    padding or OOV), the rows each example excludes (its whole history) and the row of the
    ``newest_of`` feature's newest value (None when not asked)."""
    oov = recommender.oov_row
    for features, labels in windows:
        inputs = {name: features[name] for name in recommender.input_names}
        logits = recommender(inputs, training=False).numpy()
        labels = labels.numpy().reshape(-1)
        known = np.where((labels == oov) | (labels == ids.PADDING), -1, labels)
        history = tf.RaggedTensor.from_sparse(features[HISTORY_ROWS])
        excluded = [np.asarray(row) for row in history.to_list()]
        newest = features[newest_of][:, -1].numpy() if newest_of else None
        yield logits, known, excluded, newest


class FromStartingPoint(keras.callbacks.EarlyStopping):
    """Early stopping that counts the weights training started from as epoch 0.

    A warm-started model begins where the latest blessed model was; an epoch that does
    not beat that starting point's ``initial`` score is no reason to keep it, so when none
    does, the starting weights are restored (as the best epoch's would be).
    """

    def __init__(self, initial: float, **kwargs):
        super().__init__(**kwargs)
        self.initial = initial

    def on_train_begin(self, logs=None) -> None:
        super().on_train_begin(logs)
        self.best = self.initial
        self.best_weights = self.model.get_weights()
        self.best_epoch = -1


class TimeBudget(keras.callbacks.Callback):
    """Ends training once ``minutes`` of it have passed (None: no budget).

    Checked after every batch, so the budget holds however long an epoch is; the epoch it
    ends is still evaluated, and early stopping keeps the best epoch so far.
    """

    def __init__(self, minutes: float | None):
        super().__init__()
        self.minutes = minutes
        self.exhausted_at_epoch: int | None = None
        self._start = time.monotonic()
        self._epoch = 0

    def on_train_begin(self, logs=None) -> None:
        self._start = time.monotonic()

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        if self.minutes is None:
            return
        exhausted = time.monotonic() - self._start > 60 * self.minutes
        # Workers' clocks differ: one stopping a step before the others would leave them
        # waiting on its gradients forever, so the decision is agreed (any worker's budget
        # spent ends training on all; no collective in one process).
        if distribution.agreed(self.model.distribute_strategy, exhausted):
            self.exhausted_at_epoch = self._epoch
            self.model.stop_training = True


class TrainingLog(keras.callbacks.Callback):
    """Per-epoch figures and how training ended (components.contracts.training_log)."""

    def __init__(
        self,
        monitor: str,
        early_stopping: keras.callbacks.EarlyStopping,
        budget: TimeBudget,
        initial: float | None = None,
    ):
        super().__init__()
        self.initial = initial  # the starting weights' score (warm start), epoch 0
        self.monitor = monitor
        self.early_stopping = early_stopping
        self.budget = budget
        self.epochs: list[dict[str, float]] = []
        self._start = time.monotonic()

    def on_train_begin(self, logs=None) -> None:
        self._start = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        figures = {k: float(v) for k, v in (logs or {}).items() if np.isscalar(v)}
        figures["seconds"] = round(time.monotonic() - self._start, 1)
        self.epochs.append({"epoch": epoch + 1, **figures})
        logging.getLogger(names.PROGRESS_LOGGER).info(
            "epoch %d: loss %.4f, eval %s %.4f (%.0f s so far)",
            epoch + 1,
            figures.get("loss", float("nan")),
            self.monitor.removeprefix("val_"),
            figures.get(self.monitor, float("nan")),
            figures["seconds"],
        )

    def summary(self) -> dict:
        scores = [e.get(self.monitor, float("nan")) for e in self.epochs]
        best = int(np.nanargmax(scores)) if self.epochs and not np.all(np.isnan(scores)) else None
        if self.initial is not None and (best is None or not scores[best] > self.initial):
            best = -1  # no epoch beat the starting weights, which FromStartingPoint restores
        if self.budget.exhausted_at_epoch is not None:
            ended = "time_budget"
        elif self.early_stopping.stopped_epoch:
            ended = "early_stopping"
        else:
            ended = "max_epochs"
        return {
            "monitor": self.monitor,
            "epochs_trained": len(self.epochs),
            "best_epoch": best + 1 if best is not None else None,
            "best": (self.initial if best == -1 else scores[best]) if best is not None else None,
            "initial": self.initial,
            "ended_by": ended,
            "train_seconds": self.epochs[-1]["seconds"] if self.epochs else 0.0,
            "epochs": self.epochs,
        }

    def write(self, folder: str, **settings) -> None:
        """The summary, with the ``settings`` training resolved (e.g. the batch size)."""
        training_log.TrainingLog(**self.summary(), settings=settings).write(folder)


def read_training_log(model_run_uri: str) -> dict:
    """What ``TrainingLog.write`` wrote in the Trainer's model-run folder, as one dict."""
    return training_log.TrainingLog.read(model_run_uri).to_json()
