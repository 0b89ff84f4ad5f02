"""``TuningJobTrigger`` against the emulator through the real async google-genai client."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from airflow_tuning.hooks.tuning import GeminiTuningHook
from airflow_tuning.jobs.summary import SUMMARY_KEYS
from airflow_tuning.triggers.tuning import TuningJobTrigger

FAST = {"poll_interval": 0.1, "max_poll_interval": 0.3}
GET_JOB_ROUTE = r"^GET /v1beta1/projects/[^/]+/locations/[^/]+/tuningJobs/[^/]+$"


def states_of(emulator, test_id: str) -> list[str]:
    return [job["state"] for job in emulator.jobs(labels={"lifecycle-test": test_id})]


async def first_event(trigger: TuningJobTrigger):
    return await trigger.run().asend(None)


def test_serialize_round_trips_and_holds_no_secret(monkeypatch, emulator):
    monkeypatch.setenv(
        "AIRFLOW_CONN_SECRET_CONN",
        emulator.connection_json(gemini_api_key="top-secret-key", keyfile_dict="{}"),
    )
    trigger = TuningJobTrigger(
        ["projects/p/locations/l/tuningJobs/1", "projects/p/locations/l/tuningJobs/2"],
        gcp_conn_id="secret_conn",
        deadline=1234.5,
        cancel_on_kill=False,
        **FAST,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_tuning.triggers.tuning.TuningJobTrigger"
    rebuilt = TuningJobTrigger(**json.loads(json.dumps(kwargs)))
    assert rebuilt.serialize() == (classpath, kwargs)
    assert set(kwargs) == {
        "tuning_job_names", "gcp_conn_id", "poll_interval", "max_poll_interval", "poll_multiplier",
        "poll_jitter", "max_transient_errors", "deadline", "cancel_on_kill",
    }  # fmt: skip
    assert "top-secret-key" not in json.dumps(kwargs) + repr(trigger)


async def test_waits_until_success_and_yields_the_summary(gemini_conn, submit, test_id, capsys):
    job = submit(duration_ms=1200, labels={"lifecycle-test": test_id})
    event = await first_event(TuningJobTrigger(job.name, **FAST))
    payload = event.payload
    assert payload["status"] == "success"
    assert tuple(payload["summary"]) == SUMMARY_KEYS
    assert payload["summary"]["tuning_job"] == job.name
    assert payload["summary"]["state"] == "JOB_STATE_SUCCEEDED"
    assert payload["summary"]["tuned_model"] and payload["summary"]["checkpoints"]
    assert json.loads(json.dumps(payload)) == payload
    log = capsys.readouterr().out  # the triggerer's structlog output
    assert f"Tuning job {job.name}: RUNNING -> SUCCEEDED (elapsed" in log


async def test_rides_out_transient_503s(emulator, monkeypatch, submit, test_id):
    # One attempt per call, so the trigger itself (not the SDK's retry) has to survive the errors.
    monkeypatch.setenv("AIRFLOW_CONN_GEMINI_TUNING_DEFAULT", emulator.connection_json(retry_attempts=1))
    GeminiTuningHook.forget_async_clients()
    job = submit(duration_ms=1000, labels={"lifecycle-test": test_id})
    before = emulator.stats()["faults_injected"]
    emulator.set_faults([{"route": GET_JOB_ROUTE, "status": 503, "count": 4}], seed=1)
    try:
        event = await first_event(TuningJobTrigger(job.name, max_transient_errors=5, **FAST))
    finally:
        emulator.clear_faults()
        GeminiTuningHook.forget_async_clients()
    assert emulator.stats()["faults_injected"] - before == 4
    assert event.payload["status"] == "success"


async def test_transient_errors_never_end_the_wait_only_the_deadline_does(emulator, monkeypatch, submit, test_id):
    monkeypatch.setenv("AIRFLOW_CONN_GEMINI_TUNING_DEFAULT", emulator.connection_json(retry_attempts=1))
    GeminiTuningHook.forget_async_clients()
    job = submit(duration_ms=30_000, labels={"lifecycle-test": test_id})
    emulator.set_faults([{"route": GET_JOB_ROUTE, "status": 503}], seed=1)
    try:
        event = await first_event(TuningJobTrigger(job.name, max_transient_errors=2, deadline=time.time() + 1.5,
                                                   **FAST))
    finally:
        emulator.clear_faults()
        GeminiTuningHook.forget_async_clients()
    assert event.payload["status"] == "timeout"
    assert f"cancelled {job.name}" in event.payload["message"]


async def test_on_kill_cancels_the_job(gemini_conn, submit, test_id):
    job = submit(duration_ms=30_000, labels={"lifecycle-test": test_id})
    trigger = TuningJobTrigger(job.name, **FAST)
    waiting = asyncio.ensure_future(first_event(trigger))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    await trigger.on_kill()  # what the triggerer calls when a user marks the deferred task failed
    event = await asyncio.wait_for(waiting, timeout=10)
    assert event.payload["status"] == "cancelled"
    assert states_of(gemini_conn, test_id) == ["JOB_STATE_CANCELLED"]


async def test_cleanup_does_not_cancel(gemini_conn, client, submit, test_id):
    job = submit(duration_ms=30_000, labels={"lifecycle-test": test_id})
    trigger = TuningJobTrigger(job.name, **FAST)
    waiting = asyncio.ensure_future(first_event(trigger))
    await asyncio.sleep(0.3)
    waiting.cancel()  # a triggerer restart: the run is cancelled, then cleanup() runs
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await trigger.cleanup()
    await asyncio.sleep(0.2)
    assert states_of(gemini_conn, test_id)[0] in ("JOB_STATE_PENDING", "JOB_STATE_RUNNING")
    client.tunings.cancel(name=job.name)  # tidy up the shared emulator


async def test_on_kill_leaves_the_job_when_not_owned(gemini_conn, client, submit, test_id):
    job = submit(duration_ms=30_000, labels={"lifecycle-test": test_id})
    await TuningJobTrigger(job.name, cancel_on_kill=False, **FAST).on_kill()
    assert states_of(gemini_conn, test_id)[0] in ("JOB_STATE_PENDING", "JOB_STATE_RUNNING")
    client.tunings.cancel(name=job.name)


async def test_deadline_cancels_the_job_and_times_out(gemini_conn, submit, test_id):
    job = submit(duration_ms=30_000, labels={"lifecycle-test": test_id})
    started = time.monotonic()
    event = await first_event(TuningJobTrigger(job.name, deadline=time.time() + 0.6, **FAST))
    assert time.monotonic() - started < 5
    assert event.payload["status"] == "timeout"
    assert f"cancelled {job.name}" in event.payload["message"]
    assert states_of(gemini_conn, test_id)[0] in ("JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED")


async def test_waits_on_several_jobs_and_reports_the_worst(gemini_conn, submit, datasets, test_id):
    good = submit(duration_ms=600, labels={"lifecycle-test": test_id})
    bad = submit(duration_ms=600, labels={"lifecycle-test": test_id}, training_dataset_uri=datasets["bad"])
    event = await first_event(TuningJobTrigger([good.name, bad.name], **FAST))
    payload = event.payload
    assert payload["status"] == "failed"
    assert [s["state"] for s in payload["summaries"]] == ["JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED"]
    assert "line 3" in payload["errors"][bad.name] and "line 3" in payload["message"]
