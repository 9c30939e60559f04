"""The quality report's writers (components.evaluation.report) on a small hand-made content
dict shaped like the QualityReport component's: the console summary block, the text and
HTML reports, the chart, the lines on how the model started and which spans it saw, and the
MLMD property names."""

from __future__ import annotations

import pytest

from components.evaluation import report
from components.evaluation.quality import SEEN_EXCLUDED, SEEN_INCLUDED


def figures(hr10: float, ndcg: float, examples: int = 40) -> dict:
    overall = {
        "examples": examples,
        "hr@1": hr10 / 4,
        "hr@5": hr10 / 2,
        "hr@10": hr10,
        "ndcg@10": ndcg,
        "mrr": ndcg / 2,
    }
    buckets = {
        "01-04": {"examples": 15, "hr@10": hr10 / 3},
        "05+": {"examples": 25, "hr@10": hr10 * 1.5},
    }
    included = {k: v / 2 if k != "examples" else v for k, v in overall.items()}
    return {
        SEEN_EXCLUDED: {"overall": overall, **buckets},
        SEEN_INCLUDED: {"overall": included},
    }


def content(blessed: bool = False, **extra) -> dict:
    return {
        "blessed": blessed,
        "gate": {
            "blessed": blessed,
            "rules": [
                {"rule": "recall_at_10 >= 0.01", "passed": True, "detail": "0.2100 >= 0.0100"},
                {
                    "rule": "lift over first-order Markov >= 5%",
                    "passed": False,
                    "detail": "0.2100 vs Markov 0.2500 (-16.0% < 5%)",
                },
            ],
        },
        "test": {
            "candidate": figures(0.2125, 0.1234),
            "markov": figures(0.25, 0.1500),
            "popularity": figures(0.05, 0.0200),
        },
        **extra,
    }


def test_property_names_spell_the_metric_for_ml_metadata():
    assert report.property_name("markov", "hr@10") == "test_markov_hr_at_10"
    assert report.property_name("candidate", "mrr") == "test_candidate_mrr"


def test_summary_block_gives_the_verdict_the_failed_rules_and_the_test_figures():
    lines = report.summary_block(content()).splitlines()
    assert lines[0] == "Gate: NOT BLESSED"
    # Only the failed rule, not the one that passed.
    assert lines[1] == (
        "  FAILED  lift over first-order Markov >= 5%: 0.2100 vs Markov 0.2500 (-16.0% < 5%)"
    )
    assert lines[2] == "Model started: not recorded"
    assert lines[3] == "Test split (each user's next movie, seen movies excluded), HR@10 / NDCG@10:"
    # Seen-excluded overall HR@10 / NDCG@10 of each model, in the content's order.
    assert [line.split() for line in lines[4:7]] == [
        ["this", "model", "0.2125", "/", "0.1234"],
        ["first-order", "Markov", "0.2500", "/", "0.1500"],
        ["popularity", "0.0500", "/", "0.0200"],
    ]
    # 40 examples: every gap to Markov here is within 2 standard errors.
    assert lines[7] == (
        "  this model against first-order Markov: within the noise at hr@1, hr@5, hr@10, "
        "ndcg@10, mrr"
    )


def test_summary_block_of_a_blessed_model_lists_no_rule():
    blessed = content(blessed=True)
    for rule in blessed["gate"]["rules"]:
        rule["passed"] = True
    lines = report.summary_block(blessed).splitlines()
    assert lines[0] == "Gate: BLESSED"
    assert not any("passed" in line or "FAILED" in line for line in lines)


def test_the_text_report_has_every_rule_and_both_tables_and_the_buckets():
    text = report.render_text(content())
    lines = text.splitlines()
    assert lines[0] == "Quality report: NOT BLESSED"
    assert "  passed  recall_at_10 >= 0.01: 0.2100 >= 0.0100" in lines
    assert any(line.startswith("  FAILED  lift over first-order Markov") for line in lines)
    assert "Test split (40 examples: each user's next movie), seen movies excluded:" in lines
    rows = [line.split() for line in lines]
    assert ["model", "hr@1", "hr@5", "hr@10", "ndcg@10", "mrr"] in rows
    # Seen excluded, then seen included (half of each figure here).
    assert ["this", "model", "0.0531", "0.1062", "0.2125", "0.1234", "0.0617"] in rows
    assert ["this", "model", "0.0266", "0.0531", "0.1062", "0.0617", "0.0308"] in rows
    # HR@10 per history bucket with its example count, one column per model.
    assert ["history", "examples", "this", "model", "first-order", "Markov", "popularity"] in rows
    assert ["01-04", "15", "0.0708", "0.0833", "0.0167"] in rows
    assert ["05+", "25", "0.3187", "0.3750", "0.0750"] in rows


