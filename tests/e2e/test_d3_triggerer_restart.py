"""Drill 3: the triggerer restarts while a tuning task is deferred -> the run completes on the same job.

Two restarts hit the same deferred task: a graceful one (SIGTERM, as a redeploy does: the trigger's
``cleanup()`` runs, and must not cancel the job) and a crash (SIGKILL of the triggerer and its trigger
runner: nothing runs, another triggerer must adopt the trigger once the dead one's heartbeat is stale).
"""

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
JOB_MS = 60_000


def _restart_triggerer(stack, how: str) -> None:
    if how == "crash":
        stack.kill_component("triggerer")
    else:
        stack.components["triggerer"].stop(grace=30)
    stack.restart_component("triggerer")
    stack.wait_healthy(timeout=90)


@pytest.mark.drill(name="3 triggerer restart while deferred")
@pytest.mark.local_only  # one triggerer restarting; drill 10 is the two-triggerer failover
def test_triggerer_restarts_do_not_lose_or_cancel_the_job(e2e_stack, drill):
    rest = e2e_stack.rest
    upload_training_data(e2e_stack)
    ready_dag(e2e_stack, DAG_ID)
    label = unique_label("d3")
    cancels_before = cancel_requests(e2e_stack.emulator.stats())
    run_id = rest.trigger(DAG_ID, {"label": label, "duration_ms": JOB_MS})["dag_run_id"]

    wait_deferred_in_triggerer(e2e_stack, DAG_ID, run_id, "tune")
    [job] = jobs_of(e2e_stack, label)
    first = wait_until(lambda: _adopted_by_new_triggerer(e2e_stack, run_id, job["name"], set()), 60, "the wait")
    triggerer_jobs = {first["triggerer_job"]["id"]}

    for how in ("graceful", "crash"):
        _restart_triggerer(e2e_stack, how)
        assert job_state(e2e_stack, job["name"]) in ("JOB_STATE_PENDING", "JOB_STATE_RUNNING"), (
            f"the job must keep running through a {how} triggerer restart"
        )
        adopted = wait_until(
            lambda: _adopted_by_new_triggerer(e2e_stack, run_id, job["name"], triggerer_jobs),
            90,
            f"the trigger running in a new triggerer after the {how} restart",
        )
        triggerer_jobs.add(adopted["triggerer_job"]["id"])
        drill.note(**{f"{how}_restart_at_s": round(time.time() - _created(job), 1)})

    run = rest.wait_run(DAG_ID, run_id, timeout=JOB_MS / 1000 + 120)
    assert run["state"] == "success", rest.task_instances(DAG_ID, run_id)
    assert [j["name"] for j in jobs_of(e2e_stack, label)] == [job["name"]], "exactly one job"
    assert job_state(e2e_stack, job["name"]) == "JOB_STATE_SUCCEEDED"
    assert cancel_requests(e2e_stack.emulator.stats()) == cancels_before, "a restart must never cancel"
    ti = rest.task_instance(DAG_ID, run_id, "tune")
    assert ti["try_number"] == 1, "the wait resumed in the triggerer; the task was not retried"
    logs = e2e_stack.trigger_logs(DAG_ID, run_id, "tune")
    assert len(logs) >= 3, f"one trigger log per triggerer that ran the wait, got {logs}"
    drill.note(triggerers_that_ran_the_wait=len(triggerer_jobs))


def _adopted_by_new_triggerer(stack, run_id: str, job_name: str, known: set[int]) -> dict | None:
    """The task is assigned to a triggerer not seen before, whose trigger log shows it waiting on the job."""
    ti = stack.rest.task_instance(DAG_ID, run_id, "tune")
    if ti["state"] != "deferred":
        raise AssertionError(f"task left deferred state ({ti['state']}) before a new triggerer adopted it")
    job = ti.get("triggerer_job")
    if not job or job["id"] in known:
        return None
    logs = [p for p in stack.trigger_logs(DAG_ID, run_id, "tune") if p.name.endswith(f".trigger.{job['id']}.log")]
    return ti if logs and job_name in logs[0].read_text(errors="replace") else None


def _created(job: dict) -> float:
    from datetime import datetime

    return datetime.fromisoformat(job["createTime"].replace("Z", "+00:00")).timestamp()
