"""The UI-triggered DAGs run end to end on the emulator with a form's values (``run_conf``)."""

from __future__ import annotations

from pathlib import Path

import httpx

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
    # The connection points at the emulator, so the link opens the emulator's own page of the job.
    link = xcom(run, "tune", "tuning_job_link")
    assert link == f"{gemini_conn.api_url}/_emulator/ui/{summary['tuning_job']}"
    page = httpx.get(link, timeout=30)
    assert page.status_code == 200 and "JOB_STATE_SUCCEEDED" in page.text and "ui-triggered" in page.text


def test_on_demand_form_has_no_default_data_and_offers_on_invalid():
    dag = fresh_dag("gemini_tune_on_demand")
    params = dag.params
    from airflow.sdk.definitions.param import NOTSET

    assert params.get_param("training_data").value is NOTSET  # the form asks; no demo path is assumed
    assert params.get_param("on_invalid").schema["enum"] == ["fail", "skip"]
    assert params["on_invalid"] == "fail" and params["max_invalid_fraction"] == 0.05


def _csv_with_bad_rows(good: int, bad: int) -> str:
    rows = ["ticket,triage"] + [f"ticket number {i} about disk {i},category {i % 7}" for i in range(good)]
    rows += ["only one field"] * bad
    return "\n".join(rows) + "\n"


def test_on_demand_skips_invalid_rows_up_to_the_fraction(bucket, gemini_conn):
    bucket.blob("on-demand/mixed.csv").upload_from_string(_csv_with_bad_rows(97, 3))
    conf = {"training_data": "gs://tuning-data/on-demand/mixed.csv", "csv_input_column": "ticket",
            "csv_output_column": "triage"}
    failed = fresh_dag("gemini_tune_on_demand").test(run_conf=conf)  # default: fail on any invalid row
    assert failed.state == "failed" and states(failed)["upload_dataset"] == "failed"

    run = fresh_dag("gemini_tune_on_demand").test(
        run_conf={**conf, "on_invalid": "skip", "max_invalid_fraction": 0.05}
    )
    assert run.state == "success", states(run)
    uploaded = xcom(run, "upload_dataset")
    assert uploaded["invalid"] == 3 and uploaded["examples"] + uploaded["validation_examples"] == 97

    too_many = fresh_dag("gemini_tune_on_demand").test(
        run_conf={**conf, "on_invalid": "skip", "max_invalid_fraction": 0.01}
    )
    assert too_many.state == "failed" and states(too_many)["upload_dataset"] == "failed"


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
