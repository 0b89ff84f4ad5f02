"""Drill 13: PostgreSQL restarts (``pg_ctl restart -m fast``) while runs are deferred and a task is running.

Every connection of every component is cut at once. Components that exit on it are started again, as a
supervisor (systemd, Kubernetes) would; the drill notes which ones had to be. Then every run must succeed,
on its first try or after a retry that reattached to its job. Facts: the runs' end states and tries, and the
emulator's job records: one job per run, no job still running that no run owns (every job either belongs to
a successful run or was cancelled).
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.harness.drills import create_requests, jobs_of, ready_dag, unique_label, upload_training_data, wait_until
from tests.e2e.harness.facts import trigger_owners

TUNE_DAG = "e2e_tune"
HOLD_DAG = "e2e_worker_crash"
DEFERRED_RUNS = 3
JOB_MS = 45_000


def _holding(stack, run_id: str) -> bool:
    logs = stack.task_logs(HOLD_DAG, run_id, "tune")
    return any("at after_save" in p.read_text(errors="replace") for p in logs if p.name.startswith("attempt=1"))


@pytest.mark.drill(name="13 PostgreSQL restart while deferred and running")
@pytest.mark.distributed
@pytest.mark.timeout(1200)
def test_postgres_restart_leaves_no_duplicate_and_no_orphan(e2e_stack, drill):
    rest, emulator = e2e_stack.rest, e2e_stack.emulator
    upload_training_data(e2e_stack)
    ready_dag(e2e_stack, TUNE_DAG)
    ready_dag(e2e_stack, HOLD_DAG)
    label = unique_label("d13")
    before = emulator.stats()
    deferred = [
        rest.trigger(TUNE_DAG, {"label": label, "duration_ms": JOB_MS})["dag_run_id"] for _ in range(DEFERRED_RUNS)
    ]
    conf = {"label": label, "hold_point": "after_save", "hold_seconds": 20, "duration_ms": 10_000}
    running = rest.trigger(HOLD_DAG, conf)["dag_run_id"]

    def ready() -> bool:
        owners = trigger_owners(e2e_stack, TUNE_DAG, "tune", deferred)
        return len(owners) == DEFERRED_RUNS and all(owners.values()) and _holding(e2e_stack, running)

    wait_until(ready, 300, "the waits deferred in a triggerer and the held task running", interval=1)
    e2e_stack.postgres.restart()
    restarted = _supervise(e2e_stack, seconds=60)
    drill.note(components_restarted=",".join(restarted) or "none")

    runs = {(TUNE_DAG, r): rest.wait_run(TUNE_DAG, r, timeout=600) for r in deferred}
    runs[(HOLD_DAG, running)] = rest.wait_run(HOLD_DAG, running, timeout=600)
    after = emulator.stats()
    jobs = jobs_of(e2e_stack, label)
    e2e_stack.restore()

    states = {run_id: run["state"] for (_, run_id), run in runs.items()}
    drill.note(succeeded=sum(s == "success" for s in states.values()), runs=len(states))
    assert len(jobs) == len(runs) and len({j["name"] for j in jobs}) == len(runs), "one job per run, no duplicate"
    assert create_requests(after) - create_requests(before) == len(runs)
    ended = {j["name"]: j["state"] for j in jobs}
    assert all(s in ("JOB_STATE_SUCCEEDED", "JOB_STATE_CANCELLED") for s in ended.values()), f"orphan: {ended}"
    assert sum(s == "JOB_STATE_SUCCEEDED" for s in ended.values()) == sum(s == "success" for s in states.values())
    retried = 0
    for (dag_id, run_id), run in runs.items():
        tries = rest.task_tries(dag_id, run_id, "tune")
        assert run["state"] == "success", f"{dag_id}/{run_id} ended {run['state']}: tries {tries}"
        retried += len(tries) > 1
    drill.note(retried=retried)


def _supervise(stack, seconds: float) -> list[str]:
    """For ``seconds``, start again any component that exited (as a process supervisor would)."""
    restarted: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for name, proc in stack.components.items():
            if not proc.alive:
                proc.start()
                restarted.append(name)
        time.sleep(1)
    stack.wait_healthy(timeout=180)
    return restarted
