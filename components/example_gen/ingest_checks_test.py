"""The ingest report's readers in components.example_gen.ingest_checks: ``summarize`` (the lines a
run prints and the figures kept in MLMD) and ``check_bad_lines`` (the bad-line limit and the
no-example error), on hand-made reports shaped like the executor writes them."""

from __future__ import annotations

import dataclasses
import json

import pytest

from components.contracts.ingest_report import IngestReport
from components.data_formats.movielens.layouts import DataError
from components.example_gen import ingest_checks, timelines
from components.example_gen.settings import IngestSettings


def section(file: str, accepted: int, rejected: dict[str, int], first=None) -> dict:
    """A FileReport as JSON: lines == accepted + every rejected line."""
    return {
        "file": file,
        "lines": accepted + sum(rejected.values()),
        "accepted": accepted,
        "rejected": rejected,
        "first_rejections": first or {r: f"{file} line 2: {r}" for r in rejected},
    }


def report(
    ratings: dict | None = None,
    users: dict | None = None,
    examples: dict[str, int] | None = None,
    settings: IngestSettings | None = None,
) -> IngestReport:
    settings = settings or IngestSettings(examples=timelines.ExampleSettings())
    return IngestReport.from_json(
        {
            "data_dir": "data",
            "ratings": ratings or section("ratings.dat", 90, {"header": 1, "malformed": 1}),
            "movies": section("movies.dat", 20, {}),
            "users": users,
            "examples": {"train": 60, "eval": 5, "test": 5} if examples is None else examples,
            "settings": json.loads(json.dumps(dataclasses.asdict(settings))),
        }
    )


# --- summarize -------------------------------------------------------------------------------


def test_summary_accounts_for_every_line_of_every_file_and_the_examples():
    ratings = section("ratings.dat", 90, {"malformed": 2, "duplicate": 1, "header": 1})
    users = section("users.dat", 10, {"unknown_gender": 1})
    summary = ingest_checks.summarize(report(ratings, users, {"train": 60, "test": 5}))
    assert summary.text.splitlines() == [
        # Reasons in name order, each with its count; lines = accepted + rejected.
        "ratings.dat: 94 lines = 90 accepted + 1 duplicate + 1 header + 2 malformed",
        "movies.dat: 20 lines = 20 accepted",
        "users.dat: 11 lines = 10 accepted + 1 unknown_gender",
        # Every split is named, a split without examples as 0.
        "examples: train=60, eval=0, test=5",
    ]


def test_summary_properties_are_the_ratings_figures_and_examples_per_split():
    ratings = section("ratings.csv", 90, {"malformed": 2, "short_timeline": 7})
    summary = ingest_checks.summarize(report(ratings, examples={"train": 60, "eval": 5}))
    properties = summary.properties
    assert properties == {
        "rating_lines": 99,
        "accepted_ratings": 90,
        "rejected_malformed": 2,
        "rejected_short_timeline": 7,
        "examples_train": 60,
        "examples_eval": 5,
        "examples_test": 0,
    }


# --- check_bad_lines -------------------------------------------------------------------------


def test_bad_lines_at_or_under_the_limit_pass():
    # 1 invalid of 100 data lines (the header is structure, not data): exactly 1%.
    ratings = section("ratings.dat", 99, {"malformed": 1, "header": 1})
    ingest_checks.check_bad_lines(report(ratings), max_bad_fraction=0.01)


def test_bad_lines_over_the_limit_fail_in_one_line_naming_the_file_and_first_of_each_kind():
    ratings = section(
        "ratings.dat",
        97,
        {"malformed": 2, "duplicate": 1, "header": 1, "short_timeline": 5},
        first={
            "malformed": "ratings.dat line 3: malformed",
            "duplicate": "ratings.dat line 9: duplicate",
            "header": "ratings.dat line 1: header",
            "short_timeline": "ratings.dat line 4: short",
        },
    )
    with pytest.raises(DataError) as raised:
        ingest_checks.check_bad_lines(report(ratings), max_bad_fraction=0.01)
    message = str(raised.value)
    assert "\n" not in message
    # 3 invalid of 105 data lines: the header is left out, filtered lines are data.
    assert message.startswith("ratings.dat: 3 of 105 lines are invalid (2.9% > max_bad_fraction")
    # Only invalid reasons are quoted, in name order.
    assert message.endswith(
        "First of each kind: ratings.dat line 9: duplicate; ratings.dat line 3: malformed"
    )


def test_bad_lines_in_any_file_count_not_only_ratings():
    users = section("users.dat", 1, {"unknown_gender": 1})
    with pytest.raises(DataError, match=r"^users\.dat: 1 of 2 lines are invalid"):
        ingest_checks.check_bad_lines(report(users=users), max_bad_fraction=0.1)
    ingest_checks.check_bad_lines(report(users=users), max_bad_fraction=0.5)


def test_no_examples_fails_naming_the_setting_that_left_nothing():
    ratings = section("ratings.dat", 0, {"below_min_rating": 40})
    settings = IngestSettings(examples=timelines.ExampleSettings(min_rating=4.5))
    with pytest.raises(DataError) as raised:
        ingest_checks.check_bad_lines(report(ratings, examples={}, settings=settings), 0.01)
    assert str(raised.value) == (
        "No examples: every one of the 40 valid ratings in ratings.dat is below --min-rating "
        "4.5: lower it to keep some."
    )


def test_no_examples_from_short_timelines_names_the_length_setting():
    ratings = section("ratings.dat", 0, {"short_timeline": 12})
    with pytest.raises(DataError, match="--min-timeline-length 3"):
        ingest_checks.check_bad_lines(report(ratings, examples={"train": 0}), 0.01)
