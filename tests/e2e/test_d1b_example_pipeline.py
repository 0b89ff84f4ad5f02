"""Drill 1b: the shipped example pipeline, ``gemini_scheduled_retraining``, on the real stack.

The DAG file in ``dags/`` (linked into the e2e DAGs folder) is parsed by the real dag-processor and its waits
run in the real triggerer. Its whole story plays out as in production:

1. unpausing it starts the latest weekly run: tune from the base model, evaluate, promote a champion;
2. a manual run with the same data finds it unchanged and skips everything after the upload (no new job);
3. new tickets land under ``incoming/``: the asset watcher starts a run that continues tuning from the
   champion and promotes the new version.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.harness.airflow_stack import EXAMPLE_BUCKET
from tests.e2e.harness.drills import ready_dag, wait_until

DAG_ID = "gemini_scheduled_retraining"
DATA = Path(__file__).resolve().parents[2] / "demo" / "data"


def _states(rest, run_id: str) -> dict[str, str]:
    return {ti["task_id"]: ti["state"] for ti in rest.task_instances(DAG_ID, run_id)}


def _new_run(rest, known: set[str], run_type: str, timeout: float = 120) -> dict:
    def found():
        return next((r for r in rest.runs(DAG_ID) if r["dag_run_id"] not in known
                     and r["run_type"] == run_type), None)

    return wait_until(found, timeout, f"a {run_type} run of {DAG_ID}")


@pytest.mark.drill(name="1b example retraining DAG: schedule, unchanged, new data")
def test_example_pipeline_lifecycle_on_the_real_stack(e2e_stack, drill):
    rest, emulator = e2e_stack.rest, e2e_stack.emulator
    emulator.upload_text(EXAMPLE_BUCKET, "history/history.jsonl", (DATA / "history.jsonl").read_text())
    created = emulator.stats()["jobs_created"]

    # 1. The weekly schedule's latest run starts on unpause: bootstrap, evaluate, promote.
    ready_dag(e2e_stack, DAG_ID)
    scheduled = _new_run(rest, set(), "scheduled")
    run = rest.wait_run(DAG_ID, scheduled["dag_run_id"], timeout=300)
    states = _states(rest, scheduled["dag_run_id"])
    assert run["state"] == "success", states
    assert states["promote"] == "success", states
    # Facts, not a sampled task state: the sensor defers only if the job still runs when it first looks
    # (its try log says "Pausing task as DEFERRED"); then a triggerer ran the wait and saw the job succeed.
    sensor_log = rest.task_log(DAG_ID, scheduled["dag_run_id"], "wait_for_tuning", 1)
    waited = e2e_stack.trigger_logs(DAG_ID, scheduled["dag_run_id"], "wait_for_tuning")
    if "Pausing task as DEFERRED" in sensor_log:
        assert waited, "wait_for_tuning deferred but no triggerer wrote a log for its wait"
        assert "SUCCEEDED" in "".join(p.read_text(errors="replace") for p in waited)
    else:
        assert not waited, "a sensor that never deferred cannot have a trigger log"
    assert emulator.stats()["jobs_created"] - created == 1
    champion = rest.xcom(DAG_ID, scheduled["dag_run_id"], "wait_for_tuning")["tuned_model"]

    # 2. Same data again: the content hash is unchanged, nothing after the upload runs, no job is created.
    manual = rest.trigger(DAG_ID, {})["dag_run_id"]
    run = rest.wait_run(DAG_ID, manual, timeout=180)
    states = _states(rest, manual)
    assert run["state"] == "success" and states["tune"] == "skipped", states
    assert emulator.stats()["jobs_created"] - created == 1

    # 3. New tickets land: the watcher starts one run, which continues from the champion and promotes.
    known = {r["dag_run_id"] for r in rest.runs(DAG_ID)}
    emulator.upload_text(EXAMPLE_BUCKET, "incoming/new_tickets.csv", (DATA / "new_tickets.csv").read_text())
    triggered = _new_run(rest, known, "asset_triggered", timeout=120)
    run = rest.wait_run(DAG_ID, triggered["dag_run_id"], timeout=300)
    states = _states(rest, triggered["dag_run_id"])
    assert run["state"] == "success" and states["promote"] == "success", states
    job = rest.xcom(DAG_ID, triggered["dag_run_id"], "wait_for_tuning")
    assert job["continued_from"] == champion  # the version that held the champion alias
    assert job["tuned_model"].split("@")[0] == champion.split("@")[0] and job["tuned_model"] != champion
    assert emulator.stats()["jobs_created"] - created == 2
    drill.note(runs=len(rest.runs(DAG_ID)), sensor_deferred=bool(waited))
