"""``TuningJobSensor`` on jobs started outside any operator: deferrable, poke and reschedule modes."""

from __future__ import annotations

from datetime import datetime

import pytest

from airflow_tuning.links import TUNING_JOB_LINK_XCOM_KEY
from tests.lifecycle.conftest import task_state, xcom

pytestmark = pytest.mark.usefixtures("airflow_db", "gemini_conn")
SENSORS = ("wait_deferred", "wait_poke", "wait_reschedule")


def _reschedule_rows(run, task_id: str) -> list:
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session

    ti_id = run.get_task_instance(task_id).id
    with create_session() as session:
        rows = session.query(TaskReschedule.start_date).filter(TaskReschedule.ti_id == ti_id)
        return sorted(row.start_date for row in rows)


def reschedules(run, task_id: str) -> int:
    return len(_reschedule_rows(run, task_id))


def first_start(run, task_id: str) -> datetime:
    """When the sensor first looked at its job (a rescheduled sensor's start_date is its last poke)."""
    return min([run.get_task_instance(task_id).start_date, *_reschedule_rows(run, task_id)])


def test_sensor_waits_on_external_jobs_in_every_mode(emulator, datasets, test_id):
    from tests.dags import lifecycle_tuning

    run = lifecycle_tuning.sensor_dag.test(run_conf={"train": datasets["train"], "test_id": test_id})
    assert run.state == "success"
    jobs = xcom(run, "start_external_jobs")
    assert len(jobs) == 3
    for task_id, name in zip(SENSORS, jobs):
        assert task_state(run, task_id) == "success"
        summary = xcom(run, task_id)
        assert summary["tuning_job"] == name and summary["state"] == "JOB_STATE_SUCCEEDED"
        assert xcom(run, task_id, TUNING_JOB_LINK_XCOM_KEY) == f"{emulator.api_url}/_emulator/ui/{name}"
        assert first_start(run, task_id) < datetime.fromisoformat(summary["end_time"]), (
            f"{task_id} did not wait"
        )
    assert reschedules(run, "wait_reschedule") >= 1
    # The sensor only watches: it never created or cancelled anything.
    states = [job["state"] for job in emulator.jobs(labels={"lifecycle-test": test_id})]
    assert states == ["JOB_STATE_SUCCEEDED"] * 3


def test_sensor_fails_with_vertex_message_on_a_failed_job(datasets, test_id):
    from tests.dags import lifecycle_tuning

    run = lifecycle_tuning.sensor_dag.test(
        run_conf={"train": datasets["bad"], "test_id": test_id, "durations_ms": [300, 300, 300]}
    )
    assert run.state == "failed"
    for task_id in SENSORS:
        assert task_state(run, task_id) == "failed"
        failure = xcom(run, task_id, "failure")
        assert "ended FAILED" in failure and "line 3" in failure


GET_JOB_ROUTE = r"^GET /v1beta1/projects/[^/]+/locations/[^/]+/tuningJobs/[^/]+$"


def test_reschedule_mode_rides_out_more_transient_errors_than_the_limit(emulator, monkeypatch, datasets, test_id):
    """Each rescheduled poke runs on a new sensor object; an outage longer than ``max_transient_errors`` (2)
    does not end the wait: the sensor keeps rescheduling until the API answers, then sees the job's end."""
    from tests.dags import lifecycle_tuning

    # One attempt per call, so that every poke sees exactly one 503.
    monkeypatch.setenv("AIRFLOW_CONN_GEMINI_TUNING_DEFAULT", emulator.connection_json(retry_attempts=1))
    before = emulator.stats()["faults_injected"]
    emulator.set_faults([{"route": GET_JOB_ROUTE, "status": 503, "count": 5}], seed=1)
    try:
        run = lifecycle_tuning.sensor_transient_dag.test(
            run_conf={"train": datasets["train"], "test_id": test_id, "durations_ms": [2000]}
        )
    finally:
        emulator.clear_faults()
    assert run.state == "success", xcom(run, "wait_reschedule", "failure")
    assert reschedules(run, "wait_reschedule") >= 5
    assert emulator.stats()["faults_injected"] - before == 5
    states = [job["state"] for job in emulator.jobs(labels={"lifecycle-test": test_id})]
    assert states == ["JOB_STATE_SUCCEEDED"]
