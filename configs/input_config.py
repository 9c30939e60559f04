"""Loading and validating the input config (configs/*.pbtxt).

Every stage reads the config through :func:`load`, so an invalid config fails before any
data is read, with a message naming the offending feature.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from google.protobuf import text_format

from configs import features as raw
from configs import input_config_pb2 as pb

CONFIG_DIR = os.path.dirname(os.path.abspath(__file__))
InputConfig = pb.InputConfig
Feature = pb.Feature
FeatureGroup = pb.FeatureGroup

_KIND_TO_TYPE = {raw.Kind.INT: pb.INT, raw.Kind.FLOAT: pb.FLOAT, raw.Kind.STRING: pb.STRING}
# How many watched movies the on-device signature excludes itself. Its cost grows with the
# length, not with the real history: about 0.02 ms per 1,000 on one core, a fifth of the
# best model's call at 1,024 (docs/benchmarks.md). 512 covers 94% of ML-1M's users whole
# (369 of 6,040 have more); for longer histories the client excludes the older movies it
# finds on top in a second call (components/export/on_device_model.py), so every user's
# ranking is exact.
DEFAULT_EXCLUDED_MOVIES_LENGTH = 512
ENCODER_NAMES = tuple(v.name for v in pb.EncoderType.DESCRIPTOR.values if v.number)


class ConfigError(ValueError):
    """The input config is not usable; the message says which feature and why."""


def parse(text: str, source: str = "<text>") -> pb.InputConfig:
    """Parses and validates an InputConfig text proto."""
    config = pb.InputConfig()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as error:
        raise ConfigError(f"{source}: not a valid InputConfig text proto: {error}") from None
    validate(config, source)
    return config


def read_text(path: str) -> str:
    """Returns a config file's text; a bare name is looked up in configs/."""
    candidates = [path, os.path.join(CONFIG_DIR, path), os.path.join(CONFIG_DIR, path + ".pbtxt")]
    for candidate in candidates:
        if os.path.isfile(candidate):
            with open(candidate, encoding="utf-8") as handle:
                return handle.read()
    available = sorted(f for f in os.listdir(CONFIG_DIR) if f.endswith(".pbtxt"))
    raise ConfigError(f"Input config {path!r} not found. Configs in configs/: {available}")


def load(path: str) -> pb.InputConfig:
    return parse(read_text(path), path)


def with_encoder(config: pb.InputConfig, encoder: str) -> str:
    """The config's text with every activity group's encoder_type set to ``encoder``."""
    changed = pb.InputConfig()
    changed.CopyFrom(config)
    for group in changed.activity_feature_groups:
        group.encoder_type = pb.EncoderType.Value(encoder)
    return text_format.MessageToString(changed)


def activity_features(config: pb.InputConfig) -> Iterator[pb.Feature]:
    for group in config.activity_feature_groups:
        yield from group.features


def global_features(config: pb.InputConfig) -> Iterator[pb.Feature]:
    for group in config.global_feature_groups:
        yield from group.features


def input_features(config: pb.InputConfig) -> Iterator[pb.Feature]:
    """Every context-side feature, activity groups first, in config order."""
    yield from activity_features(config)
    yield from global_features(config)


def all_features(config: pb.InputConfig) -> Iterator[pb.Feature]:
    yield from input_features(config)
    yield config.label_feature


def context_length(config: pb.InputConfig) -> int:
    """How many recent movies ExampleGen must keep: the longest per-movie sequence feature."""
    lengths = [
        f.feature_length
        for f in activity_features(config)
        if raw.RAW_FEATURES[f.feature_name].shape == raw.Shape.PER_CONTEXT_MOVIE
    ]
    return max(lengths, default=1)


def movie_feature(config: pb.InputConfig) -> pb.Feature:
    """The history's movie ids: the activity feature that shares the label's vocabulary."""
    return next(f for f in activity_features(config) if f.feature_name == raw.CONTEXT_MOVIE_ID)


def excluded_movies_length(config: pb.InputConfig) -> int:
    """How many watched movies ``recommend_unseen`` takes to exclude (its input's length)."""
    return config.excluded_movies_length or DEFAULT_EXCLUDED_MOVIES_LENGTH


def vocabularies(config: pb.InputConfig) -> dict[str, list[pb.Feature]]:
    """Vocabulary name -> the features that share it."""
    shared: dict[str, list[pb.Feature]] = {}
    for feature in all_features(config):
        if feature.vocab_name:
            shared.setdefault(feature.vocab_name, []).append(feature)
    return shared


def needs_user_features(config: pb.InputConfig) -> bool:
    return any(raw.RAW_FEATURES[f.feature_name].user_feature for f in global_features(config))


