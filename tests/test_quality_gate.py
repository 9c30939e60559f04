"""The pipeline proves quality on the headline protocol and gates on beating first-order Markov.

One run of the default recipe on synthetic data with a planted next-movie pattern; its
quality report must equal what an app gets from the pushed model through the recommend
command, and what a plain re-computation of the baselines gives. Then a crippled candidate
(no learning) in the same store: first-order Markov beats it, so it is never blessed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict

import numpy as np
import pytest

from benchmarks.bench_shipped import user_histories
from components.contracts.gate_result import GateResult
from components.data_formats import synthetic
from components.evaluation import quality, ranking
from components.evaluation import report as quality_report
from components.evaluation.examples import read_split
from configs import features as raw
from pipeline import local_runner, paths
from tests import pipeline_runs

pytestmark = [pytest.mark.slow, pytest.mark.integration]

SPEC = synthetic.SyntheticSpec(num_users=150, num_movies=150, mean_ratings_per_user=30, seed=21)
# The first model only needs to come within half of Markov to be blessed: this run is about
# the report's figures; the crippled run below tests the Markov rule at its default.
FIRST_RUN = ("--hparam", "epochs=3", "--min-lift-over-markov", "-0.5")


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    data_dir = str(tmp_path_factory.mktemp("synthetic"))
    output_dir = str(tmp_path_factory.mktemp("quality"))
    synthetic.write_movielens(data_dir, "ml-latest", SPEC)
    pipeline_runs.run_pipeline(data_dir, output_dir, *FIRST_RUN)
    report = pipeline_runs.latest_artifact(output_dir, "movie_recs.EvaluationReport")
    return data_dir, output_dir, report


def test_the_report_scores_every_model_on_the_test_split(default_run):
    _, _, report = default_run
    content = quality_report.read(report.uri)
    assert content["blessed"] is True
    test = content["test"]
    assert list(test) == ["candidate", "markov", "popularity"]  # no blessed model before
    for table in test.values():
        for seen in (quality.SEEN_EXCLUDED, quality.SEEN_INCLUDED):
            overall = table[seen]["overall"]
            assert overall["examples"] == SPEC.num_users
            assert set(overall) == {"hr@1", "hr@5", "hr@10", "ndcg@10", "mrr", "examples"}
            buckets = [v["examples"] for k, v in table[seen].items() if k != "overall"]
            assert sum(buckets) == SPEC.num_users
    # Excluding what the user watched can only help a ranking of their next movie.
    for table in test.values():
        excluded = table[quality.SEEN_EXCLUDED]["overall"]["hr@10"]
        assert excluded >= table[quality.SEEN_INCLUDED]["overall"]["hr@10"]
    with open(os.path.join(report.uri, quality_report.CHART_FILE), "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    with open(os.path.join(report.uri, quality_report.HTML_FILE), encoding="utf-8") as handle:
        page = handle.read()
    assert quality_report.CHART_FILE in page and "first-order Markov" in page
    hr = test["candidate"][quality.SEEN_EXCLUDED]["overall"]["hr@10"]
    assert report.custom_properties["test_candidate_hr_at_10"].double_value == pytest.approx(
        hr, abs=1e-6
    )


def test_the_report_equals_what_the_pushed_model_gives_through_recommend(default_run):
    data_dir, output_dir, report = default_run
    histories = user_histories(data_dir, min_timeline_length=3)
    path = os.path.join(output_dir, "histories.txt")
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(",".join(map(str, h[:-1])) + "\n" for h in histories)
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "commands.recommend",
            "--model",
            output_dir,
            "--histories",
            path,
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=paths.REPO_ROOT,
    )
    results = [json.loads(line) for line in completed.stdout.splitlines()]
    assert len(results) == len(histories) == SPEC.num_users
    ranks = ranking.ranks_in_lists([r["movie_ids"] for r in results], [h[-1] for h in histories])
    device = ranking.metrics(ranks)
    reported = quality_report.read(report.uri)["test"]["candidate"][quality.SEEN_EXCLUDED]
    # The report ranks every movie with the SavedModel, the app takes the .tflite's top 10:
    # the same examples and the same exclusion, so the same figures.
    assert device["hr@10"] == pytest.approx(reported["overall"]["hr@10"], abs=1e-9)
    assert device["ndcg@10"] == pytest.approx(reported["overall"]["ndcg@10"], abs=1e-9)


def _plain_baseline_hr10(examples_uri: str) -> dict[str, float]:
    """Popularity and first-order Markov recomputed plainly from the examples: counts over
    the training split, each test label's rank among every training movie not watched."""
    train = read_split(examples_uri, "train", [raw.CONTEXT_MOVIE_ID, raw.NEXT_MOVIE_IDS])
    follows: dict[int, Counter] = defaultdict(Counter)
    popularity: Counter = Counter()
    # The default run trains on sequence pieces: each movie with the target after it.
    assert len(train[raw.NEXT_MOVIE_IDS].values) == len(train[raw.CONTEXT_MOVIE_ID].values)
    for row in range(len(train[raw.CONTEXT_MOVIE_ID])):
        context = train[raw.CONTEXT_MOVIE_ID].row(row).tolist()
        for movie, label in zip(context, train[raw.NEXT_MOVIE_IDS].row(row).tolist(), strict=True):
            if label != raw.NO_TARGET:
                popularity[label] += 1
                follows[movie][label] += 1
    movies = set(popularity) | set(train[raw.CONTEXT_MOVIE_ID].values.tolist())
    total = sum(popularity.values())
    test = read_split(
        examples_uri, "test", [raw.CONTEXT_MOVIE_ID, raw.LABEL_MOVIE_ID, raw.HISTORY_MOVIE_IDS]
    )
    hits = Counter()
    for row, label in enumerate(test[raw.LABEL_MOVIE_ID].values.tolist()):
        seen = set(test[raw.HISTORY_MOVIE_IDS].row(row).tolist())
        previous = test[raw.CONTEXT_MOVIE_ID].row(row).tolist()[-1]
        scores = {
            "popularity": {m: float(popularity[m]) for m in movies},
            "markov": {m: follows[previous][m] + popularity[m] * 1e-3 / total for m in movies},
        }
        for name, score in scores.items():
            if label in score:
                better = sum(1 for m, s in score.items() if m not in seen and s > score[label])
                hits[name] += better < 10
    count = len(test[raw.LABEL_MOVIE_ID].values)
    return {name: hits[name] / count for name in ("popularity", "markov")}


