"""Drill 1: the retraining DAG succeeds with the wait handled by the real triggerer process.

Proof that the wait ran in the triggerer and not inline (facts, never a sample of a changing state): the
trigger log a triggerer wrote for the task shows the job RUNNING and then SUCCEEDED, the task needed one
try, and its try's log ends in a deferral. The "Vertex AI Tuning Job" link already answers while the task is
deferred.
"""

from __future__ import annotations

import pytest

from tests.e2e.harness.drills import jobs_of, ready_dag, unique_label, wait_deferred_in_triggerer

DAG_ID = "e2e_retraining"
JOB_MS = 8000


@pytest.mark.drill(name="1 retraining DAG, wait in the triggerer")
@pytest.mark.fast_drill
def test_retraining_waits_in_the_real_triggerer(e2e_stack, drill):
    rest = e2e_stack.rest
    ready_dag(e2e_stack, DAG_ID)
    label = unique_label("d1")
    run_id = rest.trigger(DAG_ID, {"label": label, "duration_ms": JOB_MS})["dag_run_id"]

    deferred = wait_deferred_in_triggerer(e2e_stack, DAG_ID, run_id, "tune", timeout=180)
    [job] = jobs_of(e2e_stack, label)
    links = rest.links(DAG_ID, run_id, "tune")
    job_id = job["name"].rsplit("/", 1)[-1]

    run = rest.wait_run(DAG_ID, run_id, timeout=JOB_MS / 1000 + 180)

    states = {ti["task_id"]: ti for ti in rest.task_instances(DAG_ID, run_id)}
    assert run["state"] == "success", {t: ti["state"] for t, ti in states.items()}
    assert states["tune"]["try_number"] == 1
    assert deferred["triggerer_job"]["job_type"] == "TriggererJob"

    [final] = jobs_of(e2e_stack, label)
    assert final["name"] == job["name"] and final["state"] == "JOB_STATE_SUCCEEDED", "exactly one job, succeeded"
    trigger_logs = e2e_stack.trigger_logs(DAG_ID, run_id, "tune")
    assert trigger_logs, "the triggerer wrote no log for the wait"
    trigger_text = "\n".join(p.read_text(errors="replace") for p in trigger_logs)
    assert job["name"] in trigger_text and "SUCCEEDED" in trigger_text
    assert f"{job['name']} is RUNNING" in trigger_text or "-> RUNNING" in trigger_text, "the triggerer saw it run"

    link = links.get("Vertex AI Tuning Job")
    assert link and job_id in link, f"the console link must be there while deferred, got {links}"
    drill.note(trigger_logs=len(trigger_logs))