def _check_feature(feature: pb.Feature, where: str, problems: list[str]) -> None:
    name = feature.feature_name
    spec = raw.RAW_FEATURES.get(name)
    if spec is None:
        problems.append(
            f"{where}: unknown feature {name!r}; ExampleGen writes {sorted(raw.RAW_FEATURES)}"
        )
        return
    expected_type = _KIND_TO_TYPE[spec.kind]
    if feature.feature_type != expected_type:
        problems.append(
            f"{where}: {name} has feature_type {pb.FeatureType.Name(feature.feature_type)}, "
            f"but ExampleGen writes it as {pb.FeatureType.Name(expected_type)}"
        )
    if feature.feature_length <= 0:
        problems.append(f"{where}: {name} needs feature_length > 0")
    if feature.feature_type == pb.FLOAT:
        if feature.vocab_name:
            problems.append(f"{where}: FLOAT feature {name} cannot have a vocabulary")
    else:
        if not feature.vocab_name:
            problems.append(f"{where}: categorical feature {name} needs a vocab_name")
        if feature.embedding_dim <= 0:
            problems.append(f"{where}: categorical feature {name} needs embedding_dim > 0")
    if feature.vocab_size < 0:
        problems.append(f"{where}: {name} has a negative vocab_size")


def validate(config: pb.InputConfig, source: str = "<config>") -> None:
    """Raises ConfigError listing every problem found in the config."""
    problems: list[str] = []
    groups = [("activity", i, g) for i, g in enumerate(config.activity_feature_groups)]
    groups += [("global", i, g) for i, g in enumerate(config.global_feature_groups)]
    if not config.activity_feature_groups:
        problems.append("at least one activity_feature_group is required")
    seen: set[str] = set()
    for kind, index, group in groups:
        where = f"{kind}_feature_groups[{index}]"
        if not group.features:
            problems.append(f"{where}: has no features")
        if group.encoder_type == pb.ENCODER_TYPE_UNSPECIFIED and kind == "activity":
            problems.append(f"{where}: encoder_type is required ({', '.join(ENCODER_NAMES)})")
        lengths = {f.feature_length for f in group.features}
        if len(lengths) > 1:
            detail = ", ".join(f"{f.feature_name}={f.feature_length}" for f in group.features)
            problems.append(f"{where}: features of one group need equal feature_length ({detail})")
        for feature in group.features:
            _check_feature(feature, where, problems)
            spec = raw.RAW_FEATURES.get(feature.feature_name)
            if spec and spec.shape == raw.Shape.WHOLE_HISTORY:
                problems.append(
                    f"{where}: {feature.feature_name} is for evaluation (the movies a ranking "
                    "excludes), not a model input"
                )
            elif spec and spec.shape == raw.Shape.NEXT_MOVIES:
                problems.append(
                    f"{where}: {feature.feature_name} holds the training targets (the next "
                    "movies), not a model input"
                )
            elif spec and kind == "activity" and spec.shape == raw.Shape.SCALAR:
                problems.append(f"{where}: {feature.feature_name} is not a sequence feature")
            elif spec and kind == "global" and spec.shape != raw.Shape.SCALAR:
                problems.append(f"{where}: {feature.feature_name} is a sequence feature")
            if spec and kind == "global" and feature.feature_length != 1:
                problems.append(f"{where}: global feature {feature.feature_name} needs length 1")
            if feature.feature_name in seen:
                problems.append(f"{where}: {feature.feature_name} is declared twice")
            seen.add(feature.feature_name)
    label = config.label_feature
    if label.feature_name != raw.LABEL_MOVIE_ID:
        problems.append(f"label_feature must be {raw.LABEL_MOVIE_ID!r}, got {label.feature_name!r}")
    else:
        _check_feature(label, "label_feature", problems)
        if label.feature_length != 1:
            problems.append("label_feature needs feature_length 1 (one movie per example)")
    for vocab, members in vocabularies(config).items():
        sizes = {f.vocab_size for f in members}
        types = {f.feature_type for f in members}
        if len(sizes) > 1 or len(types) > 1:
            names = ", ".join(f"{f.feature_name}(size {f.vocab_size})" for f in members)
            problems.append(f"vocabulary {vocab!r} is declared with different sizes/types: {names}")
    movie_ids = [f for f in activity_features(config) if f.feature_name == raw.CONTEXT_MOVIE_ID]
    if not movie_ids and config.activity_feature_groups:
        problems.append(
            f"{raw.CONTEXT_MOVIE_ID} must be in an activity group: it sets how many recent "
            "movies make the history"
        )
    for kind, index, group in groups:
        if kind == "activity" and all(f.feature_type == pb.FLOAT for f in group.features):
            problems.append(
                f"activity_feature_groups[{index}] needs a categorical feature: its padding "
                "rows mark where the history starts"
            )
    if movie_ids and label.vocab_name and movie_ids[0].vocab_name != label.vocab_name:
        problems.append(
            f"{raw.CONTEXT_MOVIE_ID} and the label must share one movie vocabulary "
            f"({movie_ids[0].vocab_name!r} != {label.vocab_name!r})"
        )
    if config.excluded_movies_length < 0:
        problems.append("excluded_movies_length must be >= 0 (0: the default)")
    if problems:
        raise ConfigError(f"Invalid input config {source}:\n  - " + "\n  - ".join(problems))
