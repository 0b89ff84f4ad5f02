"""The tuning operators inside ``dag.test()`` against the emulator, through the real google-genai client."""

from __future__ import annotations

import pytest

from airflow_tuning.jobs.identity import TASK_KEY_LABEL
from airflow_tuning.jobs.summary import SUMMARY_KEYS
from airflow_tuning.links import TUNING_JOB_LINK_XCOM_KEY, TUNING_JOB_NAME_XCOM_KEY
from tests.lifecycle.conftest import task_state, xcom

pytestmark = pytest.mark.usefixtures("airflow_db", "gemini_conn")


def ui_link(dag, run, task_id: str) -> str:
    """The extra link as the API server resolves it: from the serialized DAG, by name."""
    from airflow.serialization.serialized_objects import DagSerialization

    task = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag)).get_task(task_id)
    (link,) = [link for link in task.operator_extra_links if link.name == "Vertex AI Tuning Job"]
    return link.get_link(task, ti_key=run.get_task_instance(task_id).key)


def test_create_defers_and_returns_the_complete_summary(emulator, datasets, test_id):
    from tests.dags import lifecycle_tuning

    run = lifecycle_tuning.create_dag.test(
        run_conf={"train": datasets["train"], "validation": datasets["validation"], "test_id": test_id}
    )
    assert run.state == "success"
    summary = xcom(run, "tune")
    assert tuple(summary) == SUMMARY_KEYS
    assert summary["state"] == "JOB_STATE_SUCCEEDED"
    assert summary["base_model"] == "gemini-2.5-flash"
    assert summary["training_dataset_uri"] == datasets["train"]
    assert summary["validation_dataset_uri"] == datasets["validation"]
    assert "/models/" in summary["tuned_model"] and "/endpoints/" in summary["endpoint"]
    assert [cp["epoch"] for cp in summary["checkpoints"]] == [1, 2]
    assert summary["create_time"] and summary["end_time"]
    assert xcom(run, "tune", TUNING_JOB_NAME_XCOM_KEY) == summary["tuning_job"]
    # The connection points at the emulator: the link is its own page of the job (the summary keeps the console).
    page = f"{emulator.api_url}/_emulator/ui/{summary['tuning_job']}"
    assert summary["console_url"].startswith("https://console.cloud.google.com/")
    assert xcom(run, "tune", TUNING_JOB_LINK_XCOM_KEY) == page
    assert ui_link(lifecycle_tuning.create_dag, run, "tune") == page
    jobs = emulator.jobs(labels={"lifecycle-test": test_id})
    assert len(jobs) == 1
    job = jobs[0]
    assert job["supervisedTuningSpec"]["hyperParameters"]["epochCount"] in ("2", 2)
    assert job["supervisedTuningSpec"]["hyperParameters"]["adapterSize"] == "ADAPTER_SIZE_FOUR"
    assert job["tunedModelDisplayName"] == f"lifecycle-{test_id}"
    assert job["labels"]["airflow_dag"] == "lifecycle_create" and job["labels"]["airflow_task"] == "tune"


def test_job_failing_on_bad_data_fails_the_task_naming_the_line(emulator, datasets, test_id):
    from tests.dags import lifecycle_tuning

    run = lifecycle_tuning.create_dag.test(run_conf={"train": datasets["bad"], "test_id": test_id})
    assert run.state == "failed"
    failure = xcom(run, "tune", "failure")
    assert "ended FAILED" in failure
    assert datasets["bad"] in failure and "line 3" in failure
    assert [job["state"] for job in emulator.jobs(labels={"lifecycle-test": test_id})] == ["JOB_STATE_FAILED"]


@pytest.mark.parametrize(
    ("dag_name", "crash_at"),
    [("crash_dag", "submit"), ("crash_sync_dag", "wait"), ("crash_dag", "resume")],
    ids=["deferrable-crash-before-name-saved", "sync-crash-while-waiting", "deferrable-crash-after-success"],
)
def test_retry_after_worker_crash_reattaches_to_the_one_job(emulator, datasets, test_id, dag_name, crash_at):
    from tests.dags import lifecycle_tuning

    created_before = emulator.stats()["jobs_created"]
    run = getattr(lifecycle_tuning, dag_name).test(
        run_conf={"train": datasets["train"], "test_id": test_id, "crash_at": crash_at, "duration_ms": "2500"}
    )
    assert run.state == "success"
    assert run.get_task_instance("tune").try_number == 2
    assert emulator.stats()["jobs_created"] - created_before == 1
    jobs = emulator.jobs(labels={"lifecycle-test": test_id})
    assert len(jobs) == 1 and jobs[0]["state"] == "JOB_STATE_SUCCEEDED"
    assert xcom(run, "tune")["tuning_job"] == jobs[0]["name"]
    assert jobs[0]["labels"][TASK_KEY_LABEL]


