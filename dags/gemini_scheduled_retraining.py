"""Retrain the support-ticket triage model every Monday, or as soon as new tickets land in Cloud Storage.

    upload_dataset          history + incoming tickets: validated, converted, split, content-addressed
    data_changed            short-circuit: nothing below runs when the data is unchanged (unless forced)
    tune                    continue tuning from the version holding ``champion`` (a new version of the
                            same registry model), or bootstrap from the base model when there is none yet;
                            decided when it runs (retry-safe: a retry reattaches to its job, never pays twice)
    wait_for_tuning         deferred: no worker slot is held while Vertex AI trains
    evaluate                every checkpoint (one per epoch) of the challenger vs the champion (or base
                            model) on the held-out validation split; the best checkpoint is judged;
                            skipped (not failed) when it is not better, so promotion is skipped too
    approval_gate           ``require_approval``: ask a person (approve) or let the gate decide (automatic_gate)
    approve                 human approval: the body shows challenger vs champion, best checkpoint, cost and
                            the report; Reject skips the promotion (nothing changes); no worker slot is held
    promote                 make the best checkpoint the new version's default, then move the ``champion``
                            alias to it, recording who/what promoted and why in the version's description
                            (``gemini_rollback_champion`` reads it); the next run continues from that checkpoint
    cancel_unfinished_job   teardown of ``tune``: cancels the job if the run ended while it was still running

Settings from the environment (read when the DAG is parsed): ``AIRFLOW_TUNING_BUCKET`` (default
``tuning-data``) and ``AIRFLOW_TUNING_POLL_INTERVAL`` (seconds, default 30).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, AssetOrTimeSchedule, AssetWatcher, CronTriggerTimetable, Param, task

from airflow_tuning.operators.approval import PromotionApprovalOperator
from airflow_tuning.operators.dataset import UploadDatasetOperator
from airflow_tuning.operators.evaluation import EvaluateTunedModelOperator, PromoteTunedModelOperator
from airflow_tuning.operators.tuning import CancelTuningJobOperator, CreateTuningJobOperator
from airflow_tuning.sensors.tuning import TuningJobSensor
from airflow_tuning.triggers.gcs_objects import GCSNewObjectsTrigger

BUCKET = os.environ.get("AIRFLOW_TUNING_BUCKET", "tuning-data")
POLL_INTERVAL = float(os.environ.get("AIRFLOW_TUNING_POLL_INTERVAL", "30"))
MODEL_NAME = "support-triage"
CHAMPION = "champion"
SYSTEM_INSTRUCTION = "You triage support tickets for a data platform. Answer with category, priority and team."
BASE_MODELS = ["gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-pro", "gemini-2.0-flash-001"]

new_tickets = Asset(
    name="support_triage_incoming_tickets",
    uri=f"gs://{BUCKET}/incoming/",
    watchers=[
        AssetWatcher(
            name="support_triage_incoming_watcher",
            trigger=GCSNewObjectsTrigger(bucket=BUCKET, prefix="incoming/", poll_interval=max(POLL_INTERVAL, 5)),
        )
    ],
)

JOB_NAME = "{{ ti.xcom_pull(task_ids='tune', key='tuning_job_name') }}"
UPLOADED = "ti.xcom_pull(task_ids='upload_dataset')"
TUNED_MODEL = "{{ ti.xcom_pull(task_ids='wait_for_tuning')['tuned_model'] }}"

with DAG(
    dag_id="gemini_scheduled_retraining",
    description="Weekly or on new data: retrain the triage model and promote it only when it is better",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 3 * * 1", timezone="UTC"), assets=[new_tickets]
    ),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    tags=["gemini", "tuning"],
    params={
        "base_model": Param(
            "gemini-2.5-flash", enum=BASE_MODELS,
            description="Model tuned by the first (bootstrap) run; later runs continue from the champion.",
        ),
        "epoch_count": Param(3, type="integer", minimum=1, maximum=20, description="Passes over the data."),
        "adapter_size": Param(
            4, type="integer", enum=[1, 2, 4, 8, 16], description="LoRA adapter size: larger learns more."
        ),
        "learning_rate_multiplier": Param(
            1.0, type="number", exclusiveMinimum=0, maximum=10, description="Scales the default learning rate."
        ),
        "min_rouge_l": Param(
            0.5, type="number", minimum=0, maximum=1,
            description="The new model must reach at least this ROUGE-L on the validation split.",
        ),
        "min_improvement": Param(
            0.0, type="number", minimum=-1, maximum=1,
            description="...and beat the champion's ROUGE-L by at least this much to be promoted.",
        ),
        "force_retrain": Param(False, type="boolean", description="Retrain even when the data is unchanged."),
        "max_cost_usd": Param(
            50.0, type=["null", "number"], minimum=0,
            description="Budget: a tuning job estimated above this many USD fails before it starts (empty: none).",
        ),
        "require_approval": Param(
            False, type="boolean",
            description="Ask a person to approve (in Airflow's Required Actions) before the champion changes.",
        ),
    },
    doc_md=__doc__,
) as dag:
    upload = UploadDatasetOperator(
        task_id="upload_dataset",
        sources=[f"gs://{BUCKET}/history/", f"gs://{BUCKET}/incoming/"],
        destination=f"gs://{BUCKET}/datasets/{MODEL_NAME}",
        input_column="ticket",
        output_column="triage",
        system_instruction=SYSTEM_INSTRUCTION,
    )

    @task.short_circuit(ignore_downstream_trigger_rules=True)
    def data_changed(uploaded: dict, params: dict | None = None) -> bool:
        """Unchanged data (same content hash) means an identical tuning job: skip it, unless forced."""
        return bool(uploaded["changed"] or (params or {}).get("force_retrain"))

    tune = CreateTuningJobOperator(
        task_id="tune",
        tuned_model_display_name=MODEL_NAME,
        base_model="{{ params.base_model }}",
        continue_from_alias=CHAMPION,
        training_dataset_uri="{{ " + UPLOADED + "['training_dataset_uri'] }}",
        validation_dataset_uri="{{ " + UPLOADED + "['validation_dataset_uri'] }}",
        epoch_count="{{ params.epoch_count }}",
        adapter_size="{{ params.adapter_size }}",
        learning_rate_multiplier="{{ params.learning_rate_multiplier }}",
        labels={"pipeline": "support-triage"},
        max_cost_usd="{{ params.max_cost_usd }}",
        wait_for_completion=False,
    )
    wait = TuningJobSensor(
        task_id="wait_for_tuning",
        tuning_job_name=JOB_NAME,
        poll_interval=POLL_INTERVAL,
    )
    evaluate = EvaluateTunedModelOperator(
        task_id="evaluate",
        model=TUNED_MODEL,
        eval_dataset_uri="{{ " + UPLOADED + "['validation_dataset_uri'] }}",
        baseline="{{ ti.xcom_pull(task_ids='tune')['continued_from'] or params.base_model }}",  # the champion
        thresholds="{{ {'rouge_l': params.min_rouge_l} }}",
        min_improvement="{{ params.min_improvement }}",
        checkpoints="all",
        soft_fail=True,
    )

    @task.branch
    def approval_gate(params: dict | None = None) -> str:
        """A person approves when ``require_approval`` is set; otherwise the evaluation gate alone decides."""
        return "approve" if (params or {}).get("require_approval") else "automatic_gate"

    approve = PromotionApprovalOperator(
        task_id="approve",
        subject="Promote the new support-triage model to champion?",
        evaluation_task_id="evaluate",
        tuning_task_id="wait_for_tuning",
        estimate_task_id="tune",
        champion="{{ ti.xcom_pull(task_ids='tune')['continued_from'] or params.base_model }}",
        alias=CHAMPION,
        retries=0,
    )

    @task
    def automatic_gate() -> str:
        """No approval required: the evaluation gate upstream already decided."""
        return "automatic gate"

    promote = PromoteTunedModelOperator(
        task_id="promote",
        model_name=TUNED_MODEL,
        checkpoint_id="{{ ti.xcom_pull(task_ids='evaluate')['best_checkpoint'] }}",
        alias=CHAMPION,
        approval_task_id="approve",
        evaluation="{{ ti.xcom_pull(task_ids='evaluate') }}",
        reason="passed the evaluation gate on the held-out split",
        trigger_rule="none_failed_min_one_success",
    )
    cancel = CancelTuningJobOperator(
        task_id="cancel_unfinished_job", tuning_job_name=JOB_NAME, poll_interval=POLL_INTERVAL
    )

    auto = automatic_gate()
    data_changed(upload.output) >> tune >> wait >> evaluate >> approval_gate() >> [approve, auto]
    [approve, auto] >> promote
    promote >> cancel.as_teardown(setups=tune)
