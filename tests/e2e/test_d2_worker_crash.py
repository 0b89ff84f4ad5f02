"""Drill 2: the worker is SIGKILLed right after the job was submitted -> the retry reattaches: exactly one job.

Two instants (see ``dags/e2e_worker_crash.py``): ``after_submit`` (the job exists but its name was saved
nowhere: only the job's retry-identity labels can find it) and ``after_save`` (the name is in
``task_state_store``: ``ResumableJobMixin`` reconnects). SIGKILL means no Python code of the task
(``on_kill``, ``finally``) runs.

- fast: the task process dies (an OOM kill); its supervisor reports the crash and Airflow retries.
- slow: the whole worker dies (supervisor and task); the scheduler notices the missing heartbeats
  (``task_instance_heartbeat_timeout``, 60 s in the harness) and retries.
"""

from __future__ import annotations

import signal
import time
from datetime import datetime

import pytest

from tests.e2e.harness.drills import create_requests, jobs_of, ready_dag, unique_label, upload_training_data, wait_until

DAG_ID = "e2e_worker_crash"


def _holding(stack, run_id: str, point: str) -> bool:
    logs = stack.task_logs(DAG_ID, run_id, "tune")
    return any(f"at {point}" in p.read_text(errors="replace") for p in logs if p.name.startswith("attempt=1"))


def _crash_and_recover(stack, drill, points: tuple[str, ...], kill: tuple[str, ...]) -> None:
    rest = stack.rest
    upload_training_data(stack)
    ready_dag(stack, DAG_ID)
    creates_before = create_requests(stack.emulator.stats())
    runs = {}
    for point in points:
        label = unique_label("d2")
        conf = {"label": label, "hold_point": point, "hold_seconds": 600, "duration_ms": 5000}
        runs[point] = (label, rest.trigger(DAG_ID, conf)["dag_run_id"])

    killed, killed_at = {}, {}
    for point, (label, run_id) in runs.items():
        [job] = wait_until(lambda label=label: jobs_of(stack, label), 180, f"the job of the {point} run")
        wait_until(lambda run_id=run_id, point=point: _holding(stack, run_id, point), 60, f"{point} hold")
        ti = rest.task_instance(DAG_ID, run_id, "tune")
        assert ti["state"] == "running" and ti["try_number"] == 1
        procs = stack.task_processes(ti["id"])
        assert set(kill) <= set(procs), f"expected {kill} processes for {ti['id']}, found {procs}"
        for role in kill:
            procs[role].send_signal(signal.SIGKILL)
        killed[point] = job["name"]
        killed_at[point] = time.time()

    for point, (label, run_id) in runs.items():
        run = rest.wait_run(DAG_ID, run_id, timeout=240)
        ti = rest.task_instance(DAG_ID, run_id, "tune")
        assert run["state"] == "success", f"{point}: run {run['state']}, task {ti['state']}"
        assert ti["try_number"] == 2, f"{point}: the crash must cost exactly one retry"
        jobs = jobs_of(stack, label)
        assert [j["name"] for j in jobs] == [killed[point]], f"{point}: exactly one job, got {jobs}"
        assert jobs[0]["state"] == "JOB_STATE_SUCCEEDED"
        retry_log = rest.task_log(DAG_ID, run_id, "tune", 2)
        assert killed[point] in retry_log, f"{point}: try 2 must name the job it reattached to"
        assert "Submitted tuning job" not in retry_log, f"{point}: try 2 submitted a new job"
        tries = rest.task_tries(DAG_ID, run_id, "tune")
        assert [t["state"] for t in tries] == ["failed", "success"], tries
        done_after = datetime.fromisoformat(run["end_date"]).timestamp() - killed_at[point]
        drill.note(**{f"{point}_done_after_kill_s": round(done_after, 1)})
    assert create_requests(stack.emulator.stats()) - creates_before == len(points), "one create per run"


@pytest.mark.drill(name="2a task process SIGKILL after submit -> reattach")
@pytest.mark.fast_drill
@pytest.mark.local_only  # finds LocalExecutor task processes; drill 11 is its Celery counterpart
def test_task_process_killed_after_submit_reattaches(e2e_stack, drill):
    _crash_and_recover(e2e_stack, drill, ("after_submit", "after_save"), kill=("task",))


@pytest.mark.drill(name="2b whole worker SIGKILL after submit -> reattach")
@pytest.mark.local_only
def test_whole_worker_killed_after_submit_reattaches(e2e_stack, drill):
    _crash_and_recover(e2e_stack, drill, ("after_submit",), kill=("task", "supervisor"))
