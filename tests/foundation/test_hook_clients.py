"""The hook's clients work end to end against the emulator, built from an AIRFLOW_CONN_* JSON connection."""

from __future__ import annotations

import pytest

from airflow_tuning.hooks.tuning import GeminiTuningHook


def test_every_client_talks_to_the_emulator(gemini_conn):
    from google.api_core.exceptions import NotFound

    hook = GeminiTuningHook()
    assert list(hook.get_genai_client().tunings.list(config={"page_size": 5})) is not None

    storage = hook.get_storage_client()
    bucket = storage.create_bucket("hook-clients-test")
    bucket.blob("a/b.txt").upload_from_string(b"hello")
    assert [b.name for b in storage.list_blobs("hook-clients-test", prefix="a/")] == ["a/b.txt"]
    assert bucket.blob("a/b.txt").download_as_bytes() == b"hello"

    registry = hook.get_model_service_client()
    with pytest.raises(NotFound):
        registry.get_model(name=f"projects/{hook.project}/locations/{hook.location}/models/does-not-exist@1")

    ok, message = hook.test_connection()
    assert ok, message


async def test_async_client_talks_to_the_emulator(gemini_conn):
    client = await GeminiTuningHook.aget_async_genai_client()
    pager = await client.tunings.list(config={"page_size": 1})
    assert pager is not None


def test_test_connection_reports_a_dead_endpoint(set_conn):
    set_conn({"project": "p", "api_endpoint": "http://127.0.0.1:9", "retry_attempts": 1})
    ok, message = GeminiTuningHook().test_connection()
    assert not ok and message
