"""The Developer-API client against the emulator: the tutorial's number-sequence run end to end, failures,
idempotent creation, listing, deletion, authentication, faults."""

from __future__ import annotations

import asyncio
import copy
import time

import httpx
import pytest

from airflow_tuning.backends.gemini_api.examples import create_request, examples_from_items
from airflow_tuning.backends.gemini_api.jobs import summarize_api
from airflow_tuning.jobs import states as job_states
from airflow_tuning.jobs.summary import SUMMARY_KEYS
from tests.gemini_api.conftest import API_KEY
from tests.gemini_api.number_sequence import BASE_MODEL, EXAMPLES, HYPERPARAMETERS


def number_sequence_body(display_name: str = "number generator model") -> dict:
    return create_request(examples_from_items(EXAMPLES), base_model=BASE_MODEL, display_name=display_name,
                          **HYPERPARAMETERS)


def wait_ended(client, name: str, timeout: float = 20.0) -> tuple[object, list[float]]:
    deadline, percents = time.monotonic() + timeout, []
    while True:
        job = client.get(name=name)
        if job.completed_percent is not None:
            percents.append(job.completed_percent)
        if job.has_ended:
            return job, percents
        assert time.monotonic() < deadline, f"{name} still {job.api_state} after {timeout}s"
        time.sleep(0.2)


async def follow(settings, name: str) -> list:
    """Poll with the async client (as the trigger does) until the run has ended."""
    from airflow_tuning.backends.gemini_api.client import build_async_gemini_api_client

    aclient = build_async_gemini_api_client(settings)
    try:
        seen = [await aclient.tunings.get(name=name)]
        while not seen[-1].has_ended:
            await asyncio.sleep(0.2)
            seen.append(await aclient.tunings.get(name=name))
        return seen
    finally:
        await aclient.aclose()


def test_number_sequence_is_tuned_answered_listed_and_deleted(settings, client, genai_client):
    from google.genai import errors

    operation = client.create_tuned_model(number_sequence_body())
    name = operation["name"]
    model = operation["metadata"]["tunedModel"]
    assert name.startswith(f"{model}/operations/") and model.startswith("tunedModels/number-generator-model-")
    assert operation["metadata"]["totalSteps"] == 38  # ceil(15 examples * 5 epochs / batch 2)
    assert client.get_tuned_model(model)["state"] == "CREATING"

    seen = asyncio.run(follow(settings, name))
    percents = [job.completed_percent for job in seen]
    assert [job.state for job in seen][0] == job_states.RUNNING
    assert seen[-1].state == job_states.SUCCEEDED and seen[-1].api_state == "ACTIVE"
    assert percents == sorted(percents) and percents[-1] == 100.0
    assert any(0 < p < 100 for p in percents), percents
    assert client.get(name=name).state == job_states.SUCCEEDED
    summary = summarize_api(client.get_operation(name), client.get_tuned_model(model))
    assert tuple(summary) == SUMMARY_KEYS
    assert (summary["tuning_job"], summary["tuned_model"], summary["endpoint"]) == (name, model, model)

    tuned = client.get_tuned_model(model)
    assert tuned["tuningTask"]["hyperparameters"] == {"epochCount": 5, "batchSize": 2, "learningRate": 0.001}
    assert "trainingData" not in tuned["tuningTask"]  # input only, as on the real API
    answers = {p: genai_client.models.generate_content(model=model, contents=p).text
               for p in ("1", "twenty two", "seven", "ninety nine")}
    assert answers == {"1": "2", "twenty two": "twenty three", "seven": "eight", "ninety nine": "one hundred"}
    aio_answer = asyncio.run(genai_client.aio.models.generate_content(model=model, contents="eighty"))
    assert aio_answer.text == "eighty one" and aio_answer.usage_metadata.prompt_token_count == 1
    assert model in [m["name"] for m in client.list_tuned_models(page_size=1)]

    assert client.delete_tuned_model(model) is True
    with pytest.raises(errors.ClientError) as caught:
        client.get_tuned_model(model)
    assert caught.value.code == 404
    assert client.delete_tuned_model(model) is False  # a repeated clean-up is not an error


def test_an_invalid_example_fails_the_run_with_the_apis_message(client):
    body = number_sequence_body("bad data")  # built valid, then broken behind the client's checks
    body = copy.deepcopy(body)
    body["tuningTask"]["trainingData"]["examples"]["examples"][2]["output"] = "9" * 5_001
    name = client.create_tuned_model(body)["name"]
    job, _ = wait_ended(client, name)
    assert job.state == job_states.FAILED and job.api_state == "FAILED"
    assert job.error["message"] == "Training example 2: output has 5,001 characters; the limit is 5,000."
    client.delete_tuned_model(job.tuned_model_name)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b["tuningTask"].pop("trainingData"), "training_data must be an object"),
        (lambda b: b.update(baseModel="models/gemini-2.5-flash"), "does not support tuning"),
        (lambda b: b.update(labels={"a": "b"}), 'Unknown name "labels"'),
        (lambda b: b["tuningTask"]["hyperparameters"].update(learningRateMultiplier=1.0), "mutually exclusive"),
    ],
)
def test_malformed_requests_are_answered_400(client, change, message):
    from google.genai import errors

    body = copy.deepcopy(number_sequence_body())
    change(body)
    with pytest.raises(errors.ClientError) as caught:
        client.create_tuned_model(body)
    assert caught.value.code == 400 and caught.value.status == "INVALID_ARGUMENT"
    assert message in caught.value.message


