"""DAGs driven by tests/methods: preference tuning and distillation as operators, configured through Params."""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG

from airflow_tuning.operators.tuning import ContinueTuningOperator, CreateTuningJobOperator

FAST = {"poll_interval": 0.2, "max_poll_interval": 0.5}
LABELS = {"emulator-duration-ms": "{{ params.duration_ms }}", "methods-test": "{{ params.test_id }}"}
PARAMS: dict[str, Any] = {"train": "", "duration_ms": "1200", "test_id": "unset", "pre_tuned_model": ""}


def _record_failure(context: Any) -> None:
    context["ti"].xcom_push(key="failure", value=str(context.get("exception")))


with DAG("methods_preference", schedule=None, params=PARAMS) as preference_dag:
    CreateTuningJobOperator(
        task_id="tune",
        base_model="gemini-2.5-flash",
        method="preference",
        beta=0.2,
        training_dataset_uri="{{ params.train }}",
        epoch_count=2,
        adapter_size=4,
        learning_rate_multiplier=1.5,
        tuned_model_display_name="methods-{{ params.test_id }}",
        labels=LABELS,
        on_failure_callback=_record_failure,
        **FAST,
    )

with DAG("methods_distillation", schedule=None, params=PARAMS) as distillation_dag:
    CreateTuningJobOperator(
        task_id="tune",
        base_model="gemini-2.5-flash",
        method="distillation",
        base_teacher_model="gemini-3.1-pro",
        sft_loss_weight_multiplier=0.5,
        training_dataset_uri="{{ params.train }}",
        epoch_count=1,
        labels=LABELS,
        on_failure_callback=_record_failure,
        deferrable=False,
        **FAST,
    )

with DAG("methods_continue_preference", schedule=None, params=PARAMS) as continue_dag:
    ContinueTuningOperator(
        task_id="tune",
        method="preference",
        pre_tuned_model="{{ params.pre_tuned_model }}",
        training_dataset_uri="{{ params.train }}",
        epoch_count=1,
        labels=LABELS,
        on_failure_callback=_record_failure,
        **FAST,
    )
