"""Drill 5b: the tuning API is down (every call answers 503) during a deferred wait, for longer than the
transient-error count, then comes back -> the task succeeds on its one job; nothing is cancelled or duplicated.

The outage lasts until the triggerer has logged that it treats the API as unavailable, more polls have failed
in a row than ``max_transient_errors`` allows (each poll already retried by the client's own retry policy),
and the job has ended in the emulator meanwhile: the wait must notice the end once the API answers again.
"""

from __future__ import annotations

import pytest

from tests.e2e.harness.drills import (
    cancel_requests,
    create_requests,
    job_state,
    jobs_of,
    ready_dag,
    unique_label,
    upload_training_data,
    wait_deferred_in_triggerer,
    wait_until,
)
from tests.e2e.harness.emulator_process import RETRY_EXTRAS

DAG_ID = "e2e_outage"
MAX_TRANSIENT_ERRORS = 1  # as the DAG sets it
# The old rule ended the wait after MAX_TRANSIENT_ERRORS + 1 failed polls, each of RETRY_EXTRAS attempts.
OLD_BUDGET_CALLS = (MAX_TRANSIENT_ERRORS + 1) * RETRY_EXTRAS["retry_attempts"]
UNAVAILABLE = "treating it as unavailable"


@pytest.mark.drill(name="5b API down during a deferred wait")
def test_api_outage_during_deferred_wait_leaves_no_orphan_and_no_duplicate(e2e_stack, drill):
    rest, emulator = e2e_stack.rest, e2e_stack.emulator
    upload_training_data(e2e_stack)
    ready_dag(e2e_stack, DAG_ID)
    label = unique_label("d5b")
    before = emulator.stats()
    run_id = rest.trigger(DAG_ID, {"label": label, "duration_ms": 20_000})["dag_run_id"]
    wait_deferred_in_triggerer(e2e_stack, DAG_ID, run_id, "tune")
    [job] = jobs_of(e2e_stack, label)

    emulator.set_faults([{"route": ".*", "status": 503}], seed=10)  # every API call fails
    try:
        def trigger_log() -> str:
            return "".join(p.read_text(errors="replace") for p in e2e_stack.trigger_logs(DAG_ID, run_id, "tune"))

        wait_until(lambda: UNAVAILABLE in trigger_log(), 180, "the trigger to report the API unavailable")
        wait_until(
            lambda: emulator.faults()["faults"][0]["injected"] > 2 * OLD_BUDGET_CALLS,
            240,
            f"more than {2 * OLD_BUDGET_CALLS} failed calls",
        )
        wait_until(lambda: job_state(e2e_stack, job["name"]) == "JOB_STATE_SUCCEEDED", 120, "the job to end")
        ti = rest.task_instance(DAG_ID, run_id, "tune")
        assert ti["state"] == "deferred", f"the wait must outlast the outage, task is {ti['state']}"
        injected = emulator.faults()["faults"][0]["injected"]
    finally:
        emulator.clear_faults()

    run = rest.wait_run(DAG_ID, run_id, timeout=180)
    after = emulator.stats()
    drill.note(failed_calls_during_outage=injected, old_budget_calls=OLD_BUDGET_CALLS)
    assert run["state"] == "success", rest.task_instances(DAG_ID, run_id)
    ti = rest.task_instance(DAG_ID, run_id, "tune")
    assert ti["try_number"] == 1, "the outage must not fail the try"
    assert [j["name"] for j in jobs_of(e2e_stack, label)] == [job["name"]], "exactly one job"
    assert job_state(e2e_stack, job["name"]) == "JOB_STATE_SUCCEEDED"
    assert create_requests(after) - create_requests(before) == 1
    assert cancel_requests(after) == cancel_requests(before), "nothing was cancelled"
