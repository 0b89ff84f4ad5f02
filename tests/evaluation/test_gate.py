"""The promotion gate: thresholds, improvement over the baseline on the primary metric, the failure table."""

from __future__ import annotations

import pytest

from airflow_tuning.evaluation.gate import evaluate_gate, normalize_thresholds

METRICS = {"exact_match": 0.5, "token_f1": 0.7, "rouge_l": 0.65, "bleu": 0.4}


def test_no_thresholds_no_baseline_passes():
    result = evaluate_gate(METRICS, primary_metric="rouge_l")
    assert result.passed and result.failures == []
    assert [r.metric for r in result.rows] == list(METRICS)


def test_thresholds_met_and_missed():
    assert evaluate_gate(METRICS, thresholds={"rouge_l": 0.6, "bleu": 0.4}, primary_metric="rouge_l").passed
    result = evaluate_gate(METRICS, thresholds={"rouge_l": 0.7, "token_f1": 0.5}, primary_metric="rouge_l")
    assert not result.passed
    assert result.failures == ["rouge_l = 0.6500 is below the threshold 0.7000"]
    assert {r.metric: r.ok for r in result.rows} == {
        "exact_match": True,
        "token_f1": True,
        "rouge_l": False,
        "bleu": True,
    }


def test_threshold_equal_after_float_arithmetic_passes():
    assert evaluate_gate({"rouge_l": 0.1 * 6}, thresholds={"rouge_l": 0.6}, primary_metric="rouge_l").passed


def test_baseline_improvement_on_primary_metric_only():
    baseline = {"exact_match": 0.6, "token_f1": 0.6, "rouge_l": 0.55, "bleu": 0.5}
    result = evaluate_gate(METRICS, baseline_metrics=baseline, min_improvement=0.05, primary_metric="rouge_l")
    # rouge_l improved by 0.10; exact_match and bleu got worse but are not the primary metric
    assert result.passed
    row = next(r for r in result.rows if r.metric == "rouge_l")
    assert row.delta == pytest.approx(0.10) and row.required_delta == 0.05 and row.baseline == 0.55


def test_baseline_not_beaten_by_enough_fails():
    baseline = {**METRICS, "rouge_l": 0.62}
    result = evaluate_gate(METRICS, baseline_metrics=baseline, min_improvement=0.05, primary_metric="rouge_l")
    assert not result.passed
    assert result.failures == ["rouge_l improves on the baseline by +0.0300, less than the required +0.0500"]


def test_default_min_improvement_means_no_worse_than_baseline():
    worse = evaluate_gate(METRICS, baseline_metrics={**METRICS, "rouge_l": 0.66}, primary_metric="rouge_l")
    assert not worse.passed
    equal = evaluate_gate(METRICS, baseline_metrics=dict(METRICS), primary_metric="rouge_l")
    assert equal.passed


def test_min_improvement_none_compares_without_gating():
    result = evaluate_gate(
        METRICS, baseline_metrics={**METRICS, "rouge_l": 0.9}, min_improvement=None, primary_metric="rouge_l"
    )
    assert result.passed
    assert next(r for r in result.rows if r.metric == "rouge_l").delta == pytest.approx(-0.25)


def test_table_lists_values_thresholds_baseline_and_status():
    result = evaluate_gate(
        METRICS,
        thresholds={"rouge_l": 0.7},
        baseline_metrics={**METRICS, "rouge_l": 0.6},
        min_improvement=0.1,
        primary_metric="rouge_l",
    )
    table = result.table()
    lines = table.splitlines()
    assert lines[0].split() == ["metric", "value", "threshold", "baseline", "delta", "status"]
    rouge = next(row for row in lines if row.startswith("rouge_l"))
    assert "0.6500" in rouge and ">= 0.7000" in rouge and "0.6000" in rouge and "+0.0500 (>= +0.1000)" in rouge
    assert rouge.endswith("FAIL")
    assert next(row for row in lines if row.startswith("bleu")).endswith("ok")
    assert len(result.failures) == 2


def test_normalize_thresholds():
    assert normalize_thresholds({"rouge_l": "0.6", "bleu": 1}, ["rouge_l", "bleu"]) == {"rouge_l": 0.6, "bleu": 1.0}
    assert normalize_thresholds(None, ["bleu"]) == {}
    with pytest.raises(ValueError, match="unknown metric 'rouge_2'; computed metrics are rouge_l, bleu"):
        normalize_thresholds({"rouge_2": 0.5}, ["rouge_l", "bleu"])
    with pytest.raises(ValueError, match="'bleu' must be a number, got 'high'"):
        normalize_thresholds({"bleu": "high"}, ["bleu"])
