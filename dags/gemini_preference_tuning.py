"""Preference tuning the way Google recommends it: supervised first, then preference tuning from that model.

Reviewers compare two answers per prompt; their verdicts land as CSV under gs://BUCKET/preference/
(columns ``prompt``, ``chosen``, ``rejected``) and curated demonstrations under gs://BUCKET/demonstrations/
(``prompt``, ``chosen``). The pipeline:

1. uploads the demonstrations as supervised data (prompt -> chosen answer) and the verdicts as Vertex
   preference data (validated, deduplicated, split by content hash);
2. tunes ``gemini-2.5-flash`` on the chosen answers (supervised);
3. continues from that model with ``method="preference"`` on the pairs;
4. evaluates the preference-tuned model against the supervised one on the held-out pairs:
   ``preference_accuracy`` is the share of pairs where the answer is closer to the chosen than to the
   rejected completion;
5. promotes it to ``champion`` only when it is better.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_tuning.operators.dataset import UploadDatasetOperator
from airflow_tuning.operators.evaluation import EvaluateTunedModelOperator, PromoteTunedModelOperator
from airflow_tuning.operators.tuning import ContinueTuningOperator, CreateTuningJobOperator

BUCKET = os.environ.get("AIRFLOW_TUNING_BUCKET", "tuning-data")
POLL = float(os.environ.get("AIRFLOW_TUNING_POLL_INTERVAL", "30"))
MODEL = "support-assistant"
PAIRS = "ti.xcom_pull(task_ids='upload_pairs')"
SFT = "ti.xcom_pull(task_ids='tune_supervised')"
PREFERENCE = "ti.xcom_pull(task_ids='tune_preference')"

with DAG(
    "gemini_preference_tuning",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["gemini", "preference-tuning"],
) as dag:
    upload_demonstrations = UploadDatasetOperator(
        task_id="upload_demonstrations",
        sources=f"gs://{BUCKET}/demonstrations/",
        destination=f"gs://{BUCKET}/datasets/{MODEL}-sft",
        format="csv",
        input_column="prompt",
        output_column="chosen",
    )
    upload_pairs = UploadDatasetOperator(
        task_id="upload_pairs",
        sources=f"gs://{BUCKET}/preference/",
        destination=f"gs://{BUCKET}/datasets/{MODEL}-preference",
        format="preference",
        validation_fraction=0.25,
    )
    tune_supervised = CreateTuningJobOperator(
        task_id="tune_supervised",
        base_model="gemini-2.5-flash",
        training_dataset_uri="{{ ti.xcom_pull(task_ids='upload_demonstrations')['training_dataset_uri'] }}",
        tuned_model_display_name=MODEL,
        epoch_count=3,
        poll_interval=POLL,
    )
    tune_preference = ContinueTuningOperator(
        task_id="tune_preference",
        method="preference",
        pre_tuned_model="{{ " + SFT + "['tuned_model'] }}",
        training_dataset_uri="{{ " + PAIRS + "['training_dataset_uri'] }}",
        beta=0.1,
        epoch_count=2,
        poll_interval=POLL,
    )
    evaluate = EvaluateTunedModelOperator(
        task_id="evaluate",
        model="{{ " + PREFERENCE + "['tuned_model'] }}",
        baseline="{{ " + SFT + "['tuned_model'] }}",
        eval_dataset_uri="{{ " + PAIRS + "['validation_dataset_uri'] }}",
        metrics=["preference_accuracy", "rouge_l"],
        primary_metric="preference_accuracy",
        min_improvement=0.01,  # better than the supervised model, not just as good
        soft_fail=True,  # not better: skip, and so skip the promotion
    )
    promote = PromoteTunedModelOperator(
        task_id="promote", model_name="{{ " + PREFERENCE + "['tuned_model'] }}", alias="champion"
    )
    upload_demonstrations >> tune_supervised
    [tune_supervised, upload_pairs] >> tune_preference >> evaluate >> promote
