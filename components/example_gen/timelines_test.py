"""Tests for components.example_gen.timelines: ordering, filters, splits and tf.Examples.

``make_example`` below is the definition of one example, written plainly: the oracle for the
fast column encoder. ``timelines.timeline_examples`` builds the same examples as numpy
columns encoded in C++; tests check that both agree at every position.
"""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest
import tensorflow as tf

from components.data_formats.movielens.validation import Movie, Rating, Reason, User
from components.example_gen import pieces
from components.example_gen import timelines as tl
from configs import features as raw


def rating(movie: int, timestamp: int, line_no: int, stars: float = 4.0, user: int = 1) -> Rating:
    return Rating(user, movie, stars, timestamp, line_no)


def settings(**kwargs) -> tl.ExampleSettings:
    split = kwargs.pop("split", tl.SplitSettings())
    return tl.ExampleSettings(split=split, **kwargs)


def values(example: tf.train.Example, name: str) -> list:
    feature = example.features.feature[name]
    kind = feature.WhichOneof("kind")
    return list(getattr(feature, kind).value) if kind else []


def movie_ids(timeline: tl.Timeline) -> list[int]:
    return [r.movie_id for r in timeline.ratings]


# --- build_timeline ------------------------------------------------------------------------


def test_timestamp_ties_keep_file_order():
    given = [
        rating(1, timestamp=100, line_no=5),
        rating(2, timestamp=100, line_no=3),
        rating(3, timestamp=50, line_no=9),
        rating(4, timestamp=100, line_no=4),
        rating(5, timestamp=200, line_no=1),
    ]
    timeline, outcomes = tl.build_timeline(1, given, settings(min_timeline_length=2))
    assert timeline.user_id == 1
    assert movie_ids(timeline) == [3, 2, 4, 1, 5]
    assert outcomes == Counter()


def test_duplicate_user_movie_keeps_the_first_line():
    given = [
        rating(7, timestamp=100, line_no=8, stars=1.0),  # later line, earlier timestamp
        rating(8, timestamp=150, line_no=5),
        rating(7, timestamp=300, line_no=2, stars=5.0),  # first line in the file
        rating(9, timestamp=200, line_no=6),
        rating(7, timestamp=50, line_no=9, stars=3.0),
    ]
    timeline, outcomes = tl.build_timeline(1, given, settings(min_timeline_length=2))
    assert movie_ids(timeline) == [8, 9, 7]
    kept = timeline.ratings[-1]
    assert (kept.line_no, kept.rating, kept.timestamp) == (2, 5.0, 300)
    assert outcomes == Counter({Reason.DUPLICATE: 2})


def test_min_rating_filter_counts_below_min_rating():
    given = [
        rating(1, 10, 1, stars=2.5),
        rating(2, 20, 2, stars=3.0),  # equal to the minimum: kept
        rating(3, 30, 3, stars=4.5),
        rating(4, 40, 4, stars=0.5),
        rating(5, 50, 5, stars=5.0),
    ]
    timeline, outcomes = tl.build_timeline(
        1, given, settings(min_rating=3.0, min_timeline_length=2)
    )
    assert movie_ids(timeline) == [2, 3, 5]
    assert outcomes == Counter({Reason.BELOW_MIN_RATING: 2})


def test_duplicate_of_a_filtered_rating_is_still_a_duplicate():
    given = [rating(1, 10, 1, stars=1.0), rating(1, 20, 2, stars=5.0), rating(2, 30, 3)]
    given.append(rating(3, 40, 4))
    timeline, outcomes = tl.build_timeline(
        1, given, settings(min_rating=3.0, min_timeline_length=2)
    )
    assert movie_ids(timeline) == [2, 3]
    assert outcomes == Counter({Reason.BELOW_MIN_RATING: 1, Reason.DUPLICATE: 1})


def test_short_timeline_counts_every_kept_rating():
    given = [rating(1, 10, 1), rating(2, 20, 2), rating(1, 30, 3), rating(3, 40, 4, stars=1.0)]
    timeline, outcomes = tl.build_timeline(
        1, given, settings(min_rating=2.0, min_timeline_length=3)
    )
    assert timeline is None
    assert outcomes == Counter(
        {Reason.SHORT_TIMELINE: 2, Reason.DUPLICATE: 1, Reason.BELOW_MIN_RATING: 1}
    )


