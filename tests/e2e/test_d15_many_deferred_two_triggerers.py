"""Drill 15: 200 runs deferred at once over two triggerers -> all complete; each triggerer's memory and the
status requests per job-hour are reported.

Memory is each triggerer's resident set with its trigger-runner subprocess, at the moment all 200 waits are
owned and at its peak. Status requests per job-hour: the emulator's ``GET .../tuningJobs/{id}`` count over
the sum of the jobs' lifetimes, the number a user's API quota sees. Facts: the trigger table (all 200 owned
at once, by both triggerers), the task tries, the emulator's job records.
"""

from __future__ import annotations

import time

import pytest

from airflow_tuning.jobs.polling import PollPolicy
from tests.e2e.harness.distributed_stack import TRIGGERERS
from tests.e2e.harness.drills import (
    create_requests,
    jobs_of,
    ready_dag,
    request_count,
    unique_label,
    upload_training_data,
)
from tests.e2e.harness.facts import job_hours, trigger_owners, triggerer_jobs

DAG_ID = "e2e_fanout"
RUNS = 200
JOB_MS = 900_000
#: e2e_fanout's poll settings (5 s growing to 15 s, compressed for the drill): at the default 150 s cap the
#: same waits make a tenth of these requests.
POLICY = PollPolicy.build(poll_interval=5.0, max_poll_interval=15.0)
MB = 1024 * 1024


@pytest.mark.drill(name="15 200 runs deferred over two triggerers")
@pytest.mark.distributed
@pytest.mark.timeout(3600)
def test_two_hundred_deferred_runs_over_two_triggerers(e2e_stack, drill):
    rest, emulator = e2e_stack.rest, e2e_stack.emulator
    upload_training_data(e2e_stack)
    ready_dag(e2e_stack, DAG_ID)
    label = unique_label("d15")
    before = emulator.stats()
    baseline = {name: e2e_stack.triggerer_rss(name) for name in TRIGGERERS}
    run_ids = [rest.trigger(DAG_ID, {"label": label, "duration_ms": JOB_MS})["dag_run_id"] for _ in range(RUNS)]

    started = time.monotonic()
    peak = dict(baseline)
    at_all_owned: dict[str, int] | None = None
    owners: dict[str, int | None] = {}
    deadline = started + JOB_MS / 1000 + 1800
    while time.monotonic() < deadline:
        for name in TRIGGERERS:
            peak[name] = max(peak[name], e2e_stack.triggerer_rss(name))
        if at_all_owned is None:
            owners = trigger_owners(e2e_stack, DAG_ID, "tune", run_ids)
            if len(owners) == RUNS and all(owners.values()):
                at_all_owned = {name: e2e_stack.triggerer_rss(name) for name in TRIGGERERS}
                all_owned_after = time.monotonic() - started
                owned_snapshot = dict(owners)
        if rest.count_runs(DAG_ID, "success", label) + rest.count_runs(DAG_ID, "failed", label) >= RUNS:
            break
        time.sleep(2)
    after = emulator.stats()
    jobs = jobs_of(e2e_stack, label)

    assert at_all_owned is not None, f"the {RUNS} waits were never all deferred at once (last: {len(owners)})"
    names = triggerer_jobs(e2e_stack)
    per_triggerer = {name: 0 for name in TRIGGERERS}
    for job_id in owned_snapshot.values():
        per_triggerer[names[job_id]] += 1
    polls = request_count(after, "GET", "tuningJobs/{id}") - request_count(before, "GET", "tuningJobs/{id}")
    hours = job_hours(jobs)
    drill.note(
        all_deferred_after_s=round(all_owned_after),
        triggers=",".join(f"{n}={c}" for n, c in per_triggerer.items()),
        rss_baseline_mb=",".join(f"{n}={baseline[n] / MB:.0f}" for n in TRIGGERERS),
        rss_all_deferred_mb=",".join(f"{n}={at_all_owned[n] / MB:.0f}" for n in TRIGGERERS),
        rss_peak_mb=",".join(f"{n}={peak[n] / MB:.0f}" for n in TRIGGERERS),
        status_requests_per_job_hour=round(polls / hours) if hours else None,
        policy_steady_requests_per_job_hour=round(POLICY.steady_requests_per_hour()),
    )
    failed = [r for r in run_ids if rest.run(DAG_ID, r)["state"] != "success"]
    assert not failed, f"{len(failed)} of {RUNS} runs did not succeed, e.g. {failed[:3]}"
    assert all(count > 0 for count in per_triggerer.values()), f"both triggerers must share the waits: {per_triggerer}"
    assert len(jobs) == RUNS and len({j["name"] for j in jobs}) == RUNS, "one job per run, no duplicates"
    assert all(j["state"] == "JOB_STATE_SUCCEEDED" for j in jobs)
    assert create_requests(after) - create_requests(before) == RUNS
    # Each wait polls as its policy says, whichever triggerer runs it: a trigger run twice would double this.
    assert polls / hours <= 1.25 * POLICY.steady_requests_per_hour(), f"{polls / hours:.0f} requests/job-hour"
