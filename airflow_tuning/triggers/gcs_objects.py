"""``GCSNewObjectsTrigger``: an event trigger that fires when new objects land under a GCS prefix.

Used with an ``AssetWatcher`` so a DAG runs when new training data arrives. Each poll lists the prefix;
objects not seen before (or overwritten) are reported in ONE event, so a batch of files uploaded together
starts one run. The consumed set is written to the asset's state store before the event is yielded, so a
restarted triggerer never fires twice for the same object. No secrets in kwargs: only the connection id.
A DAG file builds this trigger when it is parsed; the hook and the watermark rules load in the triggerer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, cast

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

if TYPE_CHECKING:
    from airflow_tuning.common.watermark import ObjectVersion

WATERMARK_KEY = "gcs_new_objects_watermark"


class GCSNewObjectsTrigger(BaseEventTrigger):
    """Fire one event per batch of new objects under ``gs://{bucket}/{prefix}``.

    :param bucket: bucket to watch.
    :param prefix: object-name prefix (e.g. ``incoming/``).
    :param gcp_conn_id: ``gemini_tuning`` connection whose storage endpoint and credentials are used.
    :param poll_interval: seconds between listings.
    :param min_size: ignore objects smaller than this (e.g. zero-byte "folder" placeholders).
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        gcp_conn_id: str = "gemini_tuning_default",
        poll_interval: float = 60.0,
        min_size: int = 1,
    ) -> None:
        super().__init__()
        self.bucket = bucket
        self.prefix = prefix
        self.gcp_conn_id = gcp_conn_id
        self.poll_interval = poll_interval
        self.min_size = min_size
        self._memory_watermark: dict[str, str] | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "bucket": self.bucket,
                "prefix": self.prefix,
                "gcp_conn_id": self.gcp_conn_id,
                "poll_interval": self.poll_interval,
                "min_size": self.min_size,
            },
        )

    async def _load_watermark(self) -> dict[str, str] | None:
        if self.asset_state_store is not None:
            return cast("dict[str, str] | None", await self.asset_state_store.aget(WATERMARK_KEY))
        return self._memory_watermark

    async def _save_watermark(self, watermark: dict[str, str]) -> None:
        self._memory_watermark = watermark
        if self.asset_state_store is not None:
            await self.asset_state_store.aset(WATERMARK_KEY, cast(Any, watermark))

    async def _list(self, client: Any) -> list[ObjectVersion]:
        from airflow_tuning.common.watermark import ObjectVersion

        def listing() -> list[ObjectVersion]:
            return [
                ObjectVersion(blob.name, str(blob.generation), int(blob.size or 0))
                for blob in client.list_blobs(self.bucket, prefix=self.prefix)
                if int(blob.size or 0) >= self.min_size
            ]

        return await asyncio.to_thread(listing)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_tuning.common.watermark import new_objects
        from airflow_tuning.hooks.tuning import GeminiTuningHook, build_storage_client

        settings = await GeminiTuningHook.aget_settings(self.gcp_conn_id)
        client = await asyncio.to_thread(build_storage_client, settings)
        where = f"gs://{self.bucket}/{self.prefix}"
        while True:
            try:
                listing = await self._list(client)
            except Exception as err:  # a listing error is retried at the next poll, never fatal
                self.log.warning("Listing %s failed, retrying in %ss: %s", where, self.poll_interval, err)
            else:
                previous = await self._load_watermark()
                fresh, watermark = new_objects(listing, previous)
                if fresh:
                    await self._save_watermark(watermark)
                    self.log.info("%d new object(s) under %s", len(fresh), where)
                    yield TriggerEvent(
                        {
                            "bucket": self.bucket,
                            "prefix": self.prefix,
                            "objects": [f"gs://{self.bucket}/{o.name}" for o in fresh],
                            "bytes": sum(o.size for o in fresh),
                        }
                    )
                elif watermark != previous:
                    await self._save_watermark(watermark)  # forget deleted objects
            await asyncio.sleep(self.poll_interval)