def test_a_single_rating_is_always_too_short():
    timeline, outcomes = tl.build_timeline(1, [rating(1, 10, 1)], settings(min_timeline_length=1))
    assert timeline is None
    assert outcomes == Counter({Reason.SHORT_TIMELINE: 1})


def test_timeline_of_exactly_min_length_is_kept():
    given = [rating(m, 10 * m, m) for m in (1, 2, 3)]
    timeline, outcomes = tl.build_timeline(1, given, settings(min_timeline_length=3))
    assert movie_ids(timeline) == [1, 2, 3]
    assert outcomes == Counter()


def test_accepted_plus_counted_equals_input():
    rng = random.Random(7)
    by_user: dict[int, list[Rating]] = {}
    for line_no in range(1, 801):
        user = rng.randrange(40)
        movie = rng.randrange(25)  # small pool -> many duplicates
        stars = rng.choice([0.5, 1.0, 2.0, 3.0, 3.5, 4.0, 5.0])
        by_user.setdefault(user, []).append(
            Rating(user, movie, stars, rng.randrange(1000), line_no)
        )
    # Two users with too few ratings.
    by_user[100] = [Rating(100, m, 4.0, 5, 800 + m) for m in (1, 2, 1)]
    by_user[101] = [Rating(101, m, 4.0, 5, 803 + m) for m in (1, 2, 3)]
    example_settings = settings(min_rating=2.0, min_timeline_length=5)
    totals: Counter = Counter()
    accepted = 0
    for user, ratings in by_user.items():
        rng.shuffle(ratings)
        timeline, outcomes = tl.build_timeline(user, ratings, example_settings)
        kept = len(timeline.ratings) if timeline else 0
        assert kept + sum(outcomes.values()) == len(ratings)
        if timeline:
            stamps = [(r.timestamp, r.line_no) for r in timeline.ratings]
            assert stamps == sorted(stamps)
            assert len(set(movie_ids(timeline))) == kept
            assert all(r.rating >= 2.0 for r in timeline.ratings)
        accepted += kept
        totals += outcomes
    assert accepted + sum(totals.values()) == 806
    # The fixture exercises every filter.
    assert {Reason.DUPLICATE, Reason.BELOW_MIN_RATING, Reason.SHORT_TIMELINE} <= set(totals)
    assert accepted > 0


# --- splits --------------------------------------------------------------------------------


def make_timeline(user_id: int, n: int, start: int = 0) -> tl.Timeline:
    return tl.Timeline(
        user_id, [rating(100 + i, start + 10 * i, i + 1, user=user_id) for i in range(n)]
    )


def movies_for(timeline: tl.Timeline) -> dict[int, Movie]:
    return {
        r.movie_id: Movie(r.movie_id, f"Movie {r.movie_id} (1990)", 1990, ("Drama",))
        for r in timeline.ratings
    }


@pytest.mark.parametrize("n", [2, 3, 4, 9])
def test_leave_last_out_splits_by_label_position(n):
    timeline = make_timeline(5, n)
    example_settings = settings(max_context_length=3)
    emitted = list(tl.timeline_examples(timeline, movies_for(timeline), None, example_settings))
    assert len(emitted) == n - 1
    by_split: dict[str, list[tf.train.Example]] = {s: [] for s in tl.SPLITS}
    for split, serialized in emitted:
        by_split[split].append(tf.train.Example.FromString(serialized))
    positions = {
        s: [values(e, raw.HISTORY_LENGTH)[0] for e in examples] for s, examples in by_split.items()
    }
    assert positions[tl.TEST] == [n - 1]
    assert positions[tl.EVAL] == ([n - 2] if n >= 3 else [])
    assert positions[tl.TRAIN] == list(range(1, n - 2))
    labels = {
        s: {values(e, raw.LABEL_MOVIE_ID)[0] for e in examples} for s, examples in by_split.items()
    }
    held_out = labels[tl.EVAL] | labels[tl.TEST]
    assert held_out == {timeline.ratings[p].movie_id for p in range(max(1, n - 2), n)}
    assert not labels[tl.TRAIN] & held_out


