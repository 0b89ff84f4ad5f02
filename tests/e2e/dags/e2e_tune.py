"""Tune on an already uploaded dataset and wait in the triggerer: the DAG behind the triggerer and kill drills.

Each run names its drill in ``conf["label"]``; the job carries it as the ``e2e_drill`` label, so a drill
counts the jobs of its own runs. ``duration_ms`` sets how long the emulated job runs.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, Param, task

from airflow_tuning.operators.tuning import CreateTuningJobOperator

with DAG(
    dag_id="e2e_tune",
    schedule=None,
    catchup=False,
    max_active_runs=60,
    max_active_tasks=120,
    tags=["e2e"],
    params={
        "training_dataset_uri": Param("gs://e2e-data/train.jsonl", type="string"),
        "label": Param("manual", type="string", pattern="^[a-z0-9_-]{1,63}$"),
        "duration_ms": Param(6000, type="integer", minimum=100),
    },
) as dag:
    tune = CreateTuningJobOperator(
        task_id="tune",
        base_model="gemini-2.5-flash",
        training_dataset_uri="{{ params.training_dataset_uri }}",
        epoch_count=2,
        labels={"e2e_drill": "{{ params.label }}", "emulator-duration-ms": "{{ params.duration_ms }}"},
        deferrable=True,
        poll_interval=1.0,
        max_poll_interval=3.0,
        retries=1,
        retry_delay=timedelta(seconds=2),
    )

    @task
    def check(summary: dict) -> str:
        """Fail the run unless the job summary says the job succeeded and produced a model."""
        if summary.get("state") != "JOB_STATE_SUCCEEDED" or not summary.get("tuned_model"):
            raise ValueError(f"unexpected tuning summary: {summary}")
        return summary["tuned_model"]

    check(tune.output)
