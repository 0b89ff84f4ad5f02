"""A budgeted tuning job: straight from a gs:// file, or from UploadDatasetOperator's result."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_tuning.operators.dataset import UploadDatasetOperator
from airflow_tuning.operators.tuning import CreateTuningJobOperator

PARAMS = {
    "train": Param("", type="string"),
    "source": Param("", type="string"),
    "destination": Param("", type="string"),
    "base_model": Param("gemini-2.5-flash", type="string"),
    "epochs": Param(2, type="integer"),
    "max_billable_tokens": Param(None, type=["null", "integer"]),
    "max_cost_usd": Param(None, type=["null", "number"]),
    "tuning_prices": Param(None, type=["null", "object"]),
    "test_id": Param("", type="string"),
}


def _tune(train: str) -> CreateTuningJobOperator:
    return CreateTuningJobOperator(
        task_id="tune",
        base_model="{{ params.base_model }}",
        training_dataset_uri=train,
        epoch_count="{{ params.epochs }}",
        max_billable_tokens="{{ params.max_billable_tokens }}",
        max_cost_usd="{{ params.max_cost_usd }}",
        tuning_prices="{{ params.tuning_prices }}",
        labels={"test": "{{ params.test_id }}", "emulator-duration-ms": "600"},
        poll_interval=0.2,
        max_poll_interval=0.5,
        retries=0,
    )


with DAG(dag_id="tuning_budget", schedule=None, start_date=datetime(2025, 1, 1), catchup=False,
         render_template_as_native_obj=True, params=PARAMS) as direct_dag:
    _tune("{{ params.train }}")

with DAG(dag_id="tuning_budget_upload", schedule=None, start_date=datetime(2025, 1, 1), catchup=False,
         render_template_as_native_obj=True, params=PARAMS) as upload_dag:
    upload = UploadDatasetOperator(
        task_id="upload", sources=["{{ params.source }}"], destination="{{ params.destination }}"
    )
    upload >> _tune("{{ ti.xcom_pull(task_ids='upload')['training_dataset_uri'] }}")
