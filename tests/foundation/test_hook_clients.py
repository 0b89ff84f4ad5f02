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


def test_find_model_alias_resolves_the_champion(gemini_conn):
    from google.genai import types

    from tests.emulator.helpers import jsonl, upload, wait_ended

    hook = GeminiTuningHook()
    client = hook.get_genai_client()
    assert hook.find_model_alias("alias-lookup-model") is None  # nothing tuned yet: a bootstrap run

    uri = upload(hook.get_storage_client(), "hook-alias-test", "train.jsonl", jsonl(range(8)))
    job = client.tunings.tune(
        base_model="gemini-2.5-flash",
        training_dataset=types.TuningDataset(gcs_uri=uri),
        config=types.CreateTuningJobConfig(
            tuned_model_display_name="alias-lookup-model", labels={"emulator-duration-ms": "300"}
        ),
    )
    tuned = wait_ended(client, job.name).tuned_model.model
    assert hook.find_model_alias("alias-lookup-model") is None  # tuned, but no version holds the alias

    hook.get_model_service_client().merge_version_aliases(name=tuned, version_aliases=["champion"])
    found = hook.find_model_alias("alias-lookup-model")
    base = tuned.split("@")[0]
    assert found == {"model": f"{base}@champion", "version": tuned}
    assert hook.find_model_alias("another-model") is None
