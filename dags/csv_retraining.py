"""Weekly retraining from a CSV export: upload, tune (continue or bootstrap), evaluate, promote.

The CSV exports under gs://BUCKET/exports/ticket-triage/ (columns ``ticket`` and ``triage``) are validated,
converted and split. The logical model ``ticket-triage`` is tuned: from the version holding ``champion``
when there is one (a new version of the same registry model), else from the base model. The challenger is
evaluated against that champion on the held-out split, and ``champion`` moves only when it is no worse.
``ticket_triage_weekly`` runs every Monday; ``ticket_triage_on_new_data`` runs whenever new exports land.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG, Asset, AssetWatcher, CronTriggerTimetable, Param, task

from airflow_tuning.operators.dataset import UploadDatasetOperator
from airflow_tuning.operators.evaluation import EvaluateTunedModelOperator, PromoteTunedModelOperator
from airflow_tuning.operators.tuning import CreateTuningJobOperator
from airflow_tuning.triggers.gcs_objects import GCSNewObjectsTrigger

BUCKET = os.environ.get("AIRFLOW_TUNING_BUCKET", "tuning-data")
EXPORTS = "exports/ticket-triage/"  # where the ticketing system drops its weekly CSV export
MODEL = "ticket-triage"  # the logical model: one Model Registry display name, one champion
BASE_MODEL = "gemini-2.5-flash"  # tuned by the first run only; later runs continue from the champion
UPLOADED = "ti.xcom_pull(task_ids='upload')"
TUNED = "ti.xcom_pull(task_ids='tune')"


def retraining(dag_id: str, schedule: object) -> DAG:
    with DAG(
        dag_id,
        schedule=schedule,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        params={"min_improvement": Param(0.0, type="number", description="ROUGE-L gain needed over the champion")},
    ) as dag:
        upload = UploadDatasetOperator(
            task_id="upload",
            sources=f"gs://{BUCKET}/{EXPORTS}",
            destination=f"gs://{BUCKET}/datasets/{MODEL}",
            input_column="ticket",
            output_column="triage",
        )

        @task.short_circuit
        def data_changed(uploaded: dict) -> bool:
            return uploaded["changed"]  # the same data again: skip tuning, it would pay for the same job

        tune = CreateTuningJobOperator(
            task_id="tune",
            tuned_model_display_name=MODEL,
            base_model=BASE_MODEL,
            continue_from_alias="champion",
            training_dataset_uri="{{ " + UPLOADED + "['training_dataset_uri'] }}",
            validation_dataset_uri="{{ " + UPLOADED + "['validation_dataset_uri'] }}",
            epoch_count=3,
        )
        evaluate = EvaluateTunedModelOperator(
            task_id="evaluate",
            model="{{ " + TUNED + "['tuned_model'] }}",
            baseline="{{ " + TUNED + "['continued_from'] or '" + BASE_MODEL + "' }}",  # the champion
            eval_dataset_uri="{{ " + UPLOADED + "['validation_dataset_uri'] }}",
            min_improvement="{{ params.min_improvement }}",
            soft_fail=True,  # not better: skip, and so skip the promotion
        )
        promote = PromoteTunedModelOperator(
            task_id="promote", model_name="{{ " + TUNED + "['tuned_model'] }}", alias="champion"
        )
        data_changed(upload.output) >> tune >> evaluate >> promote
    return dag


dag = retraining("ticket_triage_weekly", CronTriggerTimetable("0 3 * * 1", timezone="UTC"))

# The same pipeline, run whenever new objects land under the export prefix (keep one of the two DAGs).
new_exports = Asset(
    name="ticket_triage_exports",
    uri=f"gs://{BUCKET}/{EXPORTS}",
    watchers=[AssetWatcher(name="ticket_triage_exports", trigger=GCSNewObjectsTrigger(bucket=BUCKET, prefix=EXPORTS))],
)
on_new_data = retraining("ticket_triage_on_new_data", schedule=[new_exports])
