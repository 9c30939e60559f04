"""Training hyper-parameters (the Trainer's ``custom_config["hparams"]``).

The defaults are the project's best recipe (docs/benchmarks.md): a causal Transformer over
64-dimensional movie embeddings, trained on whole sequences with a loss at every position,
the history's embedding table scoring the candidates, and as many epochs as the eval split's
HR@K keeps improving (early stopping, best weights restored). "auto" values follow the input
config: the sequence layout and tied embeddings wherever the config allows them.

:meth:`HParams.for_config` resolves them and checks every combination against the config
and the gate in one place, so that settings that cannot work fail before a run starts.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from components.evaluation import ranking
from components.example_gen import pieces
from configs import input_config
from configs.input_config_pb2 import InputConfig

AUTO = "auto"
# The "auto" batch size: a power of two in [MIN_AUTO_BATCH, MAX_AUTO_BATCH] giving at least
# STEPS_PER_EPOCH optimizer steps per epoch where the data allows.
STEPS_PER_EPOCH = 300
MIN_AUTO_BATCH, MAX_AUTO_BATCH = 32, 128
# The "auto" loss: the full softmax up to this many movies, sampled_softmax beyond
# (docs/benchmarks.md, "The auto loss": the measured step times and quality).
FULL_SOFTMAX_MAX_MOVIES = 20_000
# Left out of ``to_dict`` while off (see there).
OMITTED_WHEN_OFF = ("mixed_precision", "xla")


@dataclasses.dataclass(frozen=True)
class HParams:
    # "auto": as large as 128 while an epoch still has about 300 optimizer steps (at least
    # 32): small data sets get enough updates per epoch for early stopping to judge.
    batch_size: int | str = AUTO
    learning_rate: float = 0.002
    optimizer: str = "adam"  # adam | adagrad | sgd
    # The most passes over the training data; early stopping usually ends training sooner.
    epochs: int = 30
    # Stop after this many epochs without a better eval HR@K (0: train every epoch). The
    # weights of the best epoch are restored either way.
    early_stopping_patience: int = 4
    # On a plateau: after this many epochs without a better eval HR@K the learning rate is
    # multiplied by ``learning_rate_decay`` (1: constant). Training loss still falls when
    # eval HR@K stalls at a constant rate (docs/benchmarks.md); a smaller step then finds
    # the better epoch that early stopping would otherwise cut off.
    learning_rate_patience: int = 2
    learning_rate_decay: float = 0.5
    # A training-time budget in minutes (None: none): training stops after the epoch that
    # exhausts it, keeping the best epoch so far.
    train_minutes: float | None = None
    # When set, train this many steps (the data repeats) instead of ``epochs`` passes.
    train_steps: int | None = None
    # Start from the latest blessed model (the Trainer's base model) when there is one:
    # its embedding rows are carried over by raw value (new movies get fresh rows) and
    # every other weight of the same shape is copied. "auto": true for span data
    # (continuous training), false otherwise; the runners resolve it
    # (``with_warm_start_for``). false: always from scratch.
    warm_start: bool | str = AUTO
    # The most epochs of a warm-started training (early stopping and the time budget still
    # apply, and the base model's own weights count as epoch 0).
    warm_start_epochs: int = 3
    gradient_clip_norm: float = 1.0
    hidden_layer_dims: tuple[int, ...] = ()
    conv_num_filter_ratios: tuple[float, ...] = (2.0, 4.0)  # filters = ratio x input dim
    conv_kernel_size: int = 4
    # Position-weighted sums of the newest activities beside the max-pooled convolutions.
    conv_recency_filters: int = 2
    lstm_num_units: int = 32
    transformer_layers: int = 2
    transformer_heads: int = 2
    # HSTU (encoder_type HSTU): layers, heads, and per-head sizes of the attention (Q, K) and
    # of the values (V, U); 0 = the input size divided by the heads.
    hstu_layers: int = 2
    hstu_heads: int = 1
    hstu_attention_dim: int = 0
    hstu_linear_dim: int = 0
    dropout: float = 0.2
    # Score movies with the history's own movie embedding table instead of a separate label
    # table (SASRec does): half the movie parameters, and every movie's row learns both as
    # context and as target. Needs the context movie's embedding_dim to equal the label's.
    # "auto": tie whenever the config allows it.
    tie_embeddings: bool | str = AUTO
    # windows: one example per label (every encoder, any feature groups). sequences: each
    # user's training timeline in pieces with a loss at every position (one activity group).
    # "auto": sequences whenever the config allows it.
    training_layout: str = AUTO
    # Sequences layout: each piece starts this many activities before the next one (0: the
    # history length, no overlap). Below the length, pieces overlap and every target has at
    # least ``length - stride`` activities of context, as the served window does; the
    # encoder runs ``length / stride`` times the positions (the loss is only at targets).
    sequence_stride: int = 0
    # softmax: full cross-entropy over the vocabulary. sampled_softmax: log-uniform
    # negatives (the vocabulary is sorted by frequency). in_batch: the batch's other labels
    # as negatives. Both sampled losses subtract log Q(negative) to correct the sampling.
    # "auto": the full softmax up to FULL_SOFTMAX_MAX_MOVIES movies, sampled beyond, where
    # the full one's cost (per position, one row per movie) dominates a training step.
    loss: str = AUTO
    num_sampled: int = 1024
    # dot: a movie's score is the dot product of the context and its embedding. cosine: the
    # cosine of the two divided by ``temperature`` (HSTU's L2-normalised embeddings).
    similarity: str = "dot"
    temperature: float = 0.05
    # Add a first-order transition prior to the served scores, weighted on the eval split
    # after training (components.model.transition_prior; a weight of 0 ships none).
    transition_prior: bool = True
    num_predictions: int = ranking.DEFAULT_K  # K of the exported top-K signatures
    eval_top_k: tuple[int, ...] = ranking.TOP_KS
    seed: int = 42
    # GPU options, off by default (the CPU path is unchanged). mixed_precision: Keras'
    # mixed_bfloat16 policy (bfloat16 compute, float32 weights; the export is float32).
    # xla: the train step compiled by XLA (jit_compile).
    mixed_precision: bool = False
    xla: bool = False

    LOSSES = ("softmax", "sampled_softmax", "in_batch")
    SIMILARITIES = ("dot", "cosine")
    LAYOUTS = pieces.TRAINING_LAYOUTS
    OPTIMIZERS = ("adam", "adagrad", "sgd")

    def __post_init__(self) -> None:
        problems = self._problems()
        if problems:
            raise ValueError("Invalid hyper-parameters:\n  - " + "\n  - ".join(problems))

    def _problems(self) -> list[str]:
        """Every value that cannot work on its own, whatever the config."""
        problems = self._type_problems()
        if problems:  # the range checks below need the right types
            return problems
        if self.loss not in (*self.LOSSES, AUTO):
            problems.append(f"loss must be one of {(*self.LOSSES, AUTO)}, got {self.loss!r}")
        if self.training_layout not in (*self.LAYOUTS, AUTO):
            problems.append(
                f"training_layout must be one of {(*self.LAYOUTS, AUTO)}, "
                f"got {self.training_layout!r}"
            )
        if self.tie_embeddings not in (True, False, AUTO):
            problems.append(f"tie_embeddings must be true, false or {AUTO!r}")
        if self.similarity not in self.SIMILARITIES:
            problems.append(
                f"similarity must be one of {self.SIMILARITIES}, got {self.similarity!r}"
            )
        if self.temperature <= 0:
            problems.append(f"temperature must be positive, got {self.temperature}")
        if self.warm_start not in (True, False, AUTO):
            problems.append(f"warm_start must be true, false or {AUTO!r}")
        if self.optimizer not in self.OPTIMIZERS:
            problems.append(f"optimizer must be one of {self.OPTIMIZERS}, got {self.optimizer!r}")
        positive = ("epochs", "warm_start_epochs", "num_predictions", "num_sampled")
        positive += () if self.batch_size == AUTO else ("batch_size",)
        positive += ("transformer_layers", "transformer_heads", "lstm_num_units")
        positive += ("hstu_layers", "hstu_heads", "learning_rate_patience")
        for name in positive:
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("hstu_attention_dim", "hstu_linear_dim", "sequence_stride"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0, got {getattr(self, name)} (0: the default)")
        if self.learning_rate < 0:
            problems.append(f"learning_rate must be >= 0, got {self.learning_rate}")
        if not 0 <= self.dropout < 1:
            problems.append(f"dropout must be in [0, 1), got {self.dropout}")
        if self.early_stopping_patience < 0:
            problems.append("early_stopping_patience must be >= 0 (0: no early stopping)")
        if not 0 < self.learning_rate_decay <= 1:
            problems.append(
                f"learning_rate_decay must be in (0, 1] (1: constant), got "
                f"{self.learning_rate_decay}"
            )
        elif (
            self.learning_rate_decay < 1
            and 0 < self.early_stopping_patience <= self.learning_rate_patience
        ):
            problems.append(
                f"early_stopping_patience ({self.early_stopping_patience}) must exceed "
                f"learning_rate_patience ({self.learning_rate_patience}): training would stop "
                "before the smaller learning rate has an epoch"
            )
        if self.train_minutes is not None and self.train_minutes <= 0:
            problems.append(f"train_minutes must be positive, got {self.train_minutes}")
        if self.train_steps is not None and self.train_steps < 1:
            problems.append(f"train_steps must be at least 1, got {self.train_steps}")
        if any(units < 1 for units in self.hidden_layer_dims):
            problems.append(f"hidden_layer_dims must be positive, got {self.hidden_layer_dims}")
        if not self.eval_top_k or min(self.eval_top_k) < 1:
            problems.append(f"eval_top_k must list positive Ks, got {self.eval_top_k}")
        return problems

    def _type_problems(self) -> list[str]:
        problems = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            kind = str(field.type)
            if (value is None and "None" in kind) or (value == AUTO and "str" in kind):
                continue  # None or "auto" where allowed
            if kind == "bool | str":
                continue  # tie_embeddings and warm_start are checked by value
            if kind.startswith("int"):
                ok = isinstance(value, int) and not isinstance(value, bool)
            elif kind.startswith("float"):
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            elif kind.startswith("tuple"):
                ok = isinstance(value, tuple) and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
                )
            elif kind.startswith("bool"):
                ok = isinstance(value, bool)
            else:
                ok = isinstance(value, str)
            if not ok:
                problems.append(f"{field.name} must be {kind}, got {value!r}")
        return problems

    def with_batch_size_for(self, examples: int) -> HParams:
        """These hyper-parameters with an "auto" batch size chosen for ``examples``
        training examples (sequences or windows)."""
        if self.batch_size != AUTO:
            return self
        size = 2 ** int(math.log2(max(examples // STEPS_PER_EPOCH, 1)))
        return dataclasses.replace(self, batch_size=min(MAX_AUTO_BATCH, max(MIN_AUTO_BATCH, size)))

    def with_loss_for(self, movies: int) -> HParams:
        """``loss="auto"`` resolved for a vocabulary of ``movies`` movies."""
        if self.loss != AUTO:
            return self
        full = movies <= FULL_SOFTMAX_MAX_MOVIES
        return dataclasses.replace(self, loss="softmax" if full else "sampled_softmax")

    def with_warm_start_for(self, spans: bool) -> HParams:
        """``warm_start="auto"`` resolved: warm-start continuous training on span data;
        data without spans trains from scratch, as it always did."""
        if self.warm_start != AUTO:
            return self
        return dataclasses.replace(self, warm_start=spans)

    def for_warm_start(self) -> HParams:
        """These hyper-parameters for a training that starts from a base model: at most
        ``warm_start_epochs`` epochs (``train_steps`` scaled down alike)."""
        steps = self.train_steps
        if steps:
            steps = max(1, steps * min(self.warm_start_epochs, self.epochs) // self.epochs)
        return dataclasses.replace(
            self, epochs=min(self.warm_start_epochs, self.epochs), train_steps=steps
        )

    @property
    def steps_per_epoch(self) -> int | None:
        """Batches per epoch when ``train_steps`` is set (the data repeats), else None."""
        return max(1, self.train_steps // self.epochs) if self.train_steps else None

    def for_config(self, config: InputConfig, gate_k: int | None = None) -> HParams:
        """These hyper-parameters with "auto" resolved for ``config``; raises ValueError
        naming every combination with the config (and the gate's K) that cannot work."""
        problems = []
        groups = len(config.activity_feature_groups)
        layout = self.training_layout
        if layout == AUTO:
            layout = pieces.SEQUENCES if groups == 1 else pieces.WINDOWS
        elif layout == pieces.SEQUENCES and groups != 1:
            problems.append(
                f'training_layout="sequences" needs exactly one activity feature group (the '
                f"input config has {groups}): a second group, such as the flattened genres, "
                'has no value per activity. Use training_layout="windows".'
            )
        length = input_config.movie_feature(config).feature_length
        if self.sequence_stride > length:
            problems.append(
                f"sequence_stride ({self.sequence_stride}) must be at most the history length "
                f"({length})"
            )
        movie_dim = input_config.movie_feature(config).embedding_dim
        label_dim = config.label_feature.embedding_dim
        tie = self.tie_embeddings
        if tie == AUTO:
            tie = movie_dim == label_dim
        elif tie and movie_dim != label_dim:
            problems.append(
                f"tie_embeddings needs the context movie's embedding_dim ({movie_dim}) to "
                f"equal the label's ({label_dim})"
            )
        if gate_k is not None and self.num_predictions < gate_k:
            problems.append(
                f"num_predictions ({self.num_predictions}) must be at least the gate's K "
                f"({gate_k}): recall@{gate_k} needs {gate_k} predictions"
            )
        if problems:
            raise ValueError("Invalid hyper-parameters:\n  - " + "\n  - ".join(problems))
        return dataclasses.replace(self, training_layout=layout, tie_embeddings=tie)

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
        """JSON-like values; the GPU options only when on, so that a run without them keeps
        the compiled jobs and TFX cache keys it had before they existed."""
        return {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(self).items()
            if not (k in OMITTED_WHEN_OFF and v is False)
        }
