"""The emulator as CI infrastructure: many concurrent clients, hostile bodies, non-JSON numbers.

Every request goes to loopback. Nothing here measures time: each test asserts what every request got back.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import urllib.parse

import httpx
import pytest

from tests.emulator.helpers import jsonl, upload

CONCURRENT_UPLOADS = 200
CONCURRENT_GETS = 100


def _tuning_body(uri: str, **hyper) -> dict:
    return {"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": {"trainingDatasetUri": uri,
                                                                      "hyperParameters": hyper}}


def _jobs_path(emu) -> str:
    return f"/v1beta1/projects/{emu.project}/locations/{emu.location}/tuningJobs"


def _post_then_health(emu, path: str, body: bytes) -> tuple[int, dict, int]:
    """POST ``body`` and then GET health on the SAME connection (``auto_open=0`` forbids a reconnect)."""
    url = urllib.parse.urlsplit(emu.api_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        first = conn.getresponse()
        status, payload = first.status, json.loads(first.read())
        conn.auto_open = 0  # a closed connection now raises instead of silently reconnecting
        conn.request("GET", "/_emulator/health")
        second = conn.getresponse()
        second.read()
        return status, payload, second.status
    finally:
        conn.close()


@pytest.fixture(scope="module")
def dataset(emu, storage) -> str:
    return upload(storage, "ci-infrastructure", "train.jsonl", jsonl(range(4)))


def test_200_concurrent_uploads_then_100_concurrent_gets_all_succeed(emu):
    emu.create_bucket("ci-concurrency")
    base = f"{emu.storage_url}/upload/storage/v1/b/ci-concurrency/o"

    async def run() -> tuple[list[int], list[bytes]]:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=120, limits=limits) as http:
            uploads = await asyncio.gather(*(
                http.post(base, params={"uploadType": "media", "name": f"obj-{i}"}, content=f"body {i}".encode())
                for i in range(CONCURRENT_UPLOADS)
            ))
            gets = await asyncio.gather(*(
                http.get(f"{emu.storage_url}/download/storage/v1/b/ci-concurrency/o/obj-{i}",
                         params={"alt": "media"})
                for i in range(CONCURRENT_GETS)
            ))
        return [r.status_code for r in uploads], [r.content for r in gets]

    statuses, bodies = asyncio.run(run())
    assert statuses == [200] * CONCURRENT_UPLOADS
    assert bodies == [f"body {i}".encode() for i in range(CONCURRENT_GETS)]
    names = {blob.name for blob in emu.storage_client().list_blobs("ci-concurrency")}
    assert names == {f"obj-{i}" for i in range(CONCURRENT_UPLOADS)}


def test_100_concurrent_api_calls_all_succeed(emu):
    async def run() -> list[int]:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=120, limits=limits) as http:
            answers = await asyncio.gather(*(http.get(emu.api_url + _jobs_path(emu)) for _ in range(100)))
        return [a.status_code for a in answers]

    assert asyncio.run(run()) == [200] * 100


@pytest.mark.parametrize("hyper, named", [
    ({"batchSize": {"a": 1}}, "batchSize"),
    ({"epochCount": [3]}, "epochCount"),
    ({"adapterSize": 4}, "adapterSize"),
])
def test_wrongly_typed_hyper_parameters_are_400_and_keep_the_connection(emu, dataset, hyper, named):
    raw = json.dumps(_tuning_body(dataset, **hyper)).encode()
    status, payload, after = _post_then_health(emu, _jobs_path(emu), raw)
    assert status == 400, payload
    assert payload["error"]["status"] == "INVALID_ARGUMENT"
    assert named in payload["error"]["message"]
    assert after == 200


def test_an_integer_tuned_model_name_is_400(emu, dataset):
    body = {"preTunedModel": {"tunedModelName": 123},
            "supervisedTuningSpec": {"trainingDatasetUri": dataset}}
    status, payload, after = _post_then_health(emu, _jobs_path(emu), json.dumps(body).encode())
    assert (status, payload["error"]["status"], after) == (400, "INVALID_ARGUMENT", 200)
    assert "tunedModelName" in payload["error"]["message"]


@pytest.mark.parametrize("depth", [900, 100_000])
def test_deeply_nested_bodies_are_400(emu, dataset, depth):
    nested = "[" * depth + "]" * depth
    raw = json.dumps(_tuning_body(dataset)).replace('"hyperParameters": {}', f'"evaluationConfig": {{"x": {nested}}}')
    status, payload, after = _post_then_health(emu, _jobs_path(emu), raw.encode())
    assert (status, payload["error"]["status"], after) == (400, "INVALID_ARGUMENT", 200)


@pytest.mark.parametrize("labels", [{"team": 5}, {"team": {"a": "b"}}, ["team"], {"team": "a\n"}, {"team\n": "a"}])
def test_wrongly_typed_labels_are_400(emu, dataset, labels):
    status, payload, after = _post_then_health(
        emu, _jobs_path(emu), json.dumps({**_tuning_body(dataset), "labels": labels}).encode())
    assert (status, after) == (400, 200)


@pytest.mark.parametrize("raw", ['{"job_duration": NaN}', '{"job_duration": Infinity}', '{"latency": -Infinity}',
                                 '{"job_duration": 1e999}', '{"job_duration": "NaN"}', '{"latency": true}'])
def test_non_finite_config_is_refused_and_lists_keep_working(emu, raw):
    before = emu.configure()
    status, payload, after = _post_then_health(emu, "/_emulator/config", raw.encode())
    assert (status, payload["error"]["status"], after) == (400, "INVALID_ARGUMENT", 200)
    assert emu.configure() == before
    assert httpx.get(emu.api_url + _jobs_path(emu), timeout=30).status_code == 200
    assert httpx.get(emu.api_url + "/_emulator/stats", timeout=30).status_code == 200


@pytest.mark.parametrize("raw_value", ["NaN", "Infinity", '"NaN"', '"Infinity"', '"-Infinity"', "0", "-1"])
def test_non_finite_or_non_positive_learning_rate_multipliers_are_400(emu, dataset, raw_value):
    raw = json.dumps(_tuning_body(dataset, learningRateMultiplier=1.0)).replace("1.0", raw_value)
    status, payload, after = _post_then_health(emu, _jobs_path(emu), raw.encode())
    assert (status, payload["error"]["status"], after) == (400, "INVALID_ARGUMENT", 200)
    assert "NaN" not in json.dumps(emu.jobs())  # nothing non-standard was stored or echoed


def test_the_sdk_sending_a_nan_multiplier_gets_a_client_error(client, dataset):
    from google.genai import errors, types

    with pytest.raises(errors.ClientError) as raised:
        client.tunings.tune(base_model="gemini-2.5-flash", training_dataset=types.TuningDataset(gcs_uri=dataset),
                            config=types.CreateTuningJobConfig(learning_rate_multiplier=float("nan")))
    assert raised.value.code == 400


@pytest.mark.parametrize("body", [
    {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generationConfig": "fast"},
    {"contents": [{"role": "user", "parts": [{"text": 5}]}]},
    {"contents": "hi"},
    {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generationConfig": {"maxOutputTokens": "many"}},
])
def test_wrongly_typed_generate_content_bodies_are_400(emu, body):
    path = f"/v1beta1/projects/{emu.project}/locations/{emu.location}/publishers/google/models/gemini-2.5-flash"
    for verb in (":generateContent", ":countTokens"):
        status, payload, after = _post_then_health(emu, path + verb, json.dumps(body).encode())
        assert (status, payload["error"]["status"], after) == (400, "INVALID_ARGUMENT", 200), (verb, payload)


@pytest.mark.parametrize("spec", ["gs://b/train.jsonl", ["gs://b/train.jsonl"],
                                  {"trainingDatasetUri": "gs://b/t.jsonl", "hyperParameters": "fast"}])
def test_objects_of_the_wrong_shape_are_400(emu, spec):
    raw = json.dumps({"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": spec}).encode()
    status, payload, after = _post_then_health(emu, _jobs_path(emu), raw)
    assert (status, payload["error"]["status"], after) == (400, "INVALID_ARGUMENT", 200)
    assert "supervisedTuningSpec" in payload["error"]["message"]


def test_an_unexpected_error_answers_500_and_keeps_the_connection():
    """A handler bug still gets Google's 500 body, and the client's keep-alive connection stays usable."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from airflow_tuning.emulator.app import _answer_keeping_connection, _internal_error
    from airflow_tuning.emulator.server_thread import ServerThread, bind

    async def boom(request):
        raise RuntimeError("a bug")

    async def fine(request):
        return PlainTextResponse("ok")

    inner = Starlette(routes=[Route("/boom", boom), Route("/fine", fine)],
                      exception_handlers={Exception: _internal_error})

    async def app(scope, receive, send):
        await _answer_keeping_connection(inner, scope, receive, send)

    sock = bind("127.0.0.1", 0)
    server = ServerThread(app, sock, "keep-alive-check").start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", sock.getsockname()[1], timeout=30)
        conn.request("GET", "/boom")
        first = conn.getresponse()
        body = json.loads(first.read())
        conn.auto_open = 0
        conn.request("GET", "/fine")
        second = conn.getresponse()
        assert (first.status, body["error"]["status"]) == (500, "INTERNAL")
        assert (second.status, second.read()) == (200, b"ok")
        conn.close()
    finally:
        server.stop()
