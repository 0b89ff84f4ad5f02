"""Many tuning waits at once: each run submits one job and defers; the DAG behind the 50-run drill."""

from __future__ import annotations

from airflow.sdk import DAG, Param

from airflow_tuning.operators.tuning import CreateTuningJobOperator

with DAG(
    dag_id="e2e_fanout",
    schedule=None,
    catchup=False,
    max_active_runs=250,
    max_active_tasks=250,
    tags=["e2e"],
    params={
        "training_dataset_uri": Param("gs://e2e-data/train.jsonl", type="string"),
        "label": Param("manual", type="string", pattern="^[a-z0-9_-]{1,63}$"),
        "duration_ms": Param(120_000, type="integer", minimum=100),
    },
) as dag:
    CreateTuningJobOperator(
        task_id="tune",
        base_model="gemini-2.5-flash",
        training_dataset_uri="{{ params.training_dataset_uri }}",
        epoch_count=1,
        labels={"e2e_drill": "{{ params.label }}", "emulator-duration-ms": "{{ params.duration_ms }}"},
        deferrable=True,
        poll_interval=5.0,
        max_poll_interval=15.0,
    )
