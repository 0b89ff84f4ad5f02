"""The report: JSON content, worst-example ranking, and a self-contained, escaped HTML page."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from airflow_tuning.evaluation.dataset import parse_eval_lines
from airflow_tuning.evaluation.gate import evaluate_gate
from airflow_tuning.evaluation.metrics import DEFAULT_METRICS, resolve_metrics, score
from airflow_tuning.evaluation.report import build_report, render_chart, render_html, worst_example_indices

REFS = ["Paris is the capital", "Water boils at 100 C", "<b>bold</b> & more", "The sky is blue"]
PREDS = ["Paris is the capital", "Water freezes at 0 C", "<script>alert(1)</script>", "The sky is blue"]
BASE = ["I think Paris", "Water boils at 100 C", "nothing", "The sky is green"]


def examples():
    lines = [
        json.dumps(
            {
                "contents": [
                    {"role": "user", "parts": [{"text": f"Q{i} <i>?"}]},
                    {"role": "model", "parts": [{"text": r}]},
                ]
            }
        )
        for i, r in enumerate(REFS)
    ]
    return parse_eval_lines(lines, "gs://b/d/eval.jsonl")


def make_report(with_baseline=True, **kw):
    metrics = resolve_metrics(DEFAULT_METRICS)
    scores = score(PREDS, REFS, metrics)
    base_scores = score(BASE, REFS, metrics) if with_baseline else None
    gate = evaluate_gate(
        scores.corpus,
        thresholds={"rouge_l": 0.99},
        baseline_metrics=base_scores.corpus if base_scores else None,
        primary_metric="rouge_l",
    )
    return build_report(
        examples=examples(),
        predictions=PREDS,
        scores=scores,
        gate=gate,
        model={"requested": "models/1@2", "serving": "projects/p/locations/l/endpoints/9", "kind": "model"},
        eval_dataset_uri="gs://b/d/eval.jsonl",
        primary_metric="rouge_l",
        baseline={"requested": "gemini-2.5-flash", "serving": "gemini-2.5-flash"} if with_baseline else None,
        baseline_predictions=BASE if with_baseline else None,
        baseline_scores=base_scores,
        settings={"max_concurrency": 32},
        created_at="2026-01-01T00:00:00+00:00",
        **kw,
    )


def test_report_json_summarises_metrics_delta_and_gate():
    report = make_report(worst_count=2)
    json.dumps(report)  # JSON-ready
    assert report["examples"] == 4
    assert set(report["metrics"]) == set(DEFAULT_METRICS)
    for name in DEFAULT_METRICS:
        assert report["delta"][name] == pytest.approx(report["metrics"][name] - report["baseline_metrics"][name])
    assert report["passed"] is False and report["failures"][0].startswith("rouge_l = ")
    assert [r["metric"] for r in report["gate"]] == list(DEFAULT_METRICS)
    assert len(report["predictions"]) == 4 and "input" not in report["predictions"][0]
    assert report["predictions"][2]["prediction"] == PREDS[2]


def test_worst_examples_are_lowest_primary_score_then_biggest_regression():
    report = make_report(worst_count=2)
    worst = report["worst_examples"]
    # example 3 (line 3) shares nothing with its reference; example 2 (line 2) is the next lowest
    assert [w["line"] for w in worst] == [3, 2]
    assert worst[0]["input"] == "Q2 <i>?" and worst[0]["reference"] == REFS[2]
    assert worst[0]["baseline_prediction"] == BASE[2]
    assert worst[0]["scores"]["rouge_l"] <= worst[1]["scores"]["rouge_l"]


def test_worst_ranking_breaks_ties_by_regression():
    metrics = resolve_metrics(["exact_match"])
    scores = score(["x", "x", "x"], ["a", "b", "c"], metrics)  # all 0
    base = score(["x", "b", "x"], ["a", "b", "c"], metrics)  # example 1 regressed
    assert worst_example_indices(scores, "exact_match", 2, base) == [1, 0]
    assert worst_example_indices(scores, "exact_match", 0) == []


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)


def test_html_shows_every_number_and_is_self_contained_and_escaped():
    report = make_report()
    page = render_html(report)
    for name in DEFAULT_METRICS:
        assert f"{report['metrics'][name]:.4f}" in page
        assert f"{report['baseline_metrics'][name]:.4f}" in page
        assert f"{report['delta'][name]:+.4f}" in page
    assert "FAILED" in page and "rouge_l = " in page
    parser = _Collector()
    parser.feed(page)
    assert "script" not in parser.tags and "link" not in parser.tags and "img" not in parser.tags
    assert {"svg", "rect", "table", "style"} <= set(parser.tags)
    # no external asset: no src attribute, no href, no url() in CSS
    assert not [a for a in parser.attrs if a[0] in ("src", "href")]
    assert "url(" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in page
    assert "Q2 &lt;i&gt;?" in page


def test_html_without_baseline_has_no_baseline_column():
    page = render_html(make_report(with_baseline=False))
    assert "baseline prediction" not in page and "<th>baseline</th>" not in page
    assert page.count("<rect") == len(DEFAULT_METRICS)


def test_chart_has_one_bar_per_model_and_metric_scaled_to_one():
    svg = render_chart({"a": 0.5, "b": 1.0}, {"a": 0.25, "b": 0.0})
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([0-9.]+)"', svg)]
    assert widths == [220.0, 110.0, 440.0, 0.0]
    assert "0.2500" in svg and "a baseline 0.2500" in svg


def test_long_text_is_clipped_in_html():
    report = make_report()
    report["worst_examples"][0]["prediction"] = "x" * 10_000
    page = render_html(report)
    assert "x" * 4000 + " [...]" in page and "x" * 4001 not in page
