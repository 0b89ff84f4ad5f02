"""Many waits with a small transient-error count: the DAG behind the many-runs API outage drill.

``max_transient_errors=1``: two failed polls in a row already exceed the count, so an outage of a minute is
far longer than the transient-error budget. ``timeout`` is the deadline that still bounds every wait.
Each run names its drill in ``conf["label"]``; ``duration_ms`` sets how long the emulated job runs.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param

from airflow_tuning.operators.tuning import CreateTuningJobOperator

with DAG(
    dag_id="e2e_outage_fleet",
    schedule=None,
    catchup=False,
    max_active_runs=60,
    max_active_tasks=120,
    tags=["e2e"],
    params={
        "training_dataset_uri": Param("gs://e2e-data/train.jsonl", type="string"),
        "label": Param("manual", type="string", pattern="^[a-z0-9_-]{1,63}$"),
        "duration_ms": Param(30_000, type="integer", minimum=100),
    },
) as dag:
    CreateTuningJobOperator(
        task_id="tune",
        base_model="gemini-2.5-flash",
        training_dataset_uri="{{ params.training_dataset_uri }}",
        epoch_count=1,
        labels={"e2e_drill": "{{ params.label }}", "emulator-duration-ms": "{{ params.duration_ms }}"},
        deferrable=True,
        poll_interval=1.0,
        max_poll_interval=3.0,
        max_transient_errors=1,
        timeout=1800,
    )