def test_the_baselines_equal_a_plain_recomputation(default_run):
    _, output_dir, report = default_run
    examples = pipeline_runs.latest_artifact(output_dir, "Examples", pipeline_runs.EXAMPLE_GEN)
    plain = _plain_baseline_hr10(examples.uri)
    test = quality_report.read(report.uri)["test"]
    for name, hr in plain.items():
        assert test[name][quality.SEEN_EXCLUDED]["overall"]["hr@10"] == pytest.approx(hr)
    assert plain["markov"] > plain["popularity"]  # the planted pattern is first-order


def test_a_crippled_candidate_loses_to_markov_and_is_neither_blessed_nor_pushed(default_run, capfd):
    data_dir, output_dir, _ = default_run
    pushed_before = sorted(os.listdir(paths.push_destination(output_dir)))
    # No learning at all; a loose regression rule, so that only the Markov rule can fail.
    crippled = ["--hparam", "epochs=1", "--hparam", "learning_rate=0", "--max-regression", "1"]
    code = local_runner.main(
        ["--data-dir", data_dir, "--output-dir", output_dir, pipeline_runs.IN_MEMORY, *crippled]
    )
    assert code == 0
    printed = capfd.readouterr().out
    assert (
        "Gate: NOT BLESSED" in printed
        and "FAILED  recall_at_10 beats first-order Markov" in printed
    )
    # A quiet run: one line per component as it ends, with its key figure (the Trainer's
    # epochs on their own lines); everything else in the log file it names.
    lines = printed.splitlines()
    log = re.search(r"^Running the pipeline; full log: (\S+)$", printed, re.M).group(1)
    assert re.search(r"^    epoch 1: loss [\d.]+, eval hr_at_10 [\d.]+", printed, re.M)
    assert re.search(r"^Trainer done \(\d+ s\): 1 epochs .* ended by max epochs$", printed, re.M)
    assert re.search(r"^Evaluator done \(\d+ s\): NOT BLESSED \(.*Markov", printed, re.M)
    assert re.search(r"^TFLitePusher done \(\d+ s\): nothing pushed$", printed, re.M)
    assert re.search(r"^MovieLensExampleGen done \(cached\)", printed, re.M)
    assert not [line for line in lines if "absl" in line or "tensorflow" in line]
    with open(log, encoding="utf-8") as handle:
        logged = handle.read()
    assert "Evaluator done" in logged  # the console's lines are in the log too
    blessing = pipeline_runs.latest_artifact(output_dir, "ModelBlessing")
    assert blessing.custom_properties["blessed"].int_value == 0
    gate = GateResult.read(blessing.uri).to_json()
    verdicts = {rule["rule"].split(" ")[-1]: rule["passed"] for rule in gate["rules"]}
    assert list(verdicts.values()) == [True, True, False], gate
    markov_rule = gate["rules"][2]
    assert markov_rule["value"] < 0 and markov_rule["markov"] > 0
    # The rule says whether the gap is beyond the noise of the eval split's examples.
    assert isinstance(markov_rule["within_noise"], bool)
    verdict = "within" if markov_rule["within_noise"] else "beyond"
    assert f"is {verdict} the noise (+-0." in markov_rule["detail"], markov_rule
    assert sorted(os.listdir(paths.push_destination(output_dir))) == pushed_before
    # The report compares it with the latest blessed model, the first run's.
    content = quality_report.read(
        pipeline_runs.latest_artifact(output_dir, "movie_recs.EvaluationReport").uri
    )
    assert list(content["test"]) == ["candidate", "previous", "markov", "popularity"]
    assert not content["blessed"]
    assert np.isfinite(content["test"]["previous"][quality.SEEN_EXCLUDED]["overall"]["mrr"])
