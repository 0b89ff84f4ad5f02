"""Retraining as the drills run it: validate and upload new data, tune on it in the triggerer, check the result.

Every run publishes under its own ``label`` (so a drill sees exactly what its run wrote) and tags the job
with it (``e2e_drill``), so a drill counts the jobs of its own runs.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG, Param, task

from airflow_tuning.operators.dataset import UploadDatasetOperator
from airflow_tuning.operators.tuning import CreateTuningJobOperator

SAMPLE_DATA = str(Path(__file__).resolve().parent / "data" / "train.jsonl")
UPLOADED = "ti.xcom_pull(task_ids='upload_dataset')"

with DAG(
    dag_id="e2e_retraining",
    description="Upload a tuning dataset, tune Gemini on it (waiting in the triggerer), check the tuned model.",
    schedule=None,
    catchup=False,
    max_active_runs=20,
    tags=["e2e", "gemini"],
    params={
        "dataset_path": Param(
            SAMPLE_DATA,
            type="string",
            title="Training data",
            description="Local JSONL or CSV file, directory or glob holding the new training examples.",
        ),
        "base_model": Param(
            "gemini-2.5-flash",
            type="string",
            enum=["gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-pro"],
            title="Base model",
            description="The Gemini model to tune.",
        ),
        "epoch_count": Param(
            2,
            type="integer",
            minimum=1,
            maximum=20,
            title="Epochs",
            description="Passes over the training data; more epochs fit the data more closely.",
        ),
        "label": Param(
            "manual",
            type="string",
            pattern="^[a-z0-9_-]{1,63}$",
            title="Run label",
            description="Tags the tuning job (label e2e_drill) and names the upload folder of this run.",
        ),
        "duration_ms": Param(
            8000,
            type="integer",
            minimum=100,
            title="Emulated job duration (ms)",
            description="How long the emulated tuning job runs before it succeeds.",
        ),
    },
) as dag:
    upload = UploadDatasetOperator(
        task_id="upload_dataset",
        sources="{{ params.dataset_path }}",
        destination="gs://e2e-data/retraining/{{ params.label }}",
        validation_fraction=0.2,
    )
    tune = CreateTuningJobOperator(
        task_id="tune",
        base_model="{{ params.base_model }}",
        training_dataset_uri="{{ " + UPLOADED + "['training_dataset_uri'] }}",
        validation_dataset_uri="{{ " + UPLOADED + "['validation_dataset_uri'] or '' }}",
        epoch_count="{{ params.epoch_count }}",
        tuned_model_display_name="e2e-{{ params.label }}",
        labels={"e2e_drill": "{{ params.label }}", "emulator-duration-ms": "{{ params.duration_ms }}"},
        deferrable=True,
        poll_interval=1.0,
        max_poll_interval=3.0,
        retries=1,
        retry_delay=timedelta(seconds=2),
    )

    @task
    def check(summary: dict) -> str:
        """Fail the run unless the job succeeded and produced a tuned model and an endpoint."""
        if summary.get("state") != "JOB_STATE_SUCCEEDED" or not summary.get("tuned_model"):
            raise ValueError(f"unexpected tuning summary: {summary}")
        return summary["tuned_model"]

    upload >> tune
    check(tune.output)