def test_leave_last_out_holds_out_each_users_own_last_labels():
    split = tl.SplitSettings()
    for user_id, n in [(1, 3), (2, 5), (3, 12)]:
        timeline = make_timeline(user_id, n)
        assigned = [tl.assign_split(timeline, p, split) for p in range(1, n)]
        assert assigned[-1] == tl.TEST
        assert assigned[-2] == tl.EVAL
        assert set(assigned[:-2]) <= {tl.TRAIN}
        train_labels = {
            timeline.ratings[p].movie_id for p in range(1, n) if assigned[p - 1] == tl.TRAIN
        }
        assert timeline.ratings[-1].movie_id not in train_labels
        assert timeline.ratings[-2].movie_id not in train_labels


def random_assignments(seed: int) -> list[str]:
    split = tl.SplitSettings(kind="random", seed=seed)
    return [
        tl.assign_split(tl.Timeline(user_id, []), position, split)
        for user_id in range(200)
        for position in range(1, 101)
    ]


def test_random_split_is_deterministic_per_seed_and_near_its_fractions():
    first = random_assignments(42)
    assert random_assignments(42) == first
    other = random_assignments(43)
    differing = sum(a != b for a, b in zip(first, other, strict=True))
    assert differing > 0.05 * len(first)
    counts = Counter(first)
    total = len(first)
    assert counts[tl.TRAIN] / total == pytest.approx(0.9, abs=0.01)
    assert counts[tl.EVAL] / total == pytest.approx(0.05, abs=0.01)
    assert counts[tl.TEST] / total == pytest.approx(0.05, abs=0.01)


def test_random_split_respects_custom_fractions():
    split = tl.SplitSettings(kind="random", seed=1, train_fraction=0.5, eval_fraction=0.3)
    counts = Counter(
        tl.assign_split(tl.Timeline(u, []), p, split) for u in range(100) for p in range(1, 101)
    )
    assert counts[tl.TRAIN] / 10000 == pytest.approx(0.5, abs=0.02)
    assert counts[tl.EVAL] / 10000 == pytest.approx(0.3, abs=0.02)
    assert counts[tl.TEST] / 10000 == pytest.approx(0.2, abs=0.02)


def test_temporal_split_with_fixed_cutoffs():
    timeline = make_timeline(1, 6)  # timestamps 0, 10, 20, 30, 40, 50
    split = tl.SplitSettings(kind="temporal", temporal_eval_start=20, temporal_test_start=40)
    cutoffs = (20, 40)
    assigned = [tl.assign_split(timeline, p, split, cutoffs) for p in range(1, 6)]
    # Label timestamps 10, 20, 30, 40, 50; each cut-off belongs to the later split.
    assert assigned == [tl.TRAIN, tl.EVAL, tl.EVAL, tl.TEST, tl.TEST]
    emitted = tl.timeline_examples(
        timeline, movies_for(timeline), None, settings(split=split), cutoffs
    )
    assert [s for s, _ in emitted] == assigned


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "by_user"},
        {"kind": "random", "train_fraction": 1.0},
        {"kind": "random", "train_fraction": 0.0},
        {"kind": "random", "train_fraction": 0.9, "eval_fraction": 0.2},
        {"kind": "temporal", "temporal_eval_quantile": 0.9, "temporal_test_quantile": 0.8},
    ],
)
def test_invalid_split_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        tl.SplitSettings(**kwargs)


# --- make_example --------------------------------------------------------------------------


