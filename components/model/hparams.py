"""Training hyper-parameters (the Trainer's ``custom_config["hparams"]``)."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class HParams:
    batch_size: int = 256
    learning_rate: float = 0.005
    optimizer: str = "adam"  # adam | adagrad | sgd
    epochs: int = 3
    # When set, train this many steps (the data repeats) instead of ``epochs`` passes.
    train_steps: int | None = None
    gradient_clip_norm: float = 1.0
    hidden_layer_dims: tuple[int, ...] = (64,)
    conv_num_filter_ratios: tuple[float, ...] = (2.0, 4.0)  # filters = ratio x input dim
    conv_kernel_size: int = 4
    # Position-weighted sums of the newest activities beside the max-pooled convolutions.
    conv_recency_filters: int = 2
    lstm_num_units: int = 32
    transformer_layers: int = 2
    transformer_heads: int = 2
    dropout: float = 0.1
    # Score movies with the history's own movie embedding table instead of a separate label
    # table (SASRec does): half the movie parameters, and every movie's row learns both as
    # context and as target. Needs a context feature with the label's vocab and size.
    tie_embeddings: bool = False
    # softmax: full cross-entropy over the vocabulary. sampled_softmax: log-uniform
    # negatives (the vocabulary is sorted by frequency). in_batch: the batch's other labels
    # as negatives. Both sampled losses subtract log Q(negative) to correct the sampling.
    # windows: one example per label (every encoder). sequences: each user's training
    # timeline in pieces with a loss at every position (one activity group, no globals).
    training_layout: str = "windows"
    loss: str = "softmax"
    num_sampled: int = 1024
    num_predictions: int = 10  # K of the exported top-K signatures
    eval_top_k: tuple[int, ...] = (1, 5, 10)
    seed: int = 42

    LOSSES = ("softmax", "sampled_softmax", "in_batch")
    LAYOUTS = ("windows", "sequences")
    OPTIMIZERS = ("adam", "adagrad", "sgd")

    def __post_init__(self) -> None:
        if self.loss not in self.LOSSES:
            raise ValueError(f"loss must be one of {self.LOSSES}, got {self.loss!r}")
        if self.training_layout not in self.LAYOUTS:
            raise ValueError(f"training_layout must be one of {self.LAYOUTS}")
        if self.optimizer not in self.OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {self.OPTIMIZERS}, got {self.optimizer!r}")
        if self.batch_size < 1 or self.epochs < 1 or self.num_predictions < 1:
            raise ValueError("batch_size, epochs and num_predictions must be positive")

    @property
    def steps_per_epoch(self) -> int | None:
        """Batches per epoch when ``train_steps`` is set (the data repeats), else None."""
        return max(1, self.train_steps // self.epochs) if self.train_steps else None

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> HParams:
        """Builds HParams from JSON-like values, naming any unknown key."""
        values = dict(values or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown hyper-parameters {unknown}; known: {sorted(known)}")
        for field in dataclasses.fields(cls):
            if field.name in values and str(field.type).startswith("tuple"):
                values[field.name] = tuple(values[field.name])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }
