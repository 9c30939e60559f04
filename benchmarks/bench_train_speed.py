"""Training speed of the sequence layout on this CPU: positions per second of the pipeline's
own model and training step, one variant at a time, side by side.

    python -m benchmarks.bench_train_speed [--config transformer_id] [--encoder HSTU]
        [--length 10] [--movies 3706] [--steps 60] [--variants base,xla,bf16,batch512,...]

The data are synthetic sequences of ML-1M's shape (``--movies`` Zipf-distributed ids,
``--length`` per piece); only speed is measured here (quality: bench_quality). Each variant
builds a fresh Recommender, runs ``--warmup`` steps (tracing, XLA compilation), then times
``--steps`` steps. A variant is a set of hyper-parameters or of the trainer's switches:

* base: the defaults (batch 128).
* xla: the train step compiled by XLA (``jit_compile``).
* bf16: Keras' mixed_bfloat16 policy (bfloat16 compute, float32 weights); this CPU's
  AVX512_BF16 runs it natively.
* batchN: batch N instead of 128.
* sampledN: sampled softmax with N log-uniform negatives instead of the full softmax.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import tensorflow as tf

from components.model import sequence_training
from components.model.hparams import HParams
from components.model.recommender import Recommender
from configs import input_config
from pipeline import options

keras = tf.keras
DEFAULT_VARIANTS = "base,xla,bf16,batch512,sampled1024"


def synthetic_sequences(movies: int, length: int, count: int, seed: int = 0):
    """``count`` pieces of ``length`` Zipf-distributed movie rows, targets the next row."""
    rng = np.random.default_rng(seed)
    rows = np.minimum(rng.zipf(1.2, size=(count, length + 1)), movies) + 1
    return rows[:, :-1].astype(np.int32), rows[:, 1:].astype(np.int32)


def variant_hparams(variant: str, base: HParams) -> HParams:
    values = base.to_dict()
    if variant.startswith("batch"):
        values["batch_size"] = int(variant.removeprefix("batch"))
    if variant.startswith("sampled"):
        values.update(loss="sampled_softmax", num_sampled=int(variant.removeprefix("sampled")))
    return HParams.from_dict(values)


def measure(args, variant: str) -> dict:
    keras.backend.clear_session()
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if variant == "bf16" else "float32")
    config = input_config.load(args.config)
    if args.encoder:
        config = input_config.parse(input_config.with_encoder(config, args.encoder))
    input_config.movie_feature(config).feature_length = args.length
    base = HParams.from_dict(dict(options.parse_hparam(item) for item in args.hparam))
    hparams = variant_hparams(variant, HParams.from_dict({**base.to_dict(), "batch_size": 128}))
    hparams = hparams.for_config(config)
    model = Recommender(config, {"movie_id": args.movies}, hparams)
    name = input_config.movie_feature(config).feature_name
    inputs, targets = synthetic_sequences(
        args.movies, args.length, hparams.batch_size * (args.warmup + args.steps)
    )
    steps = args.warmup + args.steps
    hparams = HParams.from_dict({**hparams.to_dict(), "epochs": 1, "train_steps": steps})
    timer = StepTimer(args.warmup)
    sequence_training.fit_sequences(
        model,
        sequence_training.in_memory_dataset({name: inputs}, targets, hparams),
        hparams,
        verbose=0,
        callbacks=[timer],
        jit_compile=variant == "xla",
    )
    keras.mixed_precision.set_global_policy("float32")
    positions = hparams.batch_size * args.length * args.steps
    return {
        "variant": variant,
        "batch": hparams.batch_size,
        "positions_per_s": positions / timer.seconds,
        "ms_per_step": 1000 * timer.seconds / args.steps,
    }


class StepTimer(keras.callbacks.Callback):
    """Wall seconds of the training batches after the first ``warmup`` ones."""

    def __init__(self, warmup: int):
        super().__init__()
        self.warmup = warmup
        self.seconds = 0.0
        self._start = None

    def on_train_batch_begin(self, batch: int, logs=None) -> None:
        if batch == self.warmup:
            self._start = time.perf_counter()

    def on_train_end(self, logs=None) -> None:
        self.seconds = time.perf_counter() - self._start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="transformer_id")
    parser.add_argument("--encoder", help="another encoder type for the config, e.g. HSTU")
    parser.add_argument("--length", type=int, default=10)
    parser.add_argument("--movies", type=int, default=3706)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--variants", default=DEFAULT_VARIANTS)
    parser.add_argument("--hparam", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    print(f"{args.config} {args.encoder or ''} length {args.length}, {args.movies} movies")
    base = None
    for variant in args.variants.split(","):
        try:
            row = measure(args, variant)
        except Exception as error:  # a variant that cannot run is a finding, not a crash
            print(f"{variant:<14} failed: {str(error).splitlines()[0][:120]}")
            continue
        base = base or row["positions_per_s"]
        print(
            f"{variant:<14} batch {row['batch']:>4}  {row['positions_per_s']:>9,.0f} positions/s"
            f"  {row['ms_per_step']:7.1f} ms/step  x{row['positions_per_s'] / base:.2f}"
        )


if __name__ == "__main__":
    main()
