"""Drill 4: a user marks the deferred tuning task failed over the REST API -> the job is CANCELLED within 30 s."""

from __future__ import annotations

import time

import pytest

from tests.e2e.harness.drills import (
    cancel_requests,
    job_state,
    jobs_of,
    ready_dag,
    unique_label,
    upload_training_data,
    wait_deferred_in_triggerer,
    wait_until,
)

DAG_ID = "e2e_tune"
CANCEL_BUDGET_S = 30.0


@pytest.mark.drill(name="4 mark deferred task failed -> job cancelled")
@pytest.mark.fast_drill
def test_marking_the_deferred_task_failed_cancels_the_job(e2e_stack, drill):
    rest = e2e_stack.rest
    upload_training_data(e2e_stack)
    ready_dag(e2e_stack, DAG_ID)
    label = unique_label("d4")
    run_id = rest.trigger(DAG_ID, {"label": label, "duration_ms": 600_000})["dag_run_id"]

    wait_deferred_in_triggerer(e2e_stack, DAG_ID, run_id, "tune")
    [job] = jobs_of(e2e_stack, label)
    assert job["state"] in ("JOB_STATE_PENDING", "JOB_STATE_RUNNING")
    cancels_before = cancel_requests(e2e_stack.emulator.stats())

    marked_at = time.monotonic()
    rest.set_task_state(DAG_ID, run_id, "tune", "failed")
    wait_until(
        lambda: job_state(e2e_stack, job["name"]) == "JOB_STATE_CANCELLED",
        CANCEL_BUDGET_S,
        f"{job['name']} to be CANCELLED after the task was marked failed",
    )
    cancel_seconds = time.monotonic() - marked_at
    drill.note(cancelled_after_s=round(cancel_seconds, 1))

    ti = rest.task_instance(DAG_ID, run_id, "tune")
    assert ti["state"] == "failed"
    assert ti["try_number"] == 1, "a user's 'mark failed' must not be retried"
    assert rest.wait_run(DAG_ID, run_id, timeout=60)["state"] == "failed"
    assert [j["name"] for j in jobs_of(e2e_stack, label)] == [job["name"]]
    assert cancel_requests(e2e_stack.emulator.stats()) - cancels_before >= 1
