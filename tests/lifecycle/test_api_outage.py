"""The tuning API stops answering while a task waits: no wait ends on transient errors, and no path ends with
a failed task and a job still running that nobody owns. Through the emulator's fault injection, the real
google-genai clients, the trigger, ``dag.test()`` and a retry."""

from __future__ import annotations

import asyncio
import time

import pytest

from airflow_tuning.hooks.tuning import GeminiTuningHook
from airflow_tuning.triggers.tuning import TuningJobTrigger
from tests.lifecycle.conftest import xcom

GET_JOB = r"^GET /v1beta1/projects/[^/]+/locations/[^/]+/tuningJobs/[^/:]+$"
CANCEL = r"^POST /v1beta1/projects/[^/]+/locations/[^/]+/tuningJobs/[^/]+:cancel$"
CANCEL_STAT = "POST /v1beta1/projects/{p}/locations/{l}/tuningJobs/{id}:cancel"
# max_transient_errors=1: the old rule gave up after 2 failed polls in a row; every outage here is longer.
POLICY = {"poll_interval": 0.1, "max_poll_interval": 0.5, "max_transient_errors": 1}
OUTAGE = 6


@pytest.fixture
def one_attempt(gemini_conn, emulator, monkeypatch):
    """One HTTP attempt per call, so that the wait itself (not the SDK's retry) meets every error."""
    monkeypatch.setenv("AIRFLOW_CONN_GEMINI_TUNING_DEFAULT", emulator.connection_json(retry_attempts=1))
    GeminiTuningHook.forget_async_clients()
    yield emulator
    emulator.clear_faults()
    GeminiTuningHook.forget_async_clients()


def fault_plan(emulator) -> list[dict]:
    """The emulator's fault plan with each fault's ``injected`` count."""
    import httpx

    return httpx.get(f"{emulator.api_url}/_emulator/faults", timeout=10).json()["faults"]


def state_of(emulator, test_id: str) -> str:
    [job] = emulator.jobs(labels={"lifecycle-test": test_id})
    return job["state"]


def cancels(emulator) -> int:
    return int(emulator.stats()["requests"].get(CANCEL_STAT, 0))


async def event_of(trigger: TuningJobTrigger) -> dict:
    return (await trigger.run().asend(None)).payload


# -- the trigger ---------------------------------------------------------------------------------------------
async def test_trigger_rides_out_an_outage_longer_than_max_transient_errors(one_attempt, submit, test_id):
    job = submit(duration_ms=1500, labels={"lifecycle-test": test_id})
    before = one_attempt.stats()["faults_injected"]
    one_attempt.set_faults([{"route": GET_JOB, "status": 503, "count": OUTAGE}], seed=1)
    payload = await event_of(TuningJobTrigger(job.name, **POLICY))
    assert one_attempt.stats()["faults_injected"] - before == OUTAGE
    assert payload["status"] == "success"
    assert state_of(one_attempt, test_id) == "JOB_STATE_SUCCEEDED"


async def test_trigger_keeps_polling_through_dropped_connections_and_429(one_attempt, submit, test_id):
    job = submit(duration_ms=1500, labels={"lifecycle-test": test_id})
    one_attempt.set_faults(
        [{"route": GET_JOB, "drop": True, "count": 3}, {"route": GET_JOB, "status": 429, "count": 3}], seed=1
    )
    payload = await event_of(TuningJobTrigger(job.name, **POLICY))
    assert payload["status"] == "success"


async def test_a_job_answering_404_is_gone_and_nothing_is_cancelled(one_attempt, client, submit, test_id):
    job = submit(duration_ms=30_000, labels={"lifecycle-test": test_id})
    cancels_before = cancels(one_attempt)
    one_attempt.set_faults([{"route": GET_JOB, "status": 404}], seed=1)
    payload = await event_of(TuningJobTrigger(job.name, **POLICY))
    one_attempt.clear_faults()
    assert payload["status"] == "error"
    assert f"Tuning job {job.name} no longer exists" in payload["message"]
    assert "nothing to cancel" in payload["message"]
    assert cancels(one_attempt) == cancels_before
    client.tunings.cancel(name=job.name)  # the emulator still has it: tidy up


