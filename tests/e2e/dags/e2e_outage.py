"""Tune and wait in the triggerer with a small transient-error count: the DAG behind the API-outage drill.

``max_transient_errors=1`` makes the old rule (give up after that many failed polls in a row) easy to exceed;
``timeout`` shows that a deadline still bounds the wait. Each run names its drill in ``conf["label"]``.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param

from airflow_tuning.operators.tuning import CreateTuningJobOperator

with DAG(
    dag_id="e2e_outage",
    schedule=None,
    catchup=False,
    tags=["e2e"],
    params={
        "training_dataset_uri": Param("gs://e2e-data/train.jsonl", type="string"),
        "label": Param("manual", type="string", pattern="^[a-z0-9_-]{1,63}$"),
        "duration_ms": Param(20_000, type="integer", minimum=100),
    },
) as dag:
    CreateTuningJobOperator(
        task_id="tune",
        base_model="gemini-2.5-flash",
        training_dataset_uri="{{ params.training_dataset_uri }}",
        epoch_count=2,
        labels={"e2e_drill": "{{ params.label }}", "emulator-duration-ms": "{{ params.duration_ms }}"},
        deferrable=True,
        poll_interval=1.0,
        max_poll_interval=3.0,
        max_transient_errors=1,
        timeout=900,
    )