def make_example(
    timeline: tl.Timeline,
    position: int,
    movies: dict[int, Movie],
    user: User | None,
    max_context_length: int,
    held_out: bool = False,
) -> tf.train.Example:
    """The example predicting ``timeline.ratings[position]`` from the ratings before it.

    Sequence features hold the most recent ``max_context_length`` context movies, oldest
    first, unpadded; Transform pads them to the lengths in the input config. A held-out
    (eval or test) example also lists every earlier movie of the user.
    """
    label = timeline.ratings[position]
    context = timeline.ratings[max(0, position - max_context_length) : position]
    context_movies = [movies[r.movie_id] for r in context]
    example = tf.train.Example()
    feature = example.features.feature
    feature[raw.USER_ID].int64_list.value.append(timeline.user_id)
    feature[raw.CONTEXT_MOVIE_ID].int64_list.value.extend([r.movie_id for r in context])
    feature[raw.CONTEXT_MOVIE_RATING].float_list.value.extend([r.rating for r in context])
    feature[raw.CONTEXT_MOVIE_YEAR].int64_list.value.extend([m.year for m in context_movies])
    feature[raw.CONTEXT_MOVIE_GENRE].bytes_list.value.extend(
        [g.encode() for m in context_movies for g in m.genres]
    )
    feature[raw.LABEL_MOVIE_ID].int64_list.value.append(label.movie_id)
    feature[raw.LABEL_TIMESTAMP].int64_list.value.append(label.timestamp)
    feature[raw.HISTORY_LENGTH].int64_list.value.append(position)
    feature[raw.HISTORY_BUCKET].bytes_list.value.append(raw.history_bucket(position).encode())
    history = timeline.ratings[:position] if held_out else []
    feature[raw.HISTORY_MOVIE_IDS].int64_list.value.extend([r.movie_id for r in history])
    if user is not None:
        feature[raw.USER_GENDER].bytes_list.value.append(user.gender.encode())
        feature[raw.USER_AGE].int64_list.value.append(user.age)
        feature[raw.USER_OCCUPATION].bytes_list.value.append(user.occupation.encode())
        feature[raw.USER_ZIP_PREFIX].bytes_list.value.append(user.zip_prefix.encode())
    return example


def test_context_is_the_most_recent_movies_oldest_first():
    ratings = [
        rating(11, 100, 1, stars=1.0),
        rating(12, 200, 2, stars=2.0),
        rating(13, 300, 3, stars=3.5),
        rating(14, 400, 4, stars=4.0),
        rating(15, 500, 5, stars=4.5),
        rating(16, 600, 6, stars=5.0),
    ]
    timeline = tl.Timeline(1, ratings)
    movies = {
        11: Movie(11, "A (1971)", 1971, ("Drama",)),
        12: Movie(12, "B (1972)", 1972, ("Comedy", "Romance")),
        13: Movie(13, "C (1973)", 1973, ()),
        14: Movie(14, "D (1974)", 1974, ("Children's", "Sci-Fi", "Action")),
        15: Movie(15, "E (1975)", 1975, ("Horror",)),
        16: Movie(16, "F (1976)", 1976, ("War",)),
    }
    example = make_example(timeline, 5, movies, None, max_context_length=3)
    assert values(example, raw.CONTEXT_MOVIE_ID) == [13, 14, 15]
    assert values(example, raw.CONTEXT_MOVIE_RATING) == [3.5, 4.0, 4.5]
    assert values(example, raw.CONTEXT_MOVIE_YEAR) == [1973, 1974, 1975]
    assert values(example, raw.CONTEXT_MOVIE_GENRE) == [
        b"Children's",
        b"Sci-Fi",
        b"Action",
        b"Horror",
    ]
    assert values(example, raw.LABEL_MOVIE_ID) == [16]
    assert values(example, raw.LABEL_TIMESTAMP) == [600]
    assert values(example, raw.HISTORY_LENGTH) == [5]  # before truncation to 3
    assert values(example, raw.USER_ID) == [1]

    exactly_full = make_example(timeline, 3, movies, None, max_context_length=3)
    assert values(exactly_full, raw.CONTEXT_MOVIE_ID) == [11, 12, 13]
    short = make_example(timeline, 2, movies, None, max_context_length=3)
    assert values(short, raw.CONTEXT_MOVIE_ID) == [11, 12]
    assert values(short, raw.CONTEXT_MOVIE_GENRE) == [b"Drama", b"Comedy", b"Romance"]
    assert values(short, raw.LABEL_MOVIE_ID) == [13]
    assert values(short, raw.HISTORY_LENGTH) == [2]