def test_the_report_says_which_gaps_to_markov_are_beyond_the_noise():
    # 10,000 examples: hr@10 0.2125 vs 0.25 is a gap of -0.0375 against a noise of
    # 2 * sqrt(.2125 * .7875 / 1e4 + .25 * .75 / 1e4) = 0.0119; hr@1 (0.0531 vs 0.0625) is
    # a gap of -0.0094 against 0.0066, mrr (0.0617 vs 0.0750) -0.0133 against 0.0071.
    page = content()
    page["test"]["candidate"] = figures(0.2125, 0.1234, examples=10_000)
    page["test"]["markov"] = figures(0.25, 0.1500, examples=10_000)
    rows = [line.split() for line in report.render_text(page).splitlines()]
    assert ["hr@10", "-0.0375", "0.0119", "behind"] in rows
    assert ["hr@1", "-0.0094", "0.0066", "behind"] in rows
    # Close figures are called within the noise, whichever is ahead.
    page["test"]["candidate"] = figures(0.2540, 0.1510, examples=10_000)
    rows = [line.split() for line in report.render_text(page).splitlines()]
    assert ["hr@10", "+0.0040", "0.0123", "within", "the", "noise"] in rows
    assert report.summary_block(page).splitlines()[-1] == (
        "  this model against first-order Markov: within the noise at hr@1, hr@5, hr@10, "
        "ndcg@10, mrr"
    )


def test_the_html_report_escapes_text_and_holds_the_same_figures():
    page = content()
    page["gate"]["rules"][0]["detail"] = "0.21 <b>x</b>"
    html = report.render_html(page)
    assert "<h1>Model quality: NOT BLESSED</h1>" in html
    assert "0.21 &lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert f"<img src='{report.CHART_FILE}'" in html
    assert "<tr><td>this model</td><td>0.0531</td><td>0.1062</td><td>0.2125</td>" in html
    assert "<tr><td>05+</td><td>25</td><td>0.3187</td><td>0.3750</td><td>0.0750</td></tr>" in html


def test_the_chart_is_a_png(tmp_path):
    path = tmp_path / report.CHART_FILE
    report.write_chart(content()["test"], str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_start_line_says_how_the_model_started():
    assert report.start_line(None) == "Model started: not recorded"
    scratch = {"started": "from_scratch", "reason": "no blessed model yet"}
    assert report.start_line(scratch) == "Model started: from scratch (no blessed model yet)"
    warm = {
        "started": "warm_start",
        "base_model_uri": "/out/Trainer/model/7",
        "base_model_artifact_id": 7,
        "tables": {"movie_id": {"vocabulary": "movie_id", "carried": 90, "new": 5, "dropped": 2}},
    }
    assert report.start_line(warm) == (
        "Model started: warm start from model artifact 7 /out/Trainer/model/7 "
        "(movie_id: 90 rows carried by value, 5 new, 2 dropped)"
    )


@pytest.mark.parametrize(
    ("first", "trained"), [(2, "the model trained on span 2"), (1, "trained on spans 1..2")]
)
def test_spans_line_names_the_held_out_span_and_the_trained_ones(first, trained):
    line = report.spans_line({"first_example_span": first, "held_out_span": 3})
    assert line.startswith("Span data: eval and test are the positions of span 3 (the newest)")
    assert line.endswith(trained)
    assert report.spans_line(None) is None


def test_summary_block_and_reports_carry_the_start_and_span_lines():
    spans = {"first_example_span": 1, "held_out_span": 3}
    page = content(model_start={"started": "from_scratch", "reason": "first run"}, spans=spans)
    for text in (report.summary_block(page), report.render_text(page)):
        assert "Model started: from scratch (first run)" in text
        assert "the model trained on spans 1..2" in text
    assert "<p>Model started: from scratch (first run)</p>" in report.render_html(page)
