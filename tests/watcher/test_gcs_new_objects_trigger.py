"""The GCS watcher fires once per batch of new objects and never twice for the same object."""

from __future__ import annotations

import asyncio

import pytest

from airflow_tuning.common.watermark import ObjectVersion, new_objects
from airflow_tuning.hooks.tuning import GeminiTuningHook
from airflow_tuning.triggers.gcs_objects import GCSNewObjectsTrigger


class StateStore:
    """The asset state store's async get/set, kept in memory (the triggerer provides the real one)."""

    def __init__(self) -> None:
        self.values: dict = {}

    async def aget(self, key, default=None):
        return self.values.get(key, default)

    async def aset(self, key, value):
        self.values[key] = value


def test_watermark_reports_new_and_overwritten_objects_only():
    first, mark = new_objects([ObjectVersion("a", "1"), ObjectVersion("b", "1")], None)
    assert [o.name for o in first] == ["a", "b"]
    again, mark = new_objects([ObjectVersion("a", "1"), ObjectVersion("b", "1")], mark)
    assert again == []
    changed, mark = new_objects([ObjectVersion("a", "2"), ObjectVersion("c", "1")], mark)
    assert [o.name for o in changed] == ["a", "c"]
    assert mark == {"a": "2", "c": "1"}  # "b" was deleted: forgotten


def test_trigger_serializes_without_secrets():
    trigger = GCSNewObjectsTrigger(bucket="b", prefix="incoming/", poll_interval=5)
    path, kwargs = trigger.serialize()
    assert path == "airflow_tuning.triggers.gcs_objects.GCSNewObjectsTrigger"
    assert GCSNewObjectsTrigger(**kwargs).serialize() == (path, kwargs)
    assert set(kwargs) == {"bucket", "prefix", "gcp_conn_id", "poll_interval", "min_size"}


async def _next_event(trigger, timeout=10.0):
    agen = trigger.run()
    try:
        return await asyncio.wait_for(agen.__anext__(), timeout)
    finally:
        await agen.aclose()


@pytest.mark.usefixtures("gemini_conn")
async def test_trigger_fires_once_per_new_object(emulator):
    emulator.create_bucket("watched-bucket")
    storage = GeminiTuningHook().get_storage_client()
    storage.bucket("watched-bucket").blob("incoming/one.jsonl").upload_from_string(b"{}\n")
    storage.bucket("watched-bucket").blob("incoming/empty/").upload_from_string(b"")
    storage.bucket("watched-bucket").blob("elsewhere/x.jsonl").upload_from_string(b"{}\n")
    store = StateStore()

    trigger = GCSNewObjectsTrigger(bucket="watched-bucket", prefix="incoming/", poll_interval=0.1)
    trigger.asset_state_store = store
    event = await _next_event(trigger)
    assert event.payload["objects"] == ["gs://watched-bucket/incoming/one.jsonl"]

    # A new trigger instance (a restarted triggerer) with the same state does not fire for it again ...
    restarted = GCSNewObjectsTrigger(bucket="watched-bucket", prefix="incoming/", poll_interval=0.1)
    restarted.asset_state_store = store
    with pytest.raises(asyncio.TimeoutError):
        await _next_event(restarted, timeout=1.0)

    # ... and fires once for a batch of new objects.
    storage.bucket("watched-bucket").blob("incoming/two.jsonl").upload_from_string(b"{}\n")
    storage.bucket("watched-bucket").blob("incoming/three.csv").upload_from_string(b"a,b\n")
    event = await _next_event(restarted)
    assert event.payload["objects"] == [
        "gs://watched-bucket/incoming/three.csv",
        "gs://watched-bucket/incoming/two.jsonl",
    ]
