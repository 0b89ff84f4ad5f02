"""Drill 14: the Vertex AI API answers 503 to every call, for far longer than the transient-error budget,
while 20 runs are deferred over two triggerers -> when it comes back, every run succeeds on its one job.

What the product does by design: a transient error (5xx, 429, network) never ends a wait. Past
``max_transient_errors`` failed polls in a row the API counts as unavailable and the trigger keeps polling at
the capped interval (``max_poll_interval``) until the API answers or the task's deadline passes; only a
give-up (the deadline) cancels the job, retrying the cancel until it gets through. So an outage shorter than
the deadline costs nothing: no task fails, no job is cancelled, none is created twice.

The outage lasts until more calls have failed than the old give-up rule allowed for every wait twice over
((``max_transient_errors`` + 1) polls of ``retry_attempts`` calls each), and until every job has ended in the
emulator meanwhile: the waits must notice the ends once the API answers again. Facts: the fault plan's
injected count, each wait's trigger log (its one WARNING that it treats the API as unavailable: the budget
was exceeded for every wait), the task tries, the emulator's create and cancel requests and job records.
"""

from __future__ import annotations

import pytest

from tests.e2e.harness.drills import (
    cancel_requests,
    create_requests,
    jobs_of,
    launch_runs,
    wait_until,
)
from tests.e2e.harness.emulator_process import RETRY_EXTRAS
from tests.e2e.harness.facts import trigger_owners

DAG_ID = "e2e_outage_fleet"
RUNS = 20
JOB_MS = 150_000  # longer than 20 task starts on 4 worker slots: the outage begins with every wait on
MAX_TRANSIENT_ERRORS = 1  # as the DAG sets it
UNAVAILABLE = "treating it as unavailable"  # the trigger's one WARNING once the budget is exceeded
BUDGET_CALLS = RUNS * (MAX_TRANSIENT_ERRORS + 1) * RETRY_EXTRAS["retry_attempts"]


@pytest.mark.drill(name="14 API 503 storm while 20 runs deferred")
@pytest.mark.distributed
@pytest.mark.timeout(1500)
def test_api_outage_longer_than_the_budget_orphans_nothing_and_pays_nothing_twice(e2e_stack, drill):
    rest, emulator = e2e_stack.rest, e2e_stack.emulator
    label, before, run_ids = launch_runs(e2e_stack, DAG_ID, "d14", RUNS, JOB_MS)

    def all_owned() -> dict | None:
        owners = trigger_owners(e2e_stack, DAG_ID, "tune", run_ids)
        if len(owners) == RUNS and all(owners.values()):
            return owners
        ended = [r for r in run_ids if rest.run(DAG_ID, r)["state"] in ("success", "failed")]
        assert not ended, f"{len(ended)} runs ended before all {RUNS} were deferred: raise JOB_MS"
        return None

    owners = wait_until(all_owned, 420, f"all {RUNS} waits deferred in a triggerer", interval=1)
    emulator.set_faults([{"route": ".*", "status": 503}], seed=14)  # every Vertex AI call fails
    try:
        wait_until(
            lambda: emulator.faults()["faults"][0]["injected"] > 2 * BUDGET_CALLS,
            600,
            f"more than {2 * BUDGET_CALLS} failed calls",
            interval=2,
        )
        wait_until(
            lambda: all(j["state"] == "JOB_STATE_SUCCEEDED" for j in jobs_of(e2e_stack, label)),
            300,
            "every job to end during the outage",
            interval=2,
        )
        still_deferred = trigger_owners(e2e_stack, DAG_ID, "tune", run_ids)
        injected = emulator.faults()["faults"][0]["injected"]
    finally:
        emulator.clear_faults()

    finished = {r: rest.wait_run(DAG_ID, r, timeout=600) for r in run_ids}
    after = emulator.stats()
    drill.note(
        failed_calls=injected, budget_calls=BUDGET_CALLS, triggerers=len(set(owners.values())),
        deferred_at_outage_end=len(still_deferred),
    )
    assert len(still_deferred) == RUNS, "every wait must outlast the outage (its trigger still there)"
    past_budget = [r for r in run_ids if UNAVAILABLE in _trigger_text(e2e_stack, r)]
    assert len(past_budget) == RUNS, f"only {len(past_budget)} waits logged the API as unavailable"
    failed = {r: run["state"] for r, run in finished.items() if run["state"] != "success"}
    assert not failed, f"every run must succeed once the API is back: {failed}"
    for run_id in run_ids:
        assert rest.task_instance(DAG_ID, run_id, "tune")["try_number"] == 1, f"{run_id}: the outage cost a try"
    jobs = jobs_of(e2e_stack, label)
    assert len(jobs) == RUNS and len({j["name"] for j in jobs}) == RUNS, "one job per run: nothing paid twice"
    assert all(j["state"] == "JOB_STATE_SUCCEEDED" for j in jobs), "no orphan: every job belongs to a successful run"
    assert create_requests(after) - create_requests(before) == RUNS
    assert cancel_requests(after) == cancel_requests(before), "an outage shorter than the deadline cancels nothing"


def _trigger_text(stack, run_id: str) -> str:
    return "".join(p.read_text(errors="replace") for p in stack.trigger_logs(DAG_ID, run_id, "tune"))
