"""Drill 5: 20 % of all Vertex AI calls answer 429 or 503 -> every run still succeeds, with no duplicate job.

The fault plan covers every route of the emulated Vertex AI API (create, list, get, cancel), so the operator's
reattach lookup, the submission and the triggerer's polls are all hit; on top of the random 20 %, the first
submission and the first listing are failed for certain, so the retry-after-error path of both always runs.
The emulated Cloud Storage is a separate server without fault injection: the upload's GCS calls are not
faulted.
"""

from __future__ import annotations

import pytest

from tests.e2e.harness.drills import jobs_of, ready_dag, unique_label

DAG_ID = "e2e_retraining"
RUNS = 4
# Two independent faults on every route: 10 % answer 429, and 1/9 of the rest answer 503 -> 20 % in all.
FAULTS = [
    {"route": r"^POST /v1[a-z0-9]*/projects/[^/]+/locations/[^/]+/tuningJobs$", "count": 1, "status": 503},
    {"route": r"^GET /v1[a-z0-9]*/projects/[^/]+/locations/[^/]+/tuningJobs$", "count": 1, "status": 429},
    {"route": ".*", "rate": 0.10, "status": 429},
    {"route": ".*", "rate": 1 / 9, "status": 503},
]


@pytest.mark.drill(name="5 20% of API calls 429/503")
def test_runs_succeed_through_transient_api_errors(e2e_stack, drill):
    rest, emulator = e2e_stack.rest, e2e_stack.emulator
    ready_dag(e2e_stack, DAG_ID)
    before = emulator.stats()
    emulator.set_faults(FAULTS, seed=5)

    labels = {unique_label("d5"): None for _ in range(RUNS)}
    for label in labels:
        labels[label] = rest.trigger(DAG_ID, {"label": label, "duration_ms": 10_000})["dag_run_id"]
    finished = {label: rest.wait_run(DAG_ID, run_id, timeout=300) for label, run_id in labels.items()}
    after = emulator.stats()
    plan = emulator.faults()["faults"]
    emulator.clear_faults()

    requests = sum(after["requests"].values()) - sum(before["requests"].values())
    injected = after["faults_injected"] - before["faults_injected"]
    drill.note(api_calls=requests, faults_injected=injected, fault_rate=f"{injected / max(requests, 1):.0%}")
    for label, run in finished.items():
        states = {ti["task_id"]: ti["state"] for ti in rest.task_instances(DAG_ID, labels[label])}
        assert run["state"] == "success", f"{label}: {states}"
        jobs = jobs_of(e2e_stack, label)
        assert len(jobs) == 1, f"{label}: expected exactly one job, got {[j['name'] for j in jobs]}"
        assert jobs[0]["state"] == "JOB_STATE_SUCCEEDED"
    assert injected >= 5, f"the drill must actually inject faults (only {injected} of {requests} calls were hit)"
    assert plan[0]["injected"] == 1 and plan[1]["injected"] == 1, f"create and list must each fail once: {plan}"
    assert after["jobs_created"] - before["jobs_created"] == RUNS
