"""Injected faults are reproducible under a seed, the SDK's retry rides them out, and stats count it all."""

from __future__ import annotations

import time

import httpx
import pytest
from google.genai import errors, types

from airflow_tuning.common.connection import ConnectionSettings
from airflow_tuning.emulator import Emulator
from airflow_tuning.hooks.tuning import build_genai_client
from tests.emulator.helpers import jsonl, upload

JOB_GET = r"^GET /v1beta1/projects/[^/]+/locations/[^/]+/tuningJobs/\d+$"
TEMPLATE = "GET /v1beta1/projects/{p}/locations/{l}/tuningJobs/{id}"


@pytest.fixture(scope="module")
def job(client, storage):
    uri = upload(storage, "faults", "train.jsonl", jsonl(range(3)))
    return client.tunings.tune(base_model="gemini-2.5-flash", training_dataset=types.TuningDataset(gcs_uri=uri),
                               config=types.CreateTuningJobConfig(labels={"suite": "faults"}))


@pytest.fixture(autouse=True)
def no_faults(emu):
    emu.clear_faults()
    yield
    emu.clear_faults()
    emu.configure(latency=0.0)


def statuses(emu, name, n=30):
    with httpx.Client(timeout=10) as http:
        return [http.get(f"{emu.api_url}/v1beta1/{name}").status_code for _ in range(n)]


def test_faults_are_deterministic_under_a_seed(emu, job):
    emu.set_faults([{"route": JOB_GET, "rate": 0.5, "status": 503}], seed=3)
    first = statuses(emu, job.name)
    emu.set_faults([{"route": JOB_GET, "rate": 0.5, "status": 503}], seed=3)
    assert statuses(emu, job.name) == first
    assert {200, 503} == set(first)
    emu.set_faults([{"route": JOB_GET, "rate": 0.5, "status": 503}], seed=4)
    assert statuses(emu, job.name) != first


def test_sdk_retry_rides_out_errors_and_stats_count_them(emu, client, job):
    emu.reset_stats()
    emu.set_faults([{"route": JOB_GET, "rate": 0.5, "status": 503},
                    {"route": JOB_GET, "rate": 0.3, "status": 429}], seed=11)
    for _ in range(10):
        assert client.tunings.get(name=job.name).name == job.name
    stats = emu.stats()
    injected = stats["faults_by_kind"].get("503", 0) + stats["faults_by_kind"].get("429", 0)
    assert injected > 0 and stats["faults_injected"] == injected
    assert stats["requests"][TEMPLATE] == 10 + injected


def test_without_retry_the_fault_surfaces(emu, job, settings):
    no_retry = ConnectionSettings.from_extras("no_retry", {**emu.connection_extra(), "retry_attempts": 1})
    emu.set_faults([{"route": JOB_GET, "status": 500, "count": 1}])
    client = build_genai_client(no_retry)
    with pytest.raises(errors.ServerError) as err:
        client.tunings.get(name=job.name)
    assert err.value.code == 500
    assert client.tunings.get(name=job.name).name == job.name  # count=1: only the first request failed


def test_dropped_connection_and_admin_routes_are_never_faulted(emu, job):
    emu.set_faults([{"route": ".*", "drop": True}])
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{emu.api_url}/v1beta1/{job.name}", timeout=10)
    assert emu.stats()["faults_by_kind"]["drop"] >= 1  # the admin route itself answered


def test_latency_fault_and_global_latency(emu, job):
    emu.set_faults([{"route": JOB_GET, "latency_ms": 300}])
    started = time.monotonic()
    assert httpx.get(f"{emu.api_url}/v1beta1/{job.name}", timeout=10).status_code == 200
    assert time.monotonic() - started >= 0.3
    emu.clear_faults()
    emu.configure(latency=0.2)
    started = time.monotonic()
    httpx.get(f"{emu.api_url}/v1beta1/{job.name}", timeout=10)
    assert time.monotonic() - started >= 0.2


def test_invalid_fault_plan_is_rejected_and_keeps_the_old_one(emu):
    emu.set_faults([{"route": "^POST ", "status": 429}])
    with pytest.raises(RuntimeError, match="rate"):
        emu.set_faults([{"route": ".*", "rate": 2}])
    assert httpx.get(f"{emu.api_url}/_emulator/faults").json()["faults"][0]["status"] == 429


def test_faults_given_at_start():
    with Emulator(faults=[{"route": "tuningJobs", "status": 429}], seed=1) as emu:
        response = httpx.get(f"{emu.api_url}/v1/projects/p/locations/l/tuningJobs", timeout=10)
        assert response.status_code == 429
        assert response.json()["error"]["status"] == "RESOURCE_EXHAUSTED"


def test_stats_count_jobs_and_requests_per_template(emu, client, storage):
    emu.reset_stats()
    uri = upload(storage, "faults", "stats.jsonl", jsonl(range(2)))
    created = client.tunings.tune(base_model="gemini-2.5-flash", training_dataset=types.TuningDataset(gcs_uri=uri),
                                  config=types.CreateTuningJobConfig(labels={"emulator-duration-ms": "60000"}))
    client.tunings.get(name=created.name)
    client.tunings.get(name=created.name)
    stats = emu.stats()
    assert stats["jobs_created"] == 1
    assert stats["requests"]["POST /v1beta1/projects/{p}/locations/{l}/tuningJobs"] == 1
    assert stats["requests"][TEMPLATE] == 2
    assert stats["jobs_by_state"]["JOB_STATE_PENDING"] >= 1


def test_configure_changes_the_default_duration(emu, client, storage):
    emu.configure(job_duration=30.0)
    try:
        uri = upload(storage, "faults", "dur.jsonl", jsonl(range(2)))
        job = client.tunings.tune(base_model="gemini-2.5-flash", training_dataset=types.TuningDataset(gcs_uri=uri))
        assert emu.stats()["config"]["job_duration"] == 30.0
        time.sleep(1.0)  # longer than the module's 0.6 s default
        assert not client.tunings.get(name=job.name).has_ended
    finally:
        emu.configure(job_duration=0.6)
