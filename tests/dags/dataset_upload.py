"""Upload tuning data: local files, gs:// history and examples collected by an upstream task, merged."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, Param, task

from airflow_tuning.operators.dataset import UploadDatasetOperator

TRAINING_DATA = Asset(name="dataset-upload-test-training-data")

with DAG(
    dag_id="dataset_upload",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    render_template_as_native_obj=True,
    params={
        "sources": Param([], type="array"),
        "feedback": Param([], type="array"),
        "destination": Param("gs://bucket/datasets", type="string"),
        "system_instruction": Param("", type="string"),
    },
) as dag:

    @task
    def collect_feedback(params=None) -> list:
        """Stands in for a task that gathers reviewed conversations; its list goes through XCom."""
        return params["feedback"]

    UploadDatasetOperator(
        task_id="upload",
        sources="{{ params.sources }}",
        examples=collect_feedback(),
        destination="{{ params.destination }}",
        system_instruction="{{ params.system_instruction }}",
        validation_max=20,
        max_reported_problems=5,
        asset=TRAINING_DATA,
        retries=2,
        retry_delay=timedelta(seconds=1),
    )

with DAG(
    dag_id="dataset_upload_bad_limits",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={"sources": Param([], type="array"), "destination": Param("gs://bucket/datasets", type="string")},
) as bad_limits_dag:
    UploadDatasetOperator(  # a negative count: refused when the task runs, without a retry
        task_id="upload",
        sources="{{ params.sources }}",
        destination="{{ params.destination }}",
        limits={"max_images": -1},
        retries=2,
        retry_delay=timedelta(seconds=1),
    )