async def test_a_single_404_is_checked_again_not_taken_as_gone(one_attempt, submit, test_id):
    job = submit(duration_ms=1000, labels={"lifecycle-test": test_id})
    one_attempt.set_faults([{"route": GET_JOB, "status": 404, "count": 1}], seed=1)
    payload = await event_of(TuningJobTrigger(job.name, **POLICY))
    assert payload["status"] == "success"


async def test_deadline_during_an_outage_retries_the_cancel_until_it_gets_through(one_attempt, submit, test_id):
    job = submit(duration_ms=60_000, labels={"lifecycle-test": test_id})
    one_attempt.set_faults(
        [{"route": GET_JOB, "status": 503}, {"route": CANCEL, "status": 503, "count": 2}], seed=1
    )
    policy = {**POLICY, "max_poll_interval": 2.0}  # a cancel grace of 4 s
    payload = await event_of(TuningJobTrigger(job.name, deadline=time.time() + 0.5, **policy))
    plan = fault_plan(one_attempt)
    assert payload["status"] == "timeout"
    assert f"cancelled {job.name}" in payload["message"]
    assert plan[1]["injected"] == 2
    assert state_of(one_attempt, test_id) in ("JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED")


async def test_a_cancel_that_never_gets_through_names_the_job_and_the_retry(one_attempt, client, submit, test_id):
    job = submit(duration_ms=60_000, labels={"lifecycle-test": test_id})
    one_attempt.set_faults([{"route": GET_JOB, "status": 503}, {"route": CANCEL, "status": 503}], seed=1)
    payload = await event_of(TuningJobTrigger(job.name, deadline=time.time() + 0.3, **POLICY))
    one_attempt.clear_faults()
    assert payload["status"] == "timeout"
    assert f"could not cancel tuning job(s) {job.name} within 1 s" in payload["message"]
    assert "a retry of this task reattaches" in payload["message"]
    assert fault_plan(one_attempt) == []
    client.tunings.cancel(name=job.name)


async def test_an_error_that_is_not_transient_cancels_the_owned_job(one_attempt, submit, test_id):
    job = submit(duration_ms=60_000, labels={"lifecycle-test": test_id})
    one_attempt.set_faults([{"route": GET_JOB, "status": 403}], seed=1)
    payload = await event_of(TuningJobTrigger(job.name, **POLICY))
    assert payload["status"] == "error"
    assert f"cancelled {job.name}" in payload["message"]
    assert state_of(one_attempt, test_id) in ("JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED")


async def test_the_sensor_trigger_never_cancels_a_job_it_does_not_own(one_attempt, client, submit, test_id):
    job = submit(duration_ms=60_000, labels={"lifecycle-test": test_id})
    cancels_before = cancels(one_attempt)
    one_attempt.set_faults([{"route": GET_JOB, "status": 403}], seed=1)
    payload = await event_of(TuningJobTrigger(job.name, cancel_on_kill=False, **POLICY))
    one_attempt.clear_faults()
    await asyncio.sleep(0)
    assert payload["status"] == "error" and cancels(one_attempt) == cancels_before
    client.tunings.cancel(name=job.name)


# -- operators and sensors in dag.test() ------------------------------------------------------------------
@pytest.mark.usefixtures("airflow_db")
@pytest.mark.parametrize("dag_name", ["deferred_dag", "sync_dag"])
def test_create_operator_rides_out_the_outage(one_attempt, datasets, test_id, dag_name):
    from tests.dags import api_outage

    one_attempt.set_faults([{"route": GET_JOB, "status": 503, "count": OUTAGE}], seed=1)
    before = one_attempt.stats()["faults_injected"]
    run = getattr(api_outage, dag_name).test(run_conf={"train": datasets["train"], "test_id": test_id})
    assert run.state == "success", xcom(run, "tune", "failure")
    assert one_attempt.stats()["faults_injected"] - before == OUTAGE
    assert state_of(one_attempt, test_id) == "JOB_STATE_SUCCEEDED"


