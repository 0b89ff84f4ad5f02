"""Drill 11: a Celery worker is SIGKILLed right after it submitted the job -> the retry runs on the other
worker and reattaches: exactly one job.

The task holds on try 1 right after the submission (``dags/e2e_worker_crash.py``, ``after_submit``: the job
exists but its name is saved nowhere), and the whole worker that runs it (the Celery worker, its pool, the
task supervisor and process) is killed at once. The scheduler notices the missing heartbeats and retries;
the killed worker stays down until the run ends, so only the other one can take the retry. Facts checked:
each try's ``hostname`` in the task-instance history (each component reports its own name), the retry's
log naming the job it found, and the emulator's create requests and job records.
"""

from __future__ import annotations

import pytest

from tests.e2e.harness.distributed_stack import WORKERS
from tests.e2e.harness.drills import create_requests, jobs_of, ready_dag, unique_label, upload_training_data, wait_until

DAG_ID = "e2e_worker_crash"


def _holding(stack, run_id: str) -> bool:
    logs = stack.task_logs(DAG_ID, run_id, "tune")
    return any("at after_submit" in p.read_text(errors="replace") for p in logs if p.name.startswith("attempt=1"))


@pytest.mark.drill(name="11 Celery worker SIGKILL after submit -> other worker reattaches")
@pytest.mark.distributed
@pytest.mark.timeout(900)
def test_killed_celery_worker_retry_reattaches_on_the_other_worker(e2e_stack, drill):
    rest, emulator = e2e_stack.rest, e2e_stack.emulator
    upload_training_data(e2e_stack)
    ready_dag(e2e_stack, DAG_ID)
    label = unique_label("d11")
    creates_before = create_requests(emulator.stats())
    conf = {"label": label, "hold_point": "after_submit", "hold_seconds": 600, "duration_ms": 5000}
    run_id = rest.trigger(DAG_ID, conf)["dag_run_id"]

    [job] = wait_until(lambda: jobs_of(e2e_stack, label), 240, "the submitted job")
    wait_until(lambda: _holding(e2e_stack, run_id), 120, "the task holding right after the submission")
    ti = rest.task_instance(DAG_ID, run_id, "tune")
    assert ti["state"] == "running" and ti["try_number"] == 1
    victim = ti["hostname"]
    assert victim in WORKERS, f"the try must report the worker that runs it, got {victim!r}"
    e2e_stack.kill_component(victim)

    run = rest.wait_run(DAG_ID, run_id, timeout=420)
    killed_stayed_down = not e2e_stack.components[victim].alive
    e2e_stack.restore()

    tries = rest.task_tries(DAG_ID, run_id, "tune")
    assert run["state"] == "success", tries
    assert killed_stayed_down
    assert [t["state"] for t in tries] == ["failed", "success"], tries
    assert tries[0]["hostname"] == victim
    survivor = tries[1]["hostname"]
    assert survivor in WORKERS and survivor != victim, f"the retry must run on the other worker, ran on {survivor}"
    jobs = jobs_of(e2e_stack, label)
    assert [j["name"] for j in jobs] == [job["name"]], f"exactly one job, got {jobs}"
    assert jobs[0]["state"] == "JOB_STATE_SUCCEEDED"
    retry_log = rest.task_log(DAG_ID, run_id, "tune", 2)
    assert job["name"] in retry_log, "try 2 must name the job it reattached to"
    assert "Submitted tuning job" not in retry_log, "try 2 submitted a new job"
    assert create_requests(emulator.stats()) - creates_before == 1, "one create in all"
    drill.note(killed=victim, retry_on=survivor)
