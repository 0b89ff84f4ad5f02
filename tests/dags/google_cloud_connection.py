"""Tuning through a Google provider ``google_cloud_platform`` connection (``google_cloud_default``)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_tuning.operators.tuning import CreateTuningJobOperator

with DAG(dag_id="google_cloud_connection_tuning", schedule=None, start_date=datetime(2025, 1, 1), catchup=False) as dag:
    CreateTuningJobOperator(
        task_id="tune",
        gcp_conn_id="google_cloud_default",
        base_model="gemini-2.5-flash",
        training_dataset_uri="gs://gcp-conn-data/train.jsonl",
        deferrable=False,
        poll_interval=0.2,
    )
    CreateTuningJobOperator(  # the region comes from the task; the wait runs in the trigger
        task_id="tune_in_region",
        gcp_conn_id="google_cloud_default",
        location="europe-west4",
        base_model="gemini-2.5-flash",
        training_dataset_uri="gs://gcp-conn-data/train.jsonl",
        poll_interval=0.2,
    )
