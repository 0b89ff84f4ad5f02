"""The API key stays out of logs, reprs and errors; the hook builds the Developer-API clients."""

from __future__ import annotations

import asyncio
import logging

import pytest

from airflow_tuning.common.connection import ConnectionConfigError, ConnectionSettings
from tests.gemini_api.conftest import API_KEY


def test_the_key_never_reaches_a_log_line_a_repr_or_an_error(settings, emulator, caplog, capsys):
    from google.genai import errors

    from airflow_tuning.backends.gemini_api.client import build_gemini_api_client, build_gemini_api_genai_client
    from tests.gemini_api.test_backend import number_sequence_body

    texts = []
    emulator.set_faults([{"route": "GET /v1/tunedModels/", "status": 503, "count": 1}])
    try:
        with caplog.at_level(logging.DEBUG):
            client = build_gemini_api_client(settings)
            name = client.create_tuned_model(number_sequence_body("secrets"))["name"]
            job = client.get(name=name)
            genai_client = build_gemini_api_genai_client(settings)  # held: google-genai closes it when collected
            with pytest.raises(errors.ClientError) as caught:  # still CREATING: refused, through google-genai
                genai_client.models.generate_content(model=job.tuned_model_name, contents="1")
            assert caught.value.status == "FAILED_PRECONDITION"
            with pytest.raises(errors.ClientError) as caught:
                client.get_tuned_model("tunedModels/does-not-exist")
            client.delete_tuned_model(job.tuned_model_name)
    finally:
        emulator.clear_faults()
    assert "retrying" in caplog.text  # the injected 503 was logged, without the key
    out = capsys.readouterr()
    texts += [caplog.text, out.out, out.err, repr(client), repr(settings), str(caught.value), repr(caught.value)]
    texts += [repr(job), str(job.error)]
    for text in texts:
        assert API_KEY not in text


def test_a_missing_key_names_the_field(emulator):
    from airflow_tuning.backends.gemini_api.client import build_gemini_api_client

    settings = ConnectionSettings.from_extras("no_key", emulator.connection_extra())
    with pytest.raises(ConnectionConfigError, match="'no_key': field 'gemini_api_key' is required"):
        build_gemini_api_client(settings)


def test_the_connection_password_works_as_the_key(emulator):
    from airflow_tuning.backends.gemini_api.client import build_gemini_api_client

    settings = ConnectionSettings.from_extras("pw", emulator.connection_extra(), password=API_KEY)
    assert isinstance(build_gemini_api_client(settings).list_tuned_models(max_items=1), list)


def test_endpoint_falls_back_from_gemini_api_endpoint_to_api_endpoint_to_google():
    from airflow_tuning.backends.gemini_api.client import DEFAULT_ENDPOINT, endpoint_of

    assert endpoint_of(ConnectionSettings.from_extras("a", {"api_endpoint": "http://127.0.0.1:1/"})) == (
        "http://127.0.0.1:1"
    )
    both = {"api_endpoint": "http://127.0.0.1:1", "gemini_api_endpoint": "http://127.0.0.1:2"}
    assert endpoint_of(ConnectionSettings.from_extras("b", both)) == "http://127.0.0.1:2"
    assert endpoint_of(ConnectionSettings.from_extras("c", {})) == DEFAULT_ENDPOINT


def test_the_hook_builds_the_clients(gemini_api_conn):
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    hook = GeminiTuningHook()
    assert hook.get_gemini_api_client() is hook.get_gemini_api_client()
    assert isinstance(hook.get_gemini_api_client().list_tuned_models(max_items=1), list)
    assert hook.get_gemini_api_genai_client() is hook.get_gemini_api_genai_client()
    assert API_KEY not in repr(hook)

    async def twice():
        first = await GeminiTuningHook.aget_gemini_api_client()
        second = await GeminiTuningHook.aget_gemini_api_client()
        await first.list_tuned_models(max_items=1)
        return first, second

    first, second = asyncio.run(twice())
    assert first is second
    third, _ = asyncio.run(twice())  # another event loop, another HTTP pool
    assert third is not first