@pytest.mark.usefixtures("airflow_db")
def test_sync_wait_timing_out_during_an_outage_cancels_once_the_cancel_gets_through(one_attempt, datasets, test_id):
    from tests.dags import api_outage

    one_attempt.set_faults(
        [{"route": GET_JOB, "status": 503}, {"route": CANCEL, "status": 503, "count": 2}], seed=1
    )
    run = api_outage.sync_timeout_dag.test(
        run_conf={"train": datasets["train"], "test_id": test_id, "duration_ms": "60000"}
    )
    failure = xcom(run, "tune", "failure")
    [job] = one_attempt.jobs(labels={"lifecycle-test": test_id})
    assert run.state == "failed"
    assert f"cancelled {job['name']}" in failure and "Timed out" in failure
    assert fault_plan(one_attempt)[1]["injected"] == 2
    assert job["state"] in ("JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED")


@pytest.mark.usefixtures("airflow_db")
@pytest.mark.parametrize("mode", ["poke", "reschedule", "deferred"])
def test_sensor_rides_out_the_outage(one_attempt, submit, test_id, mode):
    from tests.dags import api_outage

    job = submit(duration_ms=2000, labels={"lifecycle-test": test_id})
    one_attempt.set_faults([{"route": GET_JOB, "status": 503, "count": OUTAGE}], seed=1)
    run = api_outage.sensor_dags[mode].test(run_conf={"job": job.name})
    assert run.state == "success", xcom(run, "sensor", "failure")
    assert fault_plan(one_attempt)[0]["injected"] == OUTAGE


@pytest.mark.usefixtures("airflow_db")
def test_sensor_fails_clearly_on_a_job_that_is_gone(one_attempt, client, submit, test_id):
    from tests.dags import api_outage

    job = submit(duration_ms=30_000, labels={"lifecycle-test": test_id})
    one_attempt.set_faults([{"route": GET_JOB, "status": 404}], seed=1)
    run = api_outage.sensor_dags["poke"].test(run_conf={"job": job.name})
    one_attempt.clear_faults()
    assert run.state == "failed"
    assert f"Tuning job {job.name} no longer exists (the API answers 404" in xcom(run, "sensor", "failure")
    client.tunings.cancel(name=job.name)


@pytest.mark.usefixtures("airflow_db")
def test_after_a_cancel_that_failed_the_retry_reattaches_through_the_outage(one_attempt, datasets, test_id):
    """Try 1: polls are refused (403) and the cancel cannot get through (503), so the task fails naming the
    job. The retry meets a GET outage in its reattach lookup, rides it out, reattaches, and the one job
    succeeds: owned the whole time, never duplicated."""
    from tests.dags import api_outage

    created = one_attempt.stats()["jobs_created"]
    one_attempt.set_faults([{"route": GET_JOB, "status": 403}, {"route": CANCEL, "status": 503}], seed=1)
    run = api_outage.retry_dag.test(
        run_conf={
            "train": datasets["train"], "test_id": test_id, "duration_ms": "4000", "emulator": one_attempt.api_url,
            "faults_on_retry": [{"route": GET_JOB, "status": 503, "count": OUTAGE}],
        }  # fmt: skip
    )
    assert run.state == "success", xcom(run, "tune", "failure")
    assert run.get_task_instance("tune").try_number == 2
    assert fault_plan(one_attempt)[0]["injected"] == OUTAGE  # the retry met (and rode) the outage
    assert one_attempt.stats()["jobs_created"] - created == 1
    assert state_of(one_attempt, test_id) == "JOB_STATE_SUCCEEDED"