def test_zero_values_are_kept():
    ratings = [Rating(0, 0, 0.0, 0, 1), Rating(0, 7, 0.5, 0, 2), Rating(0, 8, 4.0, 1, 3)]
    timeline = tl.Timeline(0, ratings)
    movies = {
        0: Movie(0, "Untitled", 0, ()),
        7: Movie(7, "Also untitled", 0, ("Drama",)),
        8: Movie(8, "Label (2000)", 2000, ()),
    }
    user = User(0, "", 0, "0", "")
    example = make_example(timeline, 2, movies, user, max_context_length=10)
    feature = example.features.feature
    for name in (
        raw.USER_ID,
        raw.CONTEXT_MOVIE_ID,
        raw.CONTEXT_MOVIE_RATING,
        raw.CONTEXT_MOVIE_YEAR,
        raw.CONTEXT_MOVIE_GENRE,
        raw.USER_GENDER,
        raw.USER_AGE,
        raw.USER_ZIP_PREFIX,
    ):
        assert name in feature, name
    assert values(example, raw.USER_ID) == [0]
    assert values(example, raw.CONTEXT_MOVIE_ID) == [0, 7]
    assert values(example, raw.CONTEXT_MOVIE_RATING) == [0.0, 0.5]
    assert values(example, raw.CONTEXT_MOVIE_YEAR) == [0, 0]
    assert values(example, raw.CONTEXT_MOVIE_GENRE) == [b"Drama"]
    assert values(example, raw.LABEL_TIMESTAMP) == [1]
    assert values(example, raw.USER_AGE) == [0]
    assert values(example, raw.USER_GENDER) == [b""]
    # Still there after a serialization round trip.
    again = tf.train.Example.FromString(example.SerializeToString())
    assert values(again, raw.CONTEXT_MOVIE_YEAR) == [0, 0]
    assert values(again, raw.USER_ID) == [0]


def test_first_label_with_zero_label_values():
    timeline = tl.Timeline(3, [Rating(3, 5, 4.0, 0, 1), Rating(3, 0, 4.0, 0, 2)])
    movies = {5: Movie(5, "Five", 0, ()), 0: Movie(0, "Zero", 0, ())}
    example = make_example(timeline, 1, movies, None, max_context_length=10)
    assert values(example, raw.LABEL_MOVIE_ID) == [0]
    assert values(example, raw.LABEL_TIMESTAMP) == [0]
    assert values(example, raw.HISTORY_LENGTH) == [1]
    assert values(example, raw.CONTEXT_MOVIE_YEAR) == [0]


def test_user_features_only_when_a_user_is_given():
    timeline = make_timeline(1, 3)
    movies = movies_for(timeline)
    user_features = {raw.USER_GENDER, raw.USER_AGE, raw.USER_OCCUPATION, raw.USER_ZIP_PREFIX}
    without = make_example(timeline, 2, movies, None, max_context_length=10)
    assert not user_features & set(without.features.feature)
    assert set(without.features.feature) == {
        raw.USER_ID,
        raw.CONTEXT_MOVIE_ID,
        raw.CONTEXT_MOVIE_RATING,
        raw.CONTEXT_MOVIE_YEAR,
        raw.CONTEXT_MOVIE_GENRE,
        raw.LABEL_MOVIE_ID,
        raw.LABEL_TIMESTAMP,
        raw.HISTORY_LENGTH,
        raw.HISTORY_BUCKET,
        raw.HISTORY_MOVIE_IDS,
    }
    user = User(1, "F", 25, "écrivain", "480")
    with_user = make_example(timeline, 2, movies, user, max_context_length=10)
    assert values(with_user, raw.USER_GENDER) == [b"F"]
    assert values(with_user, raw.USER_AGE) == [25]
    assert values(with_user, raw.USER_OCCUPATION) == ["écrivain".encode()]
    assert values(with_user, raw.USER_ZIP_PREFIX) == [b"480"]
    # Every feature the example carries is one ExampleGen declares.
    assert set(with_user.features.feature) <= set(raw.RAW_FEATURES)


