"""Operator arguments are checked when the DAG is parsed, not after minutes of generation."""

from __future__ import annotations

import pytest

from airflow_tuning.common.rendered import mapping as _mapping
from airflow_tuning.common.rendered import optional_float as _optional_float
from airflow_tuning.evaluation.registry import PromotionError
from airflow_tuning.links import EvaluationReportLink
from airflow_tuning.operators.evaluation import EvaluateTunedModelOperator, PromoteTunedModelOperator

BASE = {"task_id": "e", "model": "models/1@2", "eval_dataset_uri": "gs://b/e.jsonl"}


def test_defaults():
    op = EvaluateTunedModelOperator(**BASE)
    assert [m.name for m in op.metric_specs] == ["exact_match", "token_f1", "rouge_l", "bleu"]
    assert op.primary_metric == "rouge_l" and op.max_concurrency == 32 and op.min_improvement == 0.0
    assert isinstance(op.operator_extra_links[0], EvaluationReportLink)
    assert EvaluationReportLink().name == "Evaluation report"
    assert EvaluationReportLink().xcom_key == "evaluation_report"


def test_primary_metric_defaults_to_the_first_metric_without_rouge_l():
    def my_score(prediction, reference):
        return 1.0

    op = EvaluateTunedModelOperator(**BASE, metrics=["bleu", my_score])
    assert op.primary_metric == "bleu"
    assert (
        EvaluateTunedModelOperator(**BASE, metrics=["bleu", my_score], primary_metric="my_score").primary_metric
        == "my_score"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"metrics": ["exact_match"], "primary_metric": "rouge_l"},
            "primary_metric 'rouge_l' is not among the metrics exact_match",
        ),
        ({"metrics": ["rouge"]}, "Unknown metric 'rouge'"),
        ({"thresholds": {"rouge": 0.5}}, "Threshold for unknown metric 'rouge'"),
        ({"thresholds": {"rouge_l": "high"}}, "must be a number"),
        ({"max_concurrency": 0}, "max_concurrency must be >= 1"),
        ({"max_examples": 0}, "max_examples must be >= 1"),
    ],
)
def test_bad_arguments_fail_at_parse_time(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EvaluateTunedModelOperator(**{**BASE, **kwargs})


def test_templated_thresholds_and_min_improvement_are_read_after_rendering():
    assert _mapping("{'rouge_l': 0.6}", "thresholds") == {"rouge_l": 0.6}
    assert _mapping({"bleu": "0.1"}, "thresholds") == {"bleu": "0.1"}
    assert _mapping("", "thresholds") == {} and _mapping(None, "thresholds") == {}
    with pytest.raises(ValueError, match="thresholds must be a mapping"):
        _mapping("rouge_l=0.6", "thresholds")
    with pytest.raises(ValueError, match="thresholds must be a mapping"):
        _mapping("[1, 2]", "thresholds")
    assert _optional_float("0.05", "min_improvement") == 0.05
    assert _optional_float("None", "min_improvement") is None and _optional_float(None, "m") is None
    with pytest.raises(ValueError, match="min_improvement must be a number or None"):
        _optional_float("a lot", "min_improvement")
    op = EvaluateTunedModelOperator(**BASE, thresholds="{{ params.t }}", min_improvement="{{ params.m }}")
    assert {"thresholds", "min_improvement", "model", "baseline", "eval_dataset_uri", "report_uri"} <= set(
        op.template_fields
    )


def test_promote_operator_checks_a_literal_alias():
    assert PromoteTunedModelOperator(task_id="p", model_name="models/1@2").alias == "champion"
    assert (
        PromoteTunedModelOperator(task_id="p", model_name="m", alias="{{ params.alias }}").alias == "{{ params.alias }}"
    )
    for bad in ("Champion", "1", "-x", "x" * 200):
        with pytest.raises(PromotionError, match="not a valid Model Registry version alias"):
            PromoteTunedModelOperator(task_id="p", model_name="models/1@2", alias=bad)
