"""Drill 8: a new object in the watched prefix starts exactly one asset-triggered run.

``GCSNewObjectsTrigger`` runs as an ``AssetWatcher`` in the real triggerer. Objects outside the prefix and a
zero-byte placeholder inside it must not start anything; one new data file must start exactly one run,
and keep starting no more while the watcher keeps polling.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.harness.drills import DATA, ready_dag, wait_until

DAG_ID = "e2e_asset_watch"
ASSET = "e2e_incoming_training_data"
BUCKET = "e2e-watched"
POLL_S = 2.0
WATERMARK_KEY = "gcs_new_objects_watermark"


def _watermark(rest, asset_id: int):
    entries = rest.asset_state(asset_id)["asset_state_store"]
    return next((e["value"] for e in entries if e["key"] == WATERMARK_KEY), None)


@pytest.mark.drill(name="8 new object -> exactly one asset run")
def test_a_new_object_starts_exactly_one_run(e2e_stack, drill):
    rest, emulator = e2e_stack.rest, e2e_stack.emulator
    ready_dag(e2e_stack, DAG_ID)
    [asset] = [a for a in rest.assets(ASSET) if a["name"] == ASSET]
    # The watcher has polled at least once when it has recorded what it saw (an empty prefix at first).
    wait_until(lambda: _watermark(rest, asset["id"]) is not None, 120, "the watcher's first poll")
    runs_before = rest.count_runs(DAG_ID)

    emulator.upload_text(BUCKET, "elsewhere/ignored.jsonl", (DATA / "train.jsonl").read_text())
    emulator.upload_text(BUCKET, "incoming/", "")  # zero-byte "folder" placeholder, below min_size
    time.sleep(4 * POLL_S)
    assert rest.count_runs(DAG_ID) == runs_before, "objects outside the prefix or empty must not start a run"

    new_object = "incoming/batch-0001.jsonl"
    uploaded_at = time.monotonic()
    emulator.upload_text(BUCKET, new_object, (DATA / "train.jsonl").read_text())
    wait_until(lambda: rest.count_runs(DAG_ID) > runs_before, 120, "an asset-triggered run")
    started_after = time.monotonic() - uploaded_at
    time.sleep(5 * POLL_S)  # the watcher keeps polling; a second run here would be a duplicate

    runs = sorted(rest.runs(DAG_ID), key=lambda r: r["run_after"])[runs_before:]
    assert len(runs) == 1, f"expected exactly one run, got {[r['dag_run_id'] for r in runs]}"
    run = rest.wait_run(DAG_ID, runs[0]["dag_run_id"], timeout=120)
    assert run["state"] == "success"
    assert run["run_type"] == "asset_triggered"
    objects = rest.xcom(DAG_ID, run["dag_run_id"], "new_objects")
    assert objects == [f"gs://{BUCKET}/{new_object}"], objects
    assert sorted(_watermark(rest, asset["id"])) == ["incoming/batch-0001.jsonl"]
    drill.note(run_started_after_s=round(started_after, 1))