@pytest.mark.parametrize("with_user", [False, True], ids=["no-user", "user"])
@pytest.mark.parametrize("max_context_length", [1, 3, 50])
def test_timeline_examples_match_make_example_at_every_position(with_user, max_context_length):
    # Edge cases the batch encoder must keep: zero ids, year 0, movies without genres, a
    # context window whose movies have no genres at all, rating 0.5 and a zero timestamp.
    ratings = [
        Rating(0, 0, 0.5, 0, 1),
        Rating(0, 21, 5.0, 0, 2),
        Rating(0, 22, 3.5, 7, 3),
        Rating(0, 23, 1.0, 9, 4),
        Rating(0, 24, 4.0, 9, 5),
        Rating(0, 25, 2.0, 12, 6),
    ]
    timeline = tl.Timeline(0, ratings)
    movies = {
        0: Movie(0, "Untitled", 0, ()),
        21: Movie(21, "B", 0, ()),
        22: Movie(22, "C (1999)", 1999, ("Drama", "Film-Noir")),
        23: Movie(23, "D (2001)", 2001, ()),
        24: Movie(24, "E (1950)", 1950, ("Children's",)),
        25: Movie(25, "F (1960)", 1960, ("War", "Western", "Sci-Fi")),
    }
    user = User(0, "M", 0, "0", "021") if with_user else None
    example_settings = settings(max_context_length=max_context_length)
    emitted = list(tl.timeline_examples(timeline, movies, user, example_settings))
    assert [split for split, _ in emitted] == [tl.TRAIN] * 3 + [tl.EVAL, tl.TEST]
    for position, (split, serialized) in enumerate(emitted, start=1):
        held_out = split in tl.HELD_OUT_SPLITS
        expected = make_example(timeline, position, movies, user, max_context_length, held_out)
        actual = tf.train.Example.FromString(serialized)
        for name in expected.features.feature:
            assert values(actual, name) == values(expected, name), (position, name)
            if values(expected, name):
                kind = expected.features.feature[name].WhichOneof("kind")
                assert actual.features.feature[name].WhichOneof("kind") == kind
        assert set(actual.features.feature) == set(expected.features.feature), position


def test_held_out_examples_carry_the_whole_history_beyond_the_window():
    ratings = [rating(movie, timestamp=movie, line_no=movie) for movie in range(1, 9)]
    timeline = tl.Timeline(1, ratings)
    movies = {m: Movie(m, f"M{m}", 2000, ()) for m in range(1, 9)}
    emitted = tl.timeline_examples(timeline, movies, None, settings(max_context_length=2))
    by_split = {split: tf.train.Example.FromString(example) for split, example in emitted}
    # The last label (movie 8) is test, the one before (7) eval; both see all earlier movies.
    assert values(by_split[tl.TEST], raw.HISTORY_MOVIE_IDS) == [1, 2, 3, 4, 5, 6, 7]
    assert values(by_split[tl.EVAL], raw.HISTORY_MOVIE_IDS) == [1, 2, 3, 4, 5, 6]
    assert values(by_split[tl.TEST], raw.CONTEXT_MOVIE_ID) == [6, 7]
    assert values(by_split[tl.TRAIN], raw.HISTORY_MOVIE_IDS) == []


# --- the sequence layout's training pieces -------------------------------------------------


def _pieces_and_windows(timeline: tl.Timeline, split: tl.SplitSettings, length: int, stride: int):
    """The timeline's examples in both layouts, parsed: (pieces, held-out windows), and the
    windows layout's training examples."""
    movies = movies_for(timeline)
    common = {"max_context_length": length, "split": split}
    layout = {"training_layout": pieces.SEQUENCES, "sequence_stride": stride}
    sequences = tl.ExampleSettings(**layout, **common)
    emitted = tl.timeline_examples(timeline, movies, None, sequences)
    parsed = [(s, tf.train.Example.FromString(e)) for s, e in emitted]
    windows = tl.timeline_examples(timeline, movies, None, tl.ExampleSettings(**common))
    by_layout = [(s, tf.train.Example.FromString(e)) for s, e in windows]
    return parsed, by_layout


