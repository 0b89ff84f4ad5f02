"""Drill 7: 50 DAG runs deferring at once -> all complete; the triggerer's memory stays bounded.

Memory is the resident set of the triggerer process tree (the triggerer and its trigger-runner subprocess),
sampled every second: before the runs, at the moment most tasks are deferred, and at the peak. That the 50
waits were deferred at once is read from facts, not from the samples: every task's wait left a trigger
log, and the emulator's records show the 50 jobs all running at the same instant.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.harness.drills import jobs_of, ready_dag, unique_label, upload_training_data
from tests.e2e.harness.facts import job_lifetimes, trigger_owners, triggerers_that_ran

DAG_ID = "e2e_fanout"
RUNS = 50
JOB_MS = 90_000
MAX_GROWTH_MB = 200  # 50 waits share one async client; anything near this would mean a leak per trigger
MB = 1024 * 1024


@pytest.mark.drill(name="7 50 runs deferred at once")
@pytest.mark.timeout(1800)
def test_fifty_deferred_runs_complete_with_bounded_triggerer_memory(e2e_stack, drill):
    rest = e2e_stack.rest
    upload_training_data(e2e_stack)
    ready_dag(e2e_stack, DAG_ID)
    label = unique_label("d7")
    baseline = sorted(e2e_stack.triggerer_rss() for _ in range(3))[1]

    started = time.monotonic()
    run_ids = [rest.trigger(DAG_ID, {"label": label, "duration_ms": JOB_MS})["dag_run_id"] for _ in range(RUNS)]
    peak_deferred, peak_rss, rss_at_peak_deferred, all_deferred_after = 0, baseline, baseline, None
    deadline = started + JOB_MS / 1000 + 900
    while time.monotonic() < deadline:
        deferred = len(trigger_owners(e2e_stack, DAG_ID, "tune", run_ids))
        rss = e2e_stack.triggerer_rss()
        peak_rss = max(peak_rss, rss)
        if deferred > peak_deferred:
            peak_deferred, rss_at_peak_deferred = deferred, rss
        if deferred == RUNS and all_deferred_after is None:
            all_deferred_after = time.monotonic() - started
        ended = rest.count_runs(DAG_ID, "success", label) + rest.count_runs(DAG_ID, "failed", label)
        if ended >= RUNS:
            break
        time.sleep(1)
    total = time.monotonic() - started

    growth = peak_rss - baseline
    drill.note(
        triggerer_rss_baseline_mb=round(baseline / MB),
        triggerer_rss_all_deferred_mb=round(rss_at_peak_deferred / MB),
        triggerer_rss_peak_mb=round(peak_rss / MB),
        per_deferred_task_kb=round(max(rss_at_peak_deferred - baseline, 0) / 1024 / max(peak_deferred, 1)),
        peak_deferred=peak_deferred,
        all_deferred_after_s=None if all_deferred_after is None else round(all_deferred_after),
        all_done_after_s=round(total),
    )
    failed = [r for r in run_ids if rest.run(DAG_ID, r)["state"] != "success"]
    assert not failed, f"{len(failed)} of {RUNS} runs did not succeed, e.g. {failed[:3]}"
    jobs = jobs_of(e2e_stack, label)
    assert len(jobs) == RUNS and len({j["name"] for j in jobs}) == RUNS, "one job per run, no duplicates"
    unwaited = [r for r in run_ids if not triggerers_that_ran(e2e_stack, DAG_ID, r, "tune")]
    assert not unwaited, f"{len(unwaited)} tasks never waited in a triggerer, e.g. {unwaited[:3]}"
    lifetimes = job_lifetimes(jobs)
    latest_start, earliest_end = max(s for s, _ in lifetimes), min(e for _, e in lifetimes)
    assert latest_start < earliest_end, "the 50 jobs (and so their waits) were never all running at once"
    assert all(j["state"] == "JOB_STATE_SUCCEEDED" for j in jobs)
    assert growth < MAX_GROWTH_MB * MB, f"triggerer memory grew by {growth / MB:.0f} MB for {RUNS} waits"