def test_a_tuned_model_id_makes_creation_idempotent(client):
    from google.genai import errors

    model_id = f"idem-{int(time.time() * 1000) % 10**9}"
    operation = client.create_tuned_model(number_sequence_body(), tuned_model_id=model_id)
    assert operation["metadata"]["tunedModel"] == f"tunedModels/{model_id}"
    with pytest.raises(errors.ClientError) as caught:
        client.create_tuned_model(number_sequence_body(), tuned_model_id=model_id)
    assert (caught.value.code, caught.value.status) == (409, "ALREADY_EXISTS")
    assert client.find_operation(f"tunedModels/{model_id}")["name"] == operation["name"]
    assert client.delete_tuned_model(model_id) is True


def test_listing_follows_pages(client, emulator):
    names = [client.create_tuned_model(number_sequence_body(f"page {i}"))["metadata"]["tunedModel"] for i in range(3)]
    before = emulator.stats()["requests"].get("GET /v1beta/tunedModels", 0)
    listed = [m["name"] for m in client.list_tuned_models(page_size=2)]
    assert set(names) <= set(listed) and len(listed) == len(set(listed))
    assert emulator.stats()["requests"]["GET /v1beta/tunedModels"] - before == -(-len(listed) // 2)
    for name in names:
        client.delete_tuned_model(name)


def test_calls_without_a_key_are_refused_like_google(emulator):
    url = f"{emulator.api_url}/v1beta/tunedModels"
    refused = httpx.get(url)
    assert refused.status_code == 403
    assert refused.json()["error"]["status"] == "PERMISSION_DENIED"
    assert "API Key" in refused.json()["error"]["message"]
    assert httpx.get(url, params={"key": ""}).status_code == 400
    assert httpx.get(url, params={"key": API_KEY}).status_code == 200
    assert httpx.get(f"{url}/x", headers={"authorization": "Bearer token"}).status_code == 404


def test_injected_faults_are_retried_by_the_one_policy(client, emulator):
    before = emulator.stats()
    emulator.set_faults([{"route": "GET /v1beta/tunedModels$", "status": 503, "count": 2},
                         {"route": "GET /v1/tunedModels/", "drop": True, "count": 1}], seed=3)
    try:
        client.list_tuned_models()
        name = client.create_tuned_model(number_sequence_body("faults"))["name"]
        assert client.get(name=name).state == job_states.RUNNING
    finally:
        emulator.clear_faults()
    after = emulator.stats()
    faults = {k: after["faults_by_kind"].get(k, 0) - before["faults_by_kind"].get(k, 0) for k in ("503", "drop")}
    assert faults == {"503": 2, "drop": 1}
    requests = after["requests"]
    assert requests["GET /v1/tunedModels/{id}/operations/{op}"] - before["requests"].get(
        "GET /v1/tunedModels/{id}/operations/{op}", 0) == 2
    client.delete_tuned_model(client.get(name=name).tuned_model_name)


def test_tuned_models_survive_an_emulator_restart(tmp_path):
    from airflow_tuning.backends.gemini_api.client import build_gemini_api_client
    from airflow_tuning.common.connection import ConnectionSettings
    from airflow_tuning.emulator import Emulator

    state = str(tmp_path / "state.json")
    with Emulator(job_duration=0.5, state_file=state) as emu:
        settings = ConnectionSettings.from_extras("restart", emu.connection_extra(gemini_api_key=API_KEY))
        client = build_gemini_api_client(settings)
        name = client.create_tuned_model(number_sequence_body())["name"]
        client.close()
    time.sleep(0.6)
    with Emulator(job_duration=0.5, state_file=state) as emu:
        settings = ConnectionSettings.from_extras("restart", emu.connection_extra(gemini_api_key=API_KEY))
        client = build_gemini_api_client(settings)
        job = client.get(name=name)
        assert job.state == job_states.SUCCEEDED
        from airflow_tuning.backends.gemini_api.client import build_gemini_api_genai_client

        genai_client = build_gemini_api_genai_client(settings)
        assert genai_client.models.generate_content(model=job.tuned_model_name, contents="thirteen").text == "fourteen"
        client.close()


def test_cancel_stops_a_run_through_the_shared_cancel_helper(client):
    import logging

    from airflow_tuning.jobs.watch import cancel_job

    operation = client.create_tuned_model(number_sequence_body("cancelled"))
    model = operation["metadata"]["tunedModel"]
    log = logging.getLogger("test")
    assert cancel_job(client, model, log) is True  # by tuned model name: its operation is looked up
    job = client.get(name=operation["name"])
    assert job.state == job_states.CANCELLED and job.api_state == "FAILED"
    assert job.error["code"] == 1
    assert cancel_job(client, operation["name"], log) is False  # already ended: logged, not raised
    assert client.delete_tuned_model(model) is True  # the tutorial: delete cancelled models
