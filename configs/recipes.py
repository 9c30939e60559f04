"""Named training recipes (configs/recipes/NAME.json) and the rules that choose one for the
data a run reads.

A recipe is an input config, the hyper-parameters it was measured with and what it was
measured at. ``--recipe auto`` (the runners' default) chooses by the data's number of
ratings, and scales what depends on size: the training budget and the overlap of the
training pieces (docs/benchmarks.md, "The default recipe"). Flags given by the user
(``--config``, ``--hparam``) win over the recipe's.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from configs.input_config import CONFIG_DIR, ConfigError

RECIPE_DIR = os.path.join(CONFIG_DIR, "recipes")
AUTO = "auto"
COMPACT, HSTU = "compact", "hstu"
# Below this many ratings the compact recipe: data of this size (a test set, a new app) has
# few long histories for a 50-movie model to learn from, and trains in seconds.
COMPACT_MAX_RATINGS = 20_000
# The training budget: BUDGET_MINUTES_PER_MILLION per million ratings, within the bounds
# (ML-1M: 24 minutes, where the Trainer converged in 19 on 2 cores; ML-25M's shape:
# 120, so that the whole run stays within 3 hours).
BUDGET_MINUTES_PER_MILLION = 24.0
MIN_BUDGET_MINUTES, MAX_BUDGET_MINUTES = 24.0, 120.0
# Up to this many ratings the pieces overlap by half their length (every target has at
# least half a history of context, at twice the encoder's work); beyond, they do not.
OVERLAP_MAX_RATINGS = 2_000_000


@dataclasses.dataclass(frozen=True)
class Recipe:
    name: str
    summary: str
    input_config: str  # a config name in configs/
    hparams: dict[str, Any]
    measured: tuple[str, ...] = ()
    # Why ``auto`` chose it (empty when named by the user).
    reason: str = ""


def names() -> list[str]:
    return sorted(f.removesuffix(".json") for f in os.listdir(RECIPE_DIR) if f.endswith(".json"))


def load(name: str) -> Recipe:
    """The recipe file ``configs/recipes/NAME.json``; ConfigError naming the known ones."""
    path = os.path.join(RECIPE_DIR, f"{name}.json")
    if not os.path.isfile(path):
        raise ConfigError(f"recipe {name!r} not found; recipes: {[AUTO, *names()]}")
    with open(path, encoding="utf-8") as handle:
        values = json.load(handle)
    return Recipe(
        name=name,
        summary=values["summary"],
        input_config=values["input_config"],
        hparams=dict(values.get("hparams", {})),
        measured=tuple(values.get("measured", ())),
    )


def for_data(ratings: int | None) -> Recipe:
    """The recipe ``auto`` chooses for data of ``ratings`` ratings (None: not known before
    the run, e.g. data on gs://: the recipe for ML-1M-sized data and larger, budget at the
    least)."""
    if ratings is not None and ratings < COMPACT_MAX_RATINGS:
        recipe = load(COMPACT)
        return dataclasses.replace(
            recipe, reason=f"{ratings:,} ratings, fewer than {COMPACT_MAX_RATINGS:,}"
        )
    recipe = load(HSTU)
    hparams = dict(recipe.hparams)
    millions = (ratings or 0) / 1e6
    budget = BUDGET_MINUTES_PER_MILLION * millions
    hparams["train_minutes"] = round(min(MAX_BUDGET_MINUTES, max(MIN_BUDGET_MINUTES, budget)), 1)
    if ratings is not None and ratings > OVERLAP_MAX_RATINGS:
        hparams["sequence_stride"] = 0  # pieces of the whole history length, no overlap
    size = "an unknown number of ratings" if ratings is None else f"{ratings:,} ratings"
    reason = (
        f"{size}: training budget {hparams['train_minutes']:g} min, "
        f"pieces {'without' if hparams.get('sequence_stride') == 0 else 'with'} overlap"
    )
    return dataclasses.replace(recipe, hparams=hparams, reason=reason)


def resolve(name: str, ratings: int | None) -> Recipe:
    """``name`` loaded, or chosen by the data's size for ``auto``."""
    return for_data(ratings) if name == AUTO else load(name)
