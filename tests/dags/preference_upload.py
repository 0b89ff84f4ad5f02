"""Upload preference or prompt data: the format and CSV columns come from run_conf Params."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_tuning.operators.dataset import UploadDatasetOperator

PARAMS = {"sources": Param([], type="array"), "destination": Param("gs://bucket/d", type="string")}


def _record_failure(context) -> None:
    context["ti"].xcom_push(key="failure", value=str(context.get("exception")))


def _dag(dag_id: str, **kwargs) -> DAG:
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2025, 1, 1), catchup=False,
             render_template_as_native_obj=True, params=PARAMS) as dag:
        UploadDatasetOperator(
            task_id="upload", sources="{{ params.sources }}", destination="{{ params.destination }}",
            validation_fraction=0.5, on_failure_callback=_record_failure, **kwargs,
        )
    return dag


preference_dag = _dag("preference_upload", format="preference", prompt_column="question",
                      chosen_column="good", rejected_column="bad")
prompts_dag = _dag("prompts_upload", format="prompts")
