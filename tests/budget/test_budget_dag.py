"""Budgets inside ``dag.test()`` through the real google-genai and google-cloud-storage clients.

Over budget: the task fails before any submission, and the emulator's own records show no job created.
Within budget: the estimate is pushed before the job, and the summary carries it next to the job's own
``tuningDataStats`` and the cost computed from them.
"""

from __future__ import annotations

import json

import pytest

from airflow_tuning.jobs.cost import DEFAULT_TUNING_PRICES
from tests.budget.conftest import BUCKET, task_state, xcom
from tests.dags import tuning_budget

pytestmark = pytest.mark.usefixtures("airflow_db")


DEFAULTS = {"base_model": "gemini-2.5-flash", "epochs": 2, "max_billable_tokens": None, "max_cost_usd": None,
            "tuning_prices": None, "source": "", "destination": "", "train": ""}


def conf(**values):
    """A complete run conf: dag.test() in one process keeps Params from an earlier run's conf otherwise."""
    return {**DEFAULTS, **values}


def _no_job_created(emulator, test_id, created_before):
    assert emulator.jobs(labels={"test": test_id}) == []
    assert emulator.stats()["jobs_created"] == created_before


@pytest.mark.parametrize("budget", [{"max_billable_tokens": 100}, {"max_cost_usd": 0.0001}])
def test_over_budget_fails_and_creates_no_job(gemini_conn, training_file, test_id, budget):
    created_before = gemini_conn.stats()["jobs_created"]
    run = tuning_budget.direct_dag.test(run_conf=conf(**{
        "train": training_file["uri"], "epochs": 3, "test_id": test_id, **budget,
    }))
    assert task_state(run, "tune") == "failed"
    _no_job_created(gemini_conn, test_id, created_before)
    assert xcom(run, "tune", "tuning_job_name") is None
    assert xcom(run, "tune", "cost_estimate") is None


def test_within_budget_summary_carries_estimate_job_stats_and_cost(gemini_conn, training_file, test_id):
    run = tuning_budget.direct_dag.test(run_conf=conf(**{
        "train": training_file["uri"], "epochs": 2, "test_id": test_id,
        "max_billable_tokens": 1_000_000, "max_cost_usd": 5.0,
    }))
    assert task_state(run, "tune") == "success"
    [job] = gemini_conn.jobs(labels={"test": test_id})
    estimate = xcom(run, "tune", "cost_estimate")
    assert estimate["dataset_tokens"] == training_file["tokens"]
    assert estimate["billable_tokens"] == training_file["tokens"] * 2
    assert estimate["epochs"] == 2 and not estimate["epochs_assumed"]
    assert estimate["price_per_million_usd"] == DEFAULT_TUNING_PRICES["gemini-2.5-flash"]
    assert estimate["cost_usd"] == pytest.approx(estimate["billable_tokens"] / 1e6 * 5.0)
    assert "streaming read" in estimate["token_source"]

    summary = xcom(run, "tune")
    assert summary["cost_estimate"] == estimate
    stats = job["tuningDataStats"]["supervisedTuningDataStats"]
    assert summary["tuning_data_stats"] == {
        "method": "supervised",
        "supervisedTuningDataStats": {
            key: int(stats[key]) for key in (
                "totalBillableTokenCount", "tuningDatasetExampleCount", "totalTuningCharacterCount",
                "totalBillableCharacterCount", "tuningStepCount", "totalTruncatedExampleCount")
        },
    }
    assert summary["tuning_data_stats"]["supervisedTuningDataStats"]["tuningDatasetExampleCount"] == 40
    billable = int(stats["totalBillableTokenCount"])
    assert summary["cost"] == {
        "billable_tokens": billable, "base_model": "gemini-2.5-flash", "price_per_million_usd": 5.0,
        "price_origin": "Google list price", "cost_usd": pytest.approx(billable / 1e6 * 5.0),
    }
    # The estimate (4 bytes of JSON per token) errs high against what the job bills.
    assert estimate["billable_tokens"] >= billable


def test_unknown_model_with_a_cost_budget_is_refused(gemini_conn, training_file, test_id):
    created_before = gemini_conn.stats()["jobs_created"]
    run = tuning_budget.direct_dag.test(run_conf=conf(**{
        "train": training_file["uri"], "base_model": "gemini-9.9-ultra", "test_id": test_id, "max_cost_usd": 100.0,
    }))
    assert task_state(run, "tune") == "failed"
    _no_job_created(gemini_conn, test_id, created_before)


def test_operator_price_override_prices_an_unknown_model_and_connection_prices_apply(
    gemini_conn, training_file, test_id, monkeypatch
):
    # The operator's table names a price for a model the list does not know: no longer refused for price.
    run = tuning_budget.direct_dag.test(run_conf=conf(**{
        "train": training_file["uri"], "base_model": "gemini-2.5-flash-lite", "epochs": 1, "test_id": test_id,
        "max_cost_usd": 1.0, "tuning_prices": {"gemini-2.5-flash-lite": 0.5},
    }))
    assert task_state(run, "tune") == "success"
    estimate = xcom(run, "tune", "cost_estimate")
    assert estimate["price_per_million_usd"] == 0.5 and estimate["price_origin"] == "operator tuning_prices"

    # A connection that prices gemini-2.5-flash at $1,000,000 per 1M tokens: the same job is now over budget.
    conn = json.loads(gemini_conn.connection_json())
    conn["extra"]["tuning_prices"] = {"gemini-2.5-flash": 1_000_000}
    monkeypatch.setenv("AIRFLOW_CONN_GEMINI_TUNING_DEFAULT", json.dumps(conn))
    created_before = gemini_conn.stats()["jobs_created"]
    other = test_id + "c"
    run = tuning_budget.direct_dag.test(run_conf=conf(**{
        "train": training_file["uri"], "epochs": 1, "test_id": other, "max_cost_usd": 50.0,
    }))
    assert task_state(run, "tune") == "failed"
    _no_job_created(gemini_conn, other, created_before)


def test_estimate_comes_from_the_upload_result_when_the_data_came_through_upload(gemini_conn, training_file, test_id):
    run = tuning_budget.upload_dag.test(run_conf=conf(**{
        "source": training_file["uri"], "destination": f"gs://{BUCKET}/datasets/{test_id}", "epochs": 2,
        "test_id": test_id, "max_billable_tokens": 1_000_000,
    }))
    assert task_state(run, "tune") == "success"
    uploaded = xcom(run, "upload")
    estimate = xcom(run, "tune", "cost_estimate")
    assert "UploadDatasetOperator" in estimate["token_source"]
    assert estimate["dataset_tokens"] == uploaded["estimated_training_tokens"] > 0
    # The upload's estimate is the training split only, by the same rule as a streaming read of that file.
    from airflow_tuning.dataset.tokens import stream_tokens

    blob_text = gemini_conn.create_bucket(BUCKET).blob(
        uploaded["training_dataset_uri"].split(f"gs://{BUCKET}/", 1)[1]).download_as_bytes()
    assert stream_tokens(blob_text.splitlines()) == (uploaded["examples"], uploaded["estimated_training_tokens"])