@pytest.mark.parametrize("kind", ["leave_last_out", "random"])
@pytest.mark.parametrize(("length", "stride"), [(4, 0), (4, 2), (3, 1), (10, 5)])
def test_pieces_are_the_sequence_examples_of_the_same_timeline(kind, length, stride):
    # What ExampleGen writes for the sequence layout is exactly what the Trainer's in-memory
    # sequence examples were: the same pieces, inputs and targets, in the same order.
    from components.model import sequence_training

    timeline = make_timeline(7, 23)
    split = tl.SplitSettings(kind=kind, seed=3)
    parsed, windows = _pieces_and_windows(timeline, split, length, stride)
    movie_ids = [r.movie_id for r in timeline.ratings]
    named = tl.split_names(timeline, np.arange(1, len(movie_ids)), split)
    next_movies = np.array(
        [m if name == tl.TRAIN else 0 for m, name in zip(movie_ids[1:], named, strict=True)] + [0],
        np.int32,
    )
    reference = sequence_training.Timeline({"movie": np.array(movie_ids, np.int32)}, next_movies)
    inputs, targets = sequence_training.sequence_examples([reference], length, stride)
    pieces = [example for split_name, example in parsed if split_name == tl.TRAIN]
    assert len(pieces) == len(targets) > 1
    for example, movie_row, target_row in zip(pieces, inputs["movie"], targets, strict=True):
        context = values(example, raw.CONTEXT_MOVIE_ID)
        assert context == [m for m in movie_row.tolist() if m]  # unpadded, oldest first
        next_ids = values(example, raw.NEXT_MOVIE_IDS)
        assert next_ids == target_row.tolist()[length - len(context) :]
        # The label columns describe the piece's newest target.
        newest = max(i for i, target in enumerate(next_ids) if target)
        assert values(example, raw.LABEL_MOVIE_ID) == [next_ids[newest]]
        assert values(example, raw.HISTORY_MOVIE_IDS) == []
    # Held-out examples stay windows, identical to the windows layout's.
    held_out = [(s, e) for s, e in parsed if s != tl.TRAIN]
    assert held_out == [(s, e) for s, e in windows if s != tl.TRAIN]
    assert all(not values(e, raw.NEXT_MOVIE_IDS) for _, e in held_out)


def test_pieces_train_the_same_pairs_as_windows_in_fewer_values():
    # Every training label is one piece's target with the same movie before it: the
    # baselines fitted on either layout are the same, and pieces hold each movie about
    # length / stride times where windows hold it length times.
    timeline = make_timeline(9, 60)
    split = tl.SplitSettings(kind="random", seed=5)
    parsed, windows = _pieces_and_windows(timeline, split, 10, 5)
    piece_pairs = Counter()
    piece_values = 0
    for split_name, example in parsed:
        if split_name == tl.TRAIN:
            context = values(example, raw.CONTEXT_MOVIE_ID)
            piece_values += len(context)
            targets = values(example, raw.NEXT_MOVIE_IDS)
            piece_pairs.update((m, t) for m, t in zip(context, targets, strict=True) if t)
    window_pairs = Counter()
    window_values = 0
    for split_name, example in windows:
        if split_name == tl.TRAIN:
            context = values(example, raw.CONTEXT_MOVIE_ID)
            window_values += len(context)
            window_pairs[(context[-1], values(example, raw.LABEL_MOVIE_ID)[0])] += 1
    assert piece_pairs == window_pairs and sum(piece_pairs.values()) > 40
    assert piece_values < 0.3 * window_values


def test_a_stride_beyond_the_history_is_refused():
    with pytest.raises(ValueError, match="sequence_stride"):
        tl.ExampleSettings(
            max_context_length=4, training_layout=pieces.SEQUENCES, sequence_stride=5
        )
    with pytest.raises(ValueError, match="training_layout"):
        tl.ExampleSettings(training_layout="pieces")
