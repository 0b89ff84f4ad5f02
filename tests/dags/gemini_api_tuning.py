"""The Gemini Developer API backend end to end: the tutorial's number-sequence example tuned, evaluated and
deleted; a run submitted without waiting and watched by the sensor; one example over the input limit; a run
that the API fails.

Values a test varies (the evaluation and training files, the failing run) come from ``{{ params.* }}``.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG

from airflow_tuning.operators.evaluation import EvaluateTunedModelOperator
from airflow_tuning.operators.gemini_api import DeleteTunedModelOperator
from airflow_tuning.operators.tuning import CreateTuningJobOperator
from airflow_tuning.sensors.tuning import TuningJobSensor
from tests.gemini_api.number_sequence import BASE_MODEL, EXAMPLES, HYPERPARAMETERS, PAIRS

FAST = {"poll_interval": 0.2, "max_poll_interval": 0.5}
TUNED_MODEL = "{{ ti.xcom_pull(task_ids='%s')['tuned_model'] }}"


def _record_failure(context: Any) -> None:
    """Keep the failure message where the test can read it: the task log is not stored by dag.test()."""
    context["ti"].xcom_push(key="failure", value=str(context.get("exception")))


with DAG(
    "gemini_api_tuning",
    schedule=None,
    params={"eval_uri": "", "training_uri": "", "failed_run": "", "test_id": "unset"},
    default_args={"on_failure_callback": _record_failure},
) as dag:
    tune = CreateTuningJobOperator(
        task_id="tune",
        backend="gemini_api",
        base_model=BASE_MODEL,
        training_examples=EXAMPLES,
        tuned_model_display_name="number generator {{ params.test_id }}",
        **HYPERPARAMETERS,
        **FAST,
    )
    evaluate = EvaluateTunedModelOperator(
        task_id="evaluate",
        backend="gemini_api",
        model=TUNED_MODEL % "tune",
        baseline="models/gemini-1.5-flash-001",
        eval_dataset_uri="{{ params.eval_uri }}",
        metrics=["exact_match"],
        thresholds={"exact_match": 1.0},
        min_improvement=0.5,
    )
    tune >> evaluate >> DeleteTunedModelOperator(task_id="delete", tuned_model_name=tune.output)

    submit = CreateTuningJobOperator(
        task_id="submit",
        backend="gemini_api",
        training_dataset_uri="{{ params.training_uri }}",
        epoch_count=2,
        wait_for_completion=False,
    )
    watch = TuningJobSensor(
        task_id="watch",
        backend="gemini_api",
        tuning_job_name="{{ ti.xcom_pull(task_ids='submit')['tuning_job'] }}",
        **FAST,
    )
    submit >> watch >> DeleteTunedModelOperator(task_id="delete_watched", tuned_model_name=TUNED_MODEL % "watch")

    CreateTuningJobOperator(
        task_id="too_long",
        backend="gemini_api",
        training_examples=[*PAIRS, ["x" * 40_001, "too long"]],
    )
    TuningJobSensor(
        task_id="failed",
        backend="gemini_api",
        tuning_job_name="{{ params.failed_run }}",
        deferrable=False,  # the poke path; "watch" covers the deferred one
        **FAST,
    )
