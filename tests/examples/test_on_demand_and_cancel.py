"""The UI-triggered DAGs run end to end on the emulator with a form's values (``run_conf``)."""

from __future__ import annotations

from pathlib import Path

from tests.examples.conftest import fresh_dag, states, xcom

DATA = Path(__file__).resolve().parents[2] / "demo" / "data"


def test_tune_on_demand_from_a_csv_with_form_overrides(bucket, gemini_conn):
    bucket.blob("on-demand/tickets.csv").upload_from_filename(str(DATA / "new_tickets.csv"))
    run = fresh_dag("gemini_tune_on_demand").test(
        run_conf={
            "training_data": "gs://tuning-data/on-demand/tickets.csv",
            "tuned_model_display_name": "ui-triggered",
            "epoch_count": 2,
            "adapter_size": 8,
            "csv_input_column": "ticket",
            "csv_output_column": "triage",
            "system_instruction": "Triage the ticket.",
        }
    )
    assert run.state == "success", states(run)
    uploaded = xcom(run, "upload_dataset")
    assert uploaded["examples"] + uploaded["validation_examples"] + uploaded["duplicates"] == 240
    summary = xcom(run, "tune")
    assert summary["state"] == "JOB_STATE_SUCCEEDED"
    assert summary["training_dataset_uri"] == uploaded["training_dataset_uri"]
    job = next(j for j in gemini_conn.jobs() if j["name"] == summary["tuning_job"])
    assert job["tunedModelDisplayName"] == "ui-triggered"
    assert job["supervisedTuningSpec"]["hyperParameters"]["epochCount"] in (2, "2")
    assert job["supervisedTuningSpec"]["hyperParameters"]["adapterSize"] == "ADAPTER_SIZE_EIGHT"
    assert xcom(run, "tune", "tuning_job_link").startswith("https://console.cloud.google.com/vertex-ai/")


def test_cancel_by_name_and_by_labels(bucket, gemini_conn):
    from google.genai import types

    from airflow_tuning.hooks.tuning import GeminiTuningHook

    bucket.blob("cancel/train.jsonl").upload_from_filename(str(DATA / "history.jsonl"))
    client = GeminiTuningHook().get_genai_client()

    def start(team: str) -> str:
        return client.tunings.tune(
            base_model="gemini-2.5-flash",
            training_dataset=types.TuningDataset(gcs_uri="gs://tuning-data/cancel/train.jsonl"),
            config=types.CreateTuningJobConfig(labels={"team": team, "emulator-duration-ms": "60000"}),
        ).name

    by_name = start("solo")
    run = fresh_dag("gemini_cancel_tuning").test(run_conf={"tuning_job_name": by_name})
    assert run.state == "success", states(run)
    assert xcom(run, "cancel")["state"] == "JOB_STATE_CANCELLED"

    group = [start("nightly"), start("nightly")]
    run = fresh_dag("gemini_cancel_tuning").test(run_conf={"labels": {"team": "nightly"}})
    assert run.state == "success", states(run)
    assert sorted(s["tuning_job"] for s in xcom(run, "cancel")) == sorted(group)
    assert {j["state"] for j in gemini_conn.jobs(labels={"team": "nightly"})} == {"JOB_STATE_CANCELLED"}

    run = fresh_dag("gemini_cancel_tuning").test(run_conf={})  # neither a name nor labels: a clear failure
    assert run.state == "failed"
