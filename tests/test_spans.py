"""Continuous training on span data: split-spans, the span split, warm start, two runs.

Fast tests: split-spans reconciles every rating line, the span split of a timeline, the
warm start's row mapping by raw value (a moved, a new and a dropped value in every table),
the hyper-parameters, and the one-line errors of span folders that cannot be read.
The slow test runs the real pipeline twice on synthetic data cut into three spans: run 1
holds out span 2 and trains on span 1; run 2 holds out span 3, warm-starts from run 1's
blessed model (ML Metadata and lineage show it) and is evaluated on span 3's positions only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter, defaultdict

import numpy as np
import pytest

from commands import data as data_cli
from components.contracts.quality_metrics import QualityMetrics
from components.data_formats import spans, synthetic
from components.data_formats.movielens import layouts, validation
from components.data_formats.movielens import tables as movielens_tables
from components.example_gen import timelines as tl
from components.model import callbacks, warm_start
from components.model.hparams import HParams
from components.model.recommender import Recommender
from configs import features as raw
from configs import input_config
from pipeline import local_runner
from tests import pipeline_runs

SPEC = synthetic.SyntheticSpec(num_users=100, num_movies=120, mean_ratings_per_user=25, seed=11)


def cut(source, out, *flags: str) -> dict:
    assert data_cli.main(["split-spans", "--data-dir", str(source), "--out", str(out), *flags]) == 0
    return spans.read_manifest(str(out))


def data_lines(path: str, header: bool) -> list[bytes]:
    with open(path, "rb") as handle:
        lines = handle.read().split(b"\n")
    lines = [line for line in lines[1 if header else 0 :] if line]
    return lines


# --------------------------------------------------------------------------- split-spans


@pytest.mark.parametrize(
    ("layout", "flags"),
    [
        ("ml-1m", ("--period", "week", "--first-fraction", "0.6")),
        ("ml-latest", ("--period", "150-ratings")),
        ("ml-100k", ("--period", "month", "--start", "2000-06-01")),
    ],
)
def test_every_rating_line_is_in_exactly_one_span_in_its_time_range(tmp_path, layout, flags):
    spec = synthetic.SyntheticSpec(num_users=40, num_movies=60, mean_ratings_per_user=15, seed=2)
    synthetic.write_movielens(tmp_path / "data", layout, spec)
    manifest = cut(tmp_path / "data", tmp_path / "spans", *flags)
    source = layouts.detect_layout(str(tmp_path / "data"))
    original = data_lines(str(tmp_path / "data" / source.ratings_file), source.has_header)
    columns = validation.rating_rules(str(tmp_path / "data"), source).columns
    found = spans.list_spans(str(tmp_path / "spans"))
    assert [s.number for s in found] == list(range(1, len(manifest["spans"]) + 1))
    assert len(found) >= 3
    written: list[bytes] = []
    for entry, span in zip(manifest["spans"], found, strict=True):
        assert layouts.detect_layout(span.folder) == source  # a complete layout
        lines = data_lines(os.path.join(span.folder, source.ratings_file), source.has_header)
        assert len(lines) == entry["lines"] > 0
        for line in lines:
            _, _, timestamp = validation.rating_keys(source, line.decode(), columns)
            assert entry["begin"] is None or timestamp >= entry["begin"]
            assert timestamp < entry["end"]
        written += lines
    # Reconciles: the same lines, each once, file order kept within a span.
    assert Counter(written) == Counter(original)
    assert manifest["rating_lines"] == len(original) == sum(e["lines"] for e in manifest["spans"])


def test_movies_and_users_are_known_from_their_first_rating_on(tmp_path):
    synthetic.write_movielens(tmp_path / "data", "ml-1m", SPEC)
    manifest = cut(tmp_path / "data", tmp_path / "spans", "--period", "500-ratings")
    first_span: dict[int, int] = {}
    known_before: set[int] = set()
    for span in spans.list_spans(str(tmp_path / "spans")):
        layout = layouts.detect_layout(span.folder)
        movies, _ = movielens_tables.read_movies(span.folder, layout)
        users, _ = movielens_tables.read_users(span.folder, layout)
        assert known_before <= set(movies)  # the catalogue only grows
        known_before = set(movies)
        with open(os.path.join(span.folder, "ratings.dat")) as handle:
            for line in handle:
                user, movie = (int(v) for v in line.split("::")[:2])
                first_span.setdefault(movie, span.number)
                assert movie in movies and user in users  # every rating's movie is known
    counts = [entry["movies"] for entry in manifest["spans"]]
    assert counts == sorted(counts) and counts[-1] == SPEC.num_movies


@pytest.mark.parametrize(
    ("flags", "taken", "says"),
    [
        (["--period", "fortnight"], False, "give day, week, month or N-ratings"),
        (["--first-fraction", "1.5"], False, "--first-fraction must be between 0 and 1"),
        ([], True, "exists and is not an empty folder"),
    ],
)
def test_split_spans_errors_are_one_line(tmp_path, capsys, flags, taken, says):
    synthetic.write_movielens(tmp_path / "data", "ml-1m", SPEC)
    out = tmp_path / "out"
    if taken:
        out.mkdir()
        (out / "something").write_text("")
    code = data_cli.main(
        ["split-spans", "--data-dir", str(tmp_path / "data"), "--out", str(out), *flags]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error:") and says in err, err
    assert len(err.strip().splitlines()) == 1


def test_a_ratings_period_never_cuts_one_second_apart():
    timestamps = np.array([1, 1, 1, 2, 2, 3, 4, 4, 4, 4, 5], np.int64)
    index, boundaries = spans._raw_spans(timestamps, spans.Period("ratings", 2), None)
    for second in np.unique(timestamps):
        assert len(set(index[timestamps == second])) == 1
    assert boundaries == sorted(set(boundaries))


# --------------------------------------------------------------------------- the span split


def test_the_span_split_holds_out_the_newest_span_and_trains_on_the_window():
    # A user's ratings in spans 1, 1, 2, 2, 3, 3, 3 (order keys by span and line).
    spans_of = [1, 1, 2, 2, 3, 3, 3]
    ratings = [
        validation.Rating(7, 100 + i, 4.0, 1000 + i, spans.order_key(s, i + 1))
        for i, s in enumerate(spans_of)
    ]
    timeline = tl.Timeline(7, ratings)
    positions = np.arange(1, len(ratings))
    # Every span: position 1 (label in span 1) trains; span 3's last position is test.
    assert tl.span_splits(timeline, positions, (1, 3)) == [
        "train", "train", "train", "eval", "eval", "test",
    ]  # fmt: skip
    # A window of two spans: span 1's labels are no examples (their ratings stay history).
    assert tl.span_splits(timeline, positions, (2, 3)) == [
        None, "train", "train", "eval", "eval", "test",
    ]  # fmt: skip
    settings = tl.ExampleSettings(split=tl.SplitSettings(kind="span"), max_context_length=3)
    movies = {100 + i: validation.Movie(100 + i, f"m{i}", 1999, ("Drama",)) for i in range(7)}
    examples = tl.timeline_examples(timeline, movies, None, settings, (2, 3))
    assert [split for split, _ in examples] == ["train", "train", "eval", "eval", "test"]


# --------------------------------------------------------------------------- warm start


def _vocabularies(config, moved: bool) -> dict[str, list[bytes]]:
    """Per vocabulary, values 1..5 (base) or the same reordered without 2, with a new 9:
    a moved value, a new one and a dropped one in every table."""
    vocabularies = {}
    for name in input_config.vocabularies(config):
        values = [b"1", b"2", b"3", b"4", b"5"] if not moved else [b"5", b"9", b"1", b"4", b"3"]
        vocabularies[name] = [name.encode() + b"-" + v for v in values]
    return vocabularies


def _model(config, vocabularies) -> Recommender:
    hparams = HParams().for_config(config)
    model = Recommender(config, {n: len(v) for n, v in vocabularies.items()}, hparams)
    warm_start.build_weights(model, config)
    return model


@pytest.mark.parametrize("config_name", ["transformer_id", "cnn_id_features"])
def test_warm_start_carries_rows_by_raw_value_never_by_position(tmp_path, config_name):
    config = input_config.parse(input_config.read_text(config_name), config_name)
    base_vocabularies = _vocabularies(config, moved=False)
    base = _model(config, base_vocabularies)
    warm_start.save(base, config, base_vocabularies, str(tmp_path))
    new_vocabularies = _vocabularies(config, moved=True)
    model = _model(config, new_vocabularies)
    fresh = {path: v.numpy().copy() for path, v in model.get_weight_paths().items()}

    tables, copied, left_fresh = warm_start.carry_over(
        model, config, new_vocabularies, str(tmp_path)
    )
    base_weights = {path: v.numpy() for path, v in base.get_weight_paths().items()}
    table_paths = warm_start.vocabulary_tables(model, config)
    assert set(tables) == set(table_paths) and left_fresh == []
    for path, variable in model.get_weight_paths().items():
        value = variable.numpy()
        if path not in table_paths:  # the encoder, projection, ...: copied as they were
            np.testing.assert_array_equal(value, base_weights[path])
            continue
        vocabulary = table_paths[path]
        old = base_vocabularies[vocabulary]
        assert tables[path] == {"vocabulary": vocabulary, "carried": 4, "new": 1, "dropped": 1}
        for row, raw_value in enumerate(new_vocabularies[vocabulary], start=1):
            if raw_value in old:  # the value's own row, wherever it sat before
                np.testing.assert_array_equal(
                    value[row], base_weights[path][old.index(raw_value) + 1]
                )
            else:  # a new value keeps its fresh row
                np.testing.assert_array_equal(value[row], fresh[path][row])
        np.testing.assert_array_equal(value[0], base_weights[path][0])  # padding
        np.testing.assert_array_equal(value[-1], base_weights[path][-1])  # out of vocabulary
    assert copied == len(base_weights) - len(table_paths)


def test_a_base_model_without_warm_start_files_trains_from_scratch(tmp_path):
    config = input_config.parse(input_config.read_text("transformer_id"), "transformer_id")
    vocabularies = _vocabularies(config, moved=False)
    model = _model(config, vocabularies)
    started = warm_start.start(model, config, vocabularies, True, str(tmp_path))
    assert started.started == warm_start.SCRATCH and "exported before" in started.reason
    assert warm_start.start(model, config, vocabularies, True, None).reason == (
        "no blessed model yet"
    )
    assert warm_start.start(model, config, vocabularies, False, str(tmp_path)).reason == (
        "warm_start=false"
    )


def test_warm_start_hyper_parameters():
    assert HParams().with_warm_start_for(True).warm_start is True
    assert HParams().with_warm_start_for(False).warm_start is False
    assert HParams(warm_start=False).with_warm_start_for(True).warm_start is False
    warm = HParams(epochs=30, warm_start_epochs=3, train_steps=300).for_warm_start()
    assert (warm.epochs, warm.train_steps) == (3, 30)
    with pytest.raises(ValueError, match="warm_start must be true, false or 'auto'"):
        HParams(warm_start="yes")
    with pytest.raises(ValueError, match="warm_start_epochs must be at least 1"):
        HParams(warm_start_epochs=0)


def test_the_starting_weights_are_epoch_zero_of_a_warm_start():
    class Budget:
        exhausted_at_epoch = None

    class Stopping:
        stopped_epoch = 0

    log = callbacks.TrainingLog("val_hr_at_10", Stopping(), Budget(), initial=0.30)
    for epoch, score in enumerate([0.28, 0.29]):
        log.on_epoch_end(epoch, {"val_hr_at_10": score})
    assert log.summary()["best_epoch"] == 0 and log.summary()["best"] == 0.30
    log.on_epoch_end(2, {"val_hr_at_10": 0.31})
    assert log.summary()["best_epoch"] == 3


# --------------------------------------------------------------------------- preflight


def _span_data(tmp_path) -> str:
    synthetic.write_movielens(tmp_path / "data", "ml-1m", SPEC)
    cut(tmp_path / "data", tmp_path / "spans", "--period", "800-ratings", "--first-fraction", "0.5")
    return str(tmp_path / "spans")


def _runner_error(capsys, *argv: str) -> str:
    code = local_runner.main(list(argv))
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_span_folders_that_cannot_be_read_are_one_line(tmp_path, capsys):
    folder = _span_data(tmp_path)
    out = str(tmp_path / "out")
    run = ("--data-dir", folder, "--output-dir", out)
    assert "is the first span" in _runner_error(capsys, *run, "--span", "1")
    assert "holds spans 1.." in _runner_error(capsys, *run, "--span", "99")
    assert "does not apply to span data" in _runner_error(capsys, *run, "--split", "random")
    data = str(tmp_path / "data")
    assert "need span data" in _runner_error(
        capsys, "--data-dir", data, "--output-dir", out, "--span-window", "2"
    )
    assert "holds no span folders" in _runner_error(
        capsys, "--data-dir", data, "--output-dir", out, "--span", "2"
    )
    last = spans.list_spans(folder)[-1]
    with open(os.path.join(last.folder, "ratings.dat"), "w") as handle:
        handle.write("\n")
    assert "an empty span" in _runner_error(capsys, *run)
    os.rename(spans.list_spans(folder)[1].folder, os.path.join(folder, "moved-away"))
    assert "span-0002 is missing" in _runner_error(capsys, *run)
    assert not os.path.exists(out)  # nothing was created


# --------------------------------------------------------------------------- two runs


def _oracle(folder: str, held_out: int, first: int) -> dict[str, Counter]:
    """Per split, the (user, label movie, label time, history length) of every example,
    from the span files themselves: timelines across spans, ordered by time then file."""
    by_user: dict[int, list[tuple]] = defaultdict(list)
    for span in spans.list_spans(folder)[:held_out]:
        with open(os.path.join(span.folder, "ratings.dat")) as handle:
            for line_no, line in enumerate(handle, start=1):
                user, movie, _, timestamp = (int(v) for v in line.split("::"))
                by_user[user].append((timestamp, span.number, line_no, movie))
    expected: dict[str, Counter] = defaultdict(Counter)
    for user, ratings in by_user.items():
        ratings.sort()
        if len(ratings) < 3:  # --min-timeline-length
            continue
        newest = [i for i in range(1, len(ratings)) if ratings[i][1] == held_out]
        for i in range(1, len(ratings)):
            timestamp, span, _, movie = ratings[i]
            if span < first:
                continue
            split = "train" if span < held_out else "test" if i == newest[-1] else "eval"
            expected[split][(user, movie, timestamp, i)] += 1
    return expected


def _trained(uri: str) -> Counter:
    """(user, target movie) of every target of the training pieces."""
    found = Counter()
    for example in pipeline_runs.read_examples(uri, "train"):
        (user,) = pipeline_runs.values(example, raw.USER_ID)
        targets = pipeline_runs.values(example, raw.NEXT_MOVIE_IDS)
        found.update((user, movie) for movie in targets if movie != raw.NO_TARGET)
    return found


def _examples(uri: str, split: str) -> tuple[Counter, list]:
    found = Counter()
    examples = pipeline_runs.read_examples(uri, split)
    for example in examples:
        names = (raw.USER_ID, raw.LABEL_MOVIE_ID, raw.LABEL_TIMESTAMP, raw.HISTORY_LENGTH)
        found[tuple(pipeline_runs.values(example, name)[0] for name in names)] += 1
    return found, examples


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("continuous")
    synthetic.write_movielens(root / "data", "ml-1m", SPEC)
    manifest = cut(
        root / "data", root / "spans", "--period", "600-ratings", "--first-fraction", "0.6"
    )
    assert len(manifest["spans"]) == 3
    folder, out = str(root / "spans"), str(root / "out")
    common = ("--hparam", "epochs=2", *pipeline_runs.ALWAYS_BLESS)
    # Run 1 holds out span 2 (the first one with a span before it) and blesses its model.
    pipeline_runs.run_pipeline(folder, out, "--span", "next", "--until", "Evaluator", *common)
    first = {
        "examples": pipeline_runs.latest_artifact(out, "Examples", "MovieLensExampleGen"),
        "model": pipeline_runs.latest_artifact(out, "Model"),
    }
    # Run 2: the next span, 3, with a window of two spans (span 1 is history only).
    pipeline_runs.run_pipeline(folder, out, "--span", "next", "--span-window", "2", *common)
    second = {
        "examples": pipeline_runs.latest_artifact(out, "Examples", "MovieLensExampleGen"),
        "model": pipeline_runs.latest_artifact(out, "Model"),
        "report": pipeline_runs.latest_artifact(out, "movie_recs.EvaluationReport"),
        "evaluation": pipeline_runs.latest_artifact(out, "ModelEvaluation"),
    }
    return folder, out, first, second


@pytest.mark.slow
@pytest.mark.integration
def test_example_gen_emits_exactly_the_positions_whose_labels_fall_in_the_span(two_runs):
    folder, _, first, second = two_runs
    for run, held_out, window_start in ((first, 2, 1), (second, 3, 2)):
        examples = run["examples"]
        assert examples.custom_properties["span"].int_value == held_out  # TFX's driver
        expected = _oracle(folder, held_out, window_start)
        for split in tl.HELD_OUT_SPLITS:
            found, _ = _examples(examples.uri, split)
            assert found == expected[split], split
        # Training is in the default sequence layout's pieces: each label of the window's
        # earlier spans is one piece's target, with the movie before it as that piece's.
        assert _trained(examples.uri) == Counter(
            {(user, movie): n for (user, movie, *_), n in expected["train"].items()}
        )
        # Held-out histories reach into earlier spans: the whole history, across spans.
        _, held = _examples(examples.uri, "test")
        lengths = [len(pipeline_runs.values(e, raw.HISTORY_MOVIE_IDS)) for e in held]
        assert lengths == [pipeline_runs.values(e, raw.HISTORY_LENGTH)[0] for e in held]
        span_ratings = spans.read_manifest(folder)["spans"][held_out - 1]["lines"]
        assert max(lengths) > span_ratings / SPEC.num_users  # more than the span alone


@pytest.mark.slow
@pytest.mark.integration
def test_run_two_warm_starts_from_run_one_and_lineage_shows_it(two_runs):
    _, out, first, second = two_runs
    model = second["model"]
    assert model.custom_properties["started_from"].string_value == "warm_start"
    assert model.custom_properties["warm_started_from_id"].int_value == first["model"].id
    assert first["model"].custom_properties["started_from"].string_value == "scratch"
    lineage = subprocess.run(
        [sys.executable, "-m", "commands.lineage", "--output-dir", out, "model"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"in  base_model: Model {first['model'].id}" in lineage
    assert f"started: warm start from model artifact {first['model'].id}" in lineage
    assert "spans: held out span 3 (eval, test); train on spans 2..2" in lineage
    started = warm_start.read_started(os.path.join(model.uri, "Format-Serving"))
    (table,) = started["tables"].values()
    assert table["carried"] > 0 and table["vocabulary"] == "movie_id"


@pytest.mark.slow
@pytest.mark.integration
def test_run_two_is_evaluated_and_reported_on_span_three_only(two_runs):
    folder, _, _, second = two_runs
    expected = _oracle(folder, 3, 2)
    report = QualityMetrics.read(second["report"].uri).to_json()
    assert report["spans"]["held_out_span"] == 3 and report["model_start"]["started"] == (
        "warm_start"
    )
    for name, table in report["test"].items():
        assert table["seen_excluded"]["overall"]["examples"] == sum(expected["test"].values()), name
    assert set(report["test"]) == {"candidate", "previous", "markov", "popularity"}
    from components.evaluation.tfma_results import CANDIDATE, OVERALL, model_metrics

    evaluated = model_metrics(second["evaluation"].uri, CANDIDATE)[OVERALL]["example_count"]
    assert evaluated == sum(expected["eval"].values())


@pytest.mark.slow
@pytest.mark.integration
def test_a_third_run_of_next_has_nothing_new(two_runs, capsys):
    folder, out, _, _ = two_runs
    code = local_runner.main(["--data-dir", folder, "--output-dir", out, "--span", "next"])
    assert code == 0
    assert "nothing new to run" in capsys.readouterr().out
