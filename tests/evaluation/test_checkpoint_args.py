"""Checkpoint and classification arguments are checked when the DAG is parsed."""

from __future__ import annotations

import pytest

from airflow_tuning.evaluation.checkpoints import CheckpointError
from airflow_tuning.evaluation.classification import LabelError
from airflow_tuning.evaluation.default_checkpoint import requested_checkpoint
from airflow_tuning.evaluation.registry import PromotionError
from airflow_tuning.operators.evaluation import EvaluateTunedModelOperator, PromoteTunedModelOperator

BASE = {"task_id": "e", "model": "models/1@2", "eval_dataset_uri": "gs://b/e.jsonl"}


def test_checkpoint_arguments():
    assert EvaluateTunedModelOperator(**BASE).checkpoints == "last"
    assert EvaluateTunedModelOperator(**BASE, checkpoints="all").checkpoints == "all"
    assert EvaluateTunedModelOperator(**BASE, checkpoints=["1", 3]).checkpoints == ["1", 3]
    templated = "{{ params.checkpoints }}"
    assert EvaluateTunedModelOperator(**BASE, checkpoints=templated).checkpoints == templated
    assert "checkpoints" in EvaluateTunedModelOperator.template_fields
    for bad in ("best", [], ["1", None]):
        with pytest.raises(CheckpointError, match="checkpoints must be 'all', 'last' or a non-empty list"):
            EvaluateTunedModelOperator(**BASE, checkpoints=bad)


def test_classification_arguments():
    op = EvaluateTunedModelOperator(**BASE, metrics=["accuracy", "macro_f1"], primary_metric="macro_f1",
                                    label_pattern=r"category: (\w+)", thresholds={"f1:billing": 0.8})
    assert [m.name for m in op.metric_specs] == ["accuracy", "macro_f1"] and op.primary_metric == "macro_f1"
    with pytest.raises(LabelError, match="not a valid regular expression"):
        EvaluateTunedModelOperator(**BASE, metrics=["accuracy"], label_pattern="(")
    with pytest.raises(ValueError, match="needs metric 'accuracy' or 'macro_f1'"):
        EvaluateTunedModelOperator(**BASE, thresholds={"f1:billing": 0.8})


def test_promotion_checkpoint_argument():
    op = PromoteTunedModelOperator(task_id="p", model_name="models/1@2", checkpoint_id="{{ x }}")
    assert "checkpoint_id" in PromoteTunedModelOperator.template_fields and op.checkpoint_id == "{{ x }}"
    assert requested_checkpoint(None) is None and requested_checkpoint("None") is None
    assert requested_checkpoint(" ") is None and requested_checkpoint(3) == "3" and requested_checkpoint("2") == "2"
    with pytest.raises(PromotionError, match="checkpoint_id must be a checkpoint id"):
        requested_checkpoint(["3"])
