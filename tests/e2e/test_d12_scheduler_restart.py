"""Drill 12: the scheduler is SIGKILLed and started again while runs are deferred -> all complete, no duplicates.

The waits live in the triggerers and the jobs in the emulator; the new scheduler adopts the deferred tasks and
the Celery tasks it finds. Facts: every run succeeds with its task on try 1, one job per run, no cancel.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.harness.drills import (
    cancel_requests,
    create_requests,
    jobs_of,
    launch_runs,
    wait_until,
)
from tests.e2e.harness.facts import trigger_owners

DAG_ID = "e2e_tune"
RUNS = 5
JOB_MS = 45_000


@pytest.mark.drill(name="12 scheduler restart while deferred")
@pytest.mark.distributed
@pytest.mark.timeout(900)
def test_scheduler_restart_while_deferred_completes_every_run_once(e2e_stack, drill):
    rest, emulator = e2e_stack.rest, e2e_stack.emulator
    label, before, run_ids = launch_runs(e2e_stack, DAG_ID, "d12", RUNS, JOB_MS)

    def all_owned() -> bool:
        owners = trigger_owners(e2e_stack, DAG_ID, "tune", run_ids)
        return len(owners) == RUNS and all(owners.values())

    wait_until(all_owned, 300, f"all {RUNS} waits deferred in a triggerer", interval=1)
    e2e_stack.kill_component("scheduler")
    down_at = time.monotonic()
    time.sleep(5)  # a crash, then a supervisor (systemd, Kubernetes) starting it again
    e2e_stack.restart_component("scheduler")
    e2e_stack.wait_healthy(timeout=180)
    drill.note(scheduler_back_after_s=round(time.monotonic() - down_at, 1))

    finished = {r: rest.wait_run(DAG_ID, r, timeout=JOB_MS / 1000 + 300) for r in run_ids}
    after = emulator.stats()
    assert all(run["state"] == "success" for run in finished.values()), finished
    for run_id in run_ids:
        assert rest.task_instance(DAG_ID, run_id, "tune")["try_number"] == 1, f"{run_id} was retried"
    jobs = jobs_of(e2e_stack, label)
    assert len(jobs) == RUNS and len({j["name"] for j in jobs}) == RUNS, "one job per run, no duplicates"
    assert all(j["state"] == "JOB_STATE_SUCCEEDED" for j in jobs)
    assert create_requests(after) - create_requests(before) == RUNS
    assert cancel_requests(after) == cancel_requests(before)
