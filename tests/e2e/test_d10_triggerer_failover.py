"""Drill 10: two triggerers share 20 deferred waits; one is SIGKILLed -> the other adopts its triggers.

Airflow reassigns the triggers of a triggerer whose heartbeat is older than
``triggerer_health_check_threshold`` (10 s in the harness) to a live triggerer. Facts checked: who owned each
trigger when the kill happened (the ``trigger`` table), which triggerers ran each wait (one trigger log per
triggerer job), the task's tries, and the emulator's job records: 20 runs succeed on 20 jobs, none cancelled,
none duplicated. Reported: how long after the kill the last orphaned trigger was owned by the survivor.
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
from tests.e2e.harness.facts import trigger_owners, triggerer_jobs, triggerers_that_ran

DAG_ID = "e2e_tune"
RUNS = 20
JOB_MS = 75_000


@pytest.mark.drill(name="10 triggerer failover: SIGKILL one of two")
@pytest.mark.fast_drill
@pytest.mark.distributed
@pytest.mark.timeout(900)
def test_surviving_triggerer_adopts_the_killed_ones_triggers(e2e_stack, drill):
    rest, emulator = e2e_stack.rest, e2e_stack.emulator
    label, before, run_ids = launch_runs(e2e_stack, DAG_ID, "d10", RUNS, JOB_MS)

    def all_running() -> dict[str, int] | None:
        """Every wait owned by a triggerer (trigger table) that has started it (its trigger log exists)."""
        owners = trigger_owners(e2e_stack, DAG_ID, "tune", run_ids)
        if len(owners) < RUNS or not all(owners.values()):
            return None
        started = all(owners[r] in triggerers_that_ran(e2e_stack, DAG_ID, r, "tune") for r in run_ids)
        return owners if started else None

    owners = wait_until(all_running, 300, f"all {RUNS} waits running in a triggerer", interval=1)
    names = triggerer_jobs(e2e_stack)
    by_triggerer: dict[int, list[str]] = {}
    for run_id, job_id in owners.items():
        by_triggerer.setdefault(job_id, []).append(run_id)
    assert by_triggerer, f"no wait is owned by a triggerer: {owners}"
    # The spread is Airflow's choice; the drill kills whichever triggerer owns more waits (all of them, when
    # one triggerer took every wait), and the other must adopt them.
    victim_job = max(by_triggerer, key=lambda j: len(by_triggerer[j]))
    survivor_job = max(j for j in names if names[j] != names[victim_job])  # the other triggerer's newest job
    victim, survivor = names[victim_job], names[survivor_job]
    orphaned = by_triggerer[victim_job]

    e2e_stack.kill_component(victim)
    killed_at = time.monotonic()

    def adopted() -> bool:
        now = trigger_owners(e2e_stack, DAG_ID, "tune", orphaned)
        return all(now.get(run_id) == survivor_job for run_id in now) and len(now) > 0

    wait_until(adopted, 120, f"{survivor} to adopt the {len(orphaned)} triggers of {victim}", interval=0.5)
    adoption_s = time.monotonic() - killed_at

    finished = {run_id: rest.wait_run(DAG_ID, run_id, timeout=JOB_MS / 1000 + 300) for run_id in run_ids}
    after = emulator.stats()
    drill.note(
        killed=f"{victim} ({len(orphaned)} triggers)",
        survivor=f"{survivor} ({len(by_triggerer.get(survivor_job, []))} triggers before the kill)",
        adoption_s=round(adoption_s, 1),
    )
    e2e_stack.restore()

    failed = {r: run["state"] for r, run in finished.items() if run["state"] != "success"}
    assert not failed, f"every run must succeed: {failed}"
    for run_id in run_ids:
        ti = rest.task_instance(DAG_ID, run_id, "tune")
        assert ti["try_number"] == 1, f"{run_id}: the wait moved triggerer; the task must not be retried"
        ran = triggerers_that_ran(e2e_stack, DAG_ID, run_id, "tune")
        if run_id in orphaned:
            assert {victim_job, survivor_job} <= ran, f"{run_id}: the wait must have resumed in {survivor}: {ran}"
    jobs = jobs_of(e2e_stack, label)
    assert len(jobs) == RUNS and len({j["name"] for j in jobs}) == RUNS, "one job per run, no duplicates"
    assert all(j["state"] == "JOB_STATE_SUCCEEDED" for j in jobs), {j["name"]: j["state"] for j in jobs}
    assert create_requests(after) - create_requests(before) == RUNS
    assert cancel_requests(after) == cancel_requests(before), "a triggerer crash must never cancel a job"
