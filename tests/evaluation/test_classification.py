"""Classification metrics, checkpoint choice and the checkpoint chart, as pure functions."""

from __future__ import annotations

import pytest

from airflow_tuning.evaluation.chart import render_checkpoint_chart
from airflow_tuning.evaluation.checkpoints import (
    Checkpoint,
    CheckpointError,
    VersionCheckpoints,
    best_index,
    parse_selection,
    select,
)
from airflow_tuning.evaluation.classification import UNKNOWN, LabelError, classify, per_label_values
from airflow_tuning.evaluation.gate import evaluate_gate, normalize_thresholds
from airflow_tuning.evaluation.metrics import resolve_metrics, score

REFS = ["billing", "billing", "outage", "outage", "access", "access"]
PREDS = ["billing", "outage", "outage", "outage", "access", "I am not sure"]


def test_accuracy_macro_f1_and_per_label_scores_by_hand():
    result = classify(PREDS, REFS)
    assert result.labels == ["access", "billing", "outage", UNKNOWN]
    # rows: true label, columns: predicted
    assert result.matrix == [[1, 0, 0, 1], [0, 1, 1, 0], [0, 0, 2, 0], [0, 0, 0, 0]]
    assert result.accuracy == pytest.approx(4 / 6)
    assert result.per_label["billing"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert result.per_label["outage"]["precision"] == pytest.approx(2 / 3)
    assert result.per_label["outage"]["recall"] == 1.0 and result.per_label["outage"]["f1"] == pytest.approx(0.8)
    assert result.per_label["access"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert UNKNOWN not in result.per_label, "unknown is a class of answers, not a label to average"
    assert result.macro_f1 == pytest.approx((2 / 3 + 0.8 + 2 / 3) / 3)
    assert result.flat()["f1:outage"] == pytest.approx(0.8)


def test_label_pattern_extracts_a_field_and_case_and_spacing_do_not_matter():
    refs = ["category: billing; priority: p2", "category: outage; priority: p1"]
    preds = ["Category: BILLING; priority: p3", "priority: p1"]
    result = classify(preds, refs, r"(?i)category:\s*(\w+)")
    assert result.accuracy == 0.5
    assert result.matrix[result.labels.index("outage")][result.labels.index(UNKNOWN)] == 1
    metrics = resolve_metrics(["accuracy", "macro_f1", "exact_match"], label_pattern=r"(?i)category:\s*(\w+)")
    scores = score(preds, refs, metrics)
    assert scores.corpus["accuracy"] == 0.5 and scores.per_example["accuracy"] == [1.0, 0.0]
    assert scores.corpus["macro_f1"] == pytest.approx(result.macro_f1)
    assert scores.corpus["exact_match"] == 0.0


def test_unlabelled_reference_and_bad_patterns_are_clear_errors():
    with pytest.raises(LabelError, match=r"eval.jsonl line 2 has no label matching label_pattern"):
        classify(["a", "b"], ["category: a", "no category here"], r"category: (\w+)",
                 names=["eval.jsonl line 1", "eval.jsonl line 2"])
    with pytest.raises(LabelError, match="not a valid regular expression"):
        resolve_metrics(["accuracy"], label_pattern="category: (")
    with pytest.raises(LabelError, match="2 groups"):
        resolve_metrics(["accuracy"], label_pattern=r"(a)(b)")
    with pytest.raises(ValueError, match="accuracy, macro_f1"):
        resolve_metrics(["acuracy"])


def test_gate_on_macro_f1_and_per_label_thresholds():
    names = ["accuracy", "macro_f1"]
    thresholds = normalize_thresholds({"macro_f1": "0.5", "f1:Billing": 0.9, "recall:outage": 0.9}, names)
    result = classify(PREDS, REFS)
    values = {"accuracy": result.accuracy, "macro_f1": result.macro_f1, **per_label_values(thresholds, result)}
    gate = evaluate_gate(values, thresholds=thresholds, baseline_metrics={"macro_f1": 0.2},
                         primary_metric="macro_f1")
    assert not gate.passed
    assert gate.failures == ["f1:Billing = 0.6667 is below the threshold 0.9000"]
    with pytest.raises(ValueError, match="per label, which needs metric 'accuracy' or 'macro_f1'"):
        normalize_thresholds({"f1:billing": 0.5}, ["rouge_l"])
    with pytest.raises(ValueError, match="per-label thresholds look like"):
        normalize_thresholds({"f2:billing": 0.5}, names)
    with pytest.raises(LabelError, match="no reference in the evaluation data has; its labels are: access, billing"):
        per_label_values({"f1:biling": 0.5}, result)


def test_checkpoint_selection_values():
    assert parse_selection("all") == "all" and parse_selection(" LAST ") == "last" and parse_selection(None) == "last"
    assert parse_selection(["2", 3, "2"]) == ["2", "3"]
    assert parse_selection("['1', '4']") == ["1", "4"] and parse_selection("1, 4") == ["1", "4"]
    for bad in ("best", [], [None], "[1,", True, 2.5):
        with pytest.raises(CheckpointError, match="'all', 'last' or a non-empty list"):
            parse_selection(bad)


def test_select_refuses_unknown_and_undeployed_checkpoints():
    found = VersionCheckpoints("projects/p/locations/l/models/1@2", "3", [
        Checkpoint("1", 1, 2, "e1"), Checkpoint("2", 2, 4, None), Checkpoint("3", 3, 6, "e3")])
    assert [c.checkpoint_id for c in select(found, "last")] == ["3"]
    assert [c.checkpoint_id for c in select(found, ["3", "1"])] == ["1", "3"]
    with pytest.raises(CheckpointError, match=r"Checkpoint\(s\) 7, x do not exist .* its checkpoints are: 1, 2, 3"):
        select(found, ["1", "7", "x"])
    with pytest.raises(CheckpointError, match="2 of model .* are not deployed"):
        select(found, "all")
    with pytest.raises(CheckpointError, match="has no checkpoints"):
        select(VersionCheckpoints("m@1", None, []), "all")


def test_best_checkpoint_ties_go_to_the_earlier_epoch():
    assert best_index([0.5, 0.9, 0.7], [1, 2, 3]) == 1
    assert best_index([0.9, 0.9, 0.9], [3, 1, 2]) == 1
    assert best_index([0.8, 0.9 + 1e-12, 0.9], [1, 3, 2]) == 2


def test_chart_marks_the_chosen_checkpoint_and_draws_the_baseline():
    rows = [{"checkpoint_id": str(e), "epoch": e, "metrics": {"rouge_l": v}} for e, v in [(1, .5), (2, .9), (3, .7)]]
    svg = render_checkpoint_chart(rows, "rouge_l", baseline_value=0.4, best_checkpoint="2")
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "<script" not in svg
    assert svg.count('class="chosen"') == 1 and svg.count('class="checkpoint"') == 2
    assert "chosen: 2 (0.9000)" in svg and 'class="baseline"' in svg and "<polyline" in svg
    assert 'class="baseline"' not in render_checkpoint_chart(rows, "rouge_l", best_checkpoint="<b>")
    assert "&lt;b&gt;" not in render_checkpoint_chart(rows, "rouge_l")
