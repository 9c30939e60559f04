"""The tallies ExampleGen's Beam stages add up, and the report they end as."""

from __future__ import annotations

from collections import Counter

from components.contracts.ingest_report import FileSection, IngestReport
from components.data_formats.movielens.validation import Reason
from components.example_gen.tally import Tally, total, write_report


def test_tallies_add_up_and_keep_each_reasons_first_line():
    chunk = Tally(10, 0, Counter({Reason.MALFORMED: 2}), {"malformed": "line 3"}, Counter())
    later = Tally(5, 0, Counter({Reason.MALFORMED: 1}), {"malformed": "line 12"}, Counter())
    users = Tally(0, 12, Counter(), {}, Counter({"train": 4, "test": 1}))
    summed = total([chunk, later, users])
    assert (summed.lines, summed.accepted) == (15, 12)
    assert summed.outcomes == Counter({Reason.MALFORMED: 3})
    assert summed.first == {"malformed": "line 3"}
    assert summed.examples == Counter({"train": 4, "test": 1})
    assert total([]) == Tally.empty()


def test_the_report_is_the_context_with_the_ratings_and_examples_counts(tmp_path):
    tally = Tally(
        4, 2, Counter({Reason.HEADER: 1, Reason.DUPLICATE: 1}), {"header": "line 1"}, Counter()
    )
    tally.examples.update({"test": 1, "train": 2})
    context = IngestReport(data_dir="data", ratings_file="data/ratings.dat")
    write_report(tally, str(tmp_path), context)
    report = IngestReport.read(str(tmp_path))
    assert report.ratings == FileSection(
        "data/ratings.dat", 4, 2, {"duplicate": 1, "header": 1}, {"header": "line 1"}
    )
    assert list(report.examples.items()) == [("test", 1), ("train", 2)]
    assert report.data_dir == "data" and report.error is None