def test_continue_from_a_registry_alias_and_checkpoint(
    emulator, client, submit, wait_for_state, datasets, test_id
):
    from tests.dags import lifecycle_tuning

    first = submit(duration_ms=600, labels={"lifecycle-test": test_id})
    tuned = wait_for_state(first.name, {"JOB_STATE_SUCCEEDED"}).tuned_model.model
    model_id, version = tuned.rsplit("@", 1)
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    registry = GeminiTuningHook().get_model_service_client()
    registry.merge_version_aliases(name=tuned, version_aliases=["champion"])
    pre_tuned = f"{model_id}@champion"

    run = lifecycle_tuning.continue_dag.test(
        run_conf={
            "pre_tuned_model": pre_tuned,
            "checkpoint_id": "1",
            "train": datasets["train"],
            "test_id": test_id,
        }
    )
    assert run.state == "success"
    summary = xcom(run, "continue_tuning")
    assert summary["state"] == "JOB_STATE_SUCCEEDED"
    assert summary["pre_tuned_model"] == pre_tuned
    assert summary["base_model"] is None or summary["base_model"] == "gemini-2.5-flash"
    created = client.tunings.get(name=summary["tuning_job"])
    assert created.pre_tuned_model.checkpoint_id == "1"
    assert created.pre_tuned_model.tuned_model_name == pre_tuned


def test_malformed_pre_tuned_model_is_rejected_before_any_call(emulator):
    from airflow_tuning.operators.tuning import ContinueTuningOperator

    requests_before = sum(emulator.stats()["requests"].values())
    with pytest.raises(ValueError, match=r"expected projects/\{project\}/locations/\{location\}/models/"):
        ContinueTuningOperator(
            task_id="bad", pre_tuned_model="models/5@champion", training_dataset_uri="gs://b/t.jsonl"
        )
    assert sum(emulator.stats()["requests"].values()) == requests_before


def test_cancel_running_ended_and_labelled_jobs(emulator, submit, wait_for_state, test_id):
    from tests.dags import lifecycle_tuning

    running = submit(duration_ms=60_000, labels={"lifecycle-test": test_id})
    ended = submit(duration_ms=300, labels={"lifecycle-test": test_id})
    group = [submit(duration_ms=60_000, labels={"lifecycle-group": test_id}) for _ in range(2)]
    wait_for_state(ended.name, {"JOB_STATE_SUCCEEDED"})

    run = lifecycle_tuning.cancel_dag.test(
        run_conf={"running_job": running.name, "ended_job": ended.name.rsplit("/", 1)[1], "group": test_id}
    )
    assert run.state == "success"
    assert xcom(run, "cancel_running")["state"] == "JOB_STATE_CANCELLED"
    assert xcom(run, "cancel_ended")["state"] == "JOB_STATE_SUCCEEDED"  # a logged no-op
    assert xcom(run, "cancel_running", TUNING_JOB_LINK_XCOM_KEY) == f"{emulator.api_url}/_emulator/ui/{running.name}"
    cancelled = xcom(run, "cancel_group")
    assert sorted(s["tuning_job"] for s in cancelled) == sorted(job.name for job in group)
    assert {s["state"] for s in cancelled} == {"JOB_STATE_CANCELLED"}
    states = {job["name"]: job["state"] for job in emulator.jobs()}
    assert states[ended.name] == "JOB_STATE_SUCCEEDED"
    assert all(task_state(run, t) == "success" for t in ("cancel_running", "cancel_ended", "cancel_group"))


def test_timeouts_and_worker_kills_cancel_the_job(emulator, datasets, test_id):
    from tests.dags import lifecycle_tuning

    run = lifecycle_tuning.timeout_dag.test(
        run_conf={"train": datasets["train"], "test_id": test_id, "duration_ms": "60000"}
    )
    assert run.state == "failed"
    assert "Timed out" in xcom(run, "deferred_timeout", "failure")
    assert "cancelled" in xcom(run, "deferred_timeout", "failure")
    jobs = {job["labels"]["airflow_task"]: job for job in emulator.jobs(labels={"lifecycle-test": test_id})}
    assert set(jobs) == {"deferred_timeout", "killed_on_worker"}
    for job in jobs.values():
        assert job["state"] in ("JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED")
    # The deferred task never resumed successfully, yet its link is there: it was pushed before deferring,
    # which is what lets the UI show it while the job runs.
    job_id = jobs["deferred_timeout"]["name"].rsplit("/", 1)[1]
    link = xcom(run, "deferred_timeout", TUNING_JOB_LINK_XCOM_KEY)
    assert link == f"{emulator.api_url}/_emulator/ui/{jobs['deferred_timeout']['name']}"
    assert job_id in jobs["deferred_timeout"]["name"]
