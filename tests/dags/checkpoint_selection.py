"""Tune for many epochs, evaluate every checkpoint, promote the best, then continue from the champion."""

from __future__ import annotations

from airflow.sdk import DAG

from airflow_tuning.operators.evaluation import EvaluateTunedModelOperator, PromoteTunedModelOperator
from airflow_tuning.operators.tuning import ContinueTuningOperator, CreateTuningJobOperator

FAST = {"poll_interval": 0.2, "max_poll_interval": 0.5}
LABELS = {"emulator-duration-ms": "1500", "checkpoint-test": "{{ params.test_id }}"}
TUNED = "{{ ti.xcom_pull(task_ids='tune')['tuned_model'] }}"

with DAG(
    "checkpoint_selection",
    schedule=None,
    params={"train": "", "eval": "", "epochs": 6, "test_id": "unset", "checkpoints": "all"},
) as dag:
    tune = CreateTuningJobOperator(
        task_id="tune",
        base_model="gemini-2.5-flash",
        training_dataset_uri="{{ params.train }}",
        epoch_count="{{ params.epochs }}",
        tuned_model_display_name="checkpoints-{{ params.test_id }}",
        labels=LABELS,
        **FAST,
    )
    evaluate = EvaluateTunedModelOperator(
        task_id="evaluate",
        model=TUNED,
        baseline="gemini-2.5-flash",
        eval_dataset_uri="{{ params.eval }}",
        checkpoints="{{ params.checkpoints }}",
        thresholds={"rouge_l": 0.5},
        max_concurrency=8,
    )
    promote = PromoteTunedModelOperator(
        task_id="promote",
        model_name=TUNED,
        checkpoint_id="{{ ti.xcom_pull(task_ids='evaluate')['best_checkpoint'] }}",
    )
    tune >> evaluate >> promote


with DAG(
    "checkpoint_continuation",
    schedule=None,
    params={"model": "", "train": "", "test_id": "unset"},
) as continuation_dag:
    ContinueTuningOperator(
        task_id="continue_tuning",
        pre_tuned_model="{{ params.model }}@champion",
        training_dataset_uri="{{ params.train }}",
        epoch_count=1,
        labels=LABELS,
        **FAST,
    )


with DAG(
    "checkpoint_promote",
    schedule=None,
    params={"model_name": "", "checkpoint_id": ""},
) as promote_dag:
    PromoteTunedModelOperator(
        task_id="promote", model_name="{{ params.model_name }}", checkpoint_id="{{ params.checkpoint_id }}"
    )
