"""Drill 6: a bad dataset -> the upload task fails naming the file and line; nothing is written to the bucket."""

from __future__ import annotations

import json

import pytest

from tests.e2e.harness.drills import DATA, jobs_of, ready_dag, unique_label

DAG_ID = "e2e_retraining"
BAD_LINE = 4


@pytest.mark.drill(name="6 bad dataset fails upload, writes nothing")
def test_bad_dataset_fails_the_upload_and_writes_nothing(e2e_stack, drill, tmp_path):
    rest = e2e_stack.rest
    good = (DATA / "train.jsonl").read_text().splitlines()
    bad_record = {"contents": [{"role": "assistant", "parts": [{"text": "Paris."}]}]}
    lines = [*good[: BAD_LINE - 1], json.dumps(bad_record), *good[BAD_LINE - 1 :]]
    dataset = tmp_path / "bad-train.jsonl"
    dataset.write_text("\n".join(lines) + "\n")

    ready_dag(e2e_stack, DAG_ID)
    label = unique_label("d6")
    run_id = rest.trigger(DAG_ID, {"label": label, "dataset_path": str(dataset)})["dag_run_id"]
    run = rest.wait_run(DAG_ID, run_id, timeout=180)

    states = {ti["task_id"]: ti for ti in rest.task_instances(DAG_ID, run_id)}
    assert run["state"] == "failed"
    assert states["upload_dataset"]["state"] == "failed"
    assert states["upload_dataset"]["try_number"] == 1, "bad data must fail at once, not be retried"
    assert states["tune"]["state"] == "upstream_failed"

    log = rest.task_log(DAG_ID, run_id, "upload_dataset", 1)
    assert f"{dataset}:{BAD_LINE}" in log, f"the error must name file and line; log tail:\n{log[-2000:]}"
    assert "role" in log and "assistant" in log, "the error must say what is wrong with the line"

    assert e2e_stack.emulator.object_names("e2e-data", f"retraining/{label}") == [], "nothing may be written"
    assert jobs_of(e2e_stack, label) == []
    drill.note(error_line=next(line.strip() for line in log.splitlines() if f"{dataset}:{BAD_LINE}" in line)[:120])
