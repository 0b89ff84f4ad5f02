"""The benchmark scripts run end to end with tiny sizes and print valid figures; run_all reads targets right.

Each script runs as ``make bench`` runs it (``python -m benchmarks.<name>``, its own process); they are all
started together, so the whole module costs about as long as the slowest one. Sizes are tiny, so the values
mean nothing here: the tests check the output contract and what holds at any size (every trigger yields
exactly one success event, a deferred task runs in two worker segments, a synchronous one in one, the upload
reports its server's CPU and its floor).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.run_all import table, target_met

REPO = Path(__file__).resolve().parents[2]
KEYS = {"name", "value", "unit", "target", "baseline"}
SMOKE_RUNS = {
    "dag_parse": ["--runs", "1", "--setup", "sdk", "--no-warm-up", "--no-breakdown",
                  "--dags", "dags/gemini_cancel_tuning.py"],
    "triggerer_capacity": ["--triggers", "10", "--compression", "600", "--min-job-minutes", "30",
                           "--max-job-minutes", "40", "--start-spread-minutes", "0", "--restart-seconds", "11"],
    "worker_slots": ["--job-seconds", "1", "--poll-interval", "0.2", "--max-poll-interval", "0.5", "--no-warm-up"],
    "upload_dataset": ["--size-mb", "1", "--repeat", "1"],
}


@pytest.fixture(scope="module")
def figures() -> dict[str, dict[str, dict]]:
    """Every smoke run's figures by script and name; every stdout line must be a JSON figure."""
    procs = {
        name: subprocess.Popen([sys.executable, "-m", f"benchmarks.{name}", *args], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, args in SMOKE_RUNS.items()
    }
    results: dict[str, dict[str, dict]] = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=240)
        results[name] = {}
        for line in stdout.splitlines():
            figure = json.loads(line)
            assert KEYS <= set(figure), f"{name} printed a line without {KEYS - set(figure)}: {line}"
            assert figure["target"] is None or target_met(figure["value"], figure["target"]) is not None, figure
            results[name][figure["name"]] = figure
        assert results[name], f"{name} printed no figure (exit {proc.returncode}):\n{stderr[-3000:]}"
    return results


def test_dag_parse_prints_one_figure_per_dag(figures):
    assert set(figures["dag_parse"]) == {"dag_parse_gemini_cancel_tuning"}
    figure = figures["dag_parse"]["dag_parse_gemini_cancel_tuning"]
    assert figure["unit"] == "ms" and figure["target"] == "<= 50"
    assert figure["baseline"] > 0 and figure["tasks"] == 1


def test_triggerer_capacity_sees_every_completion_once(figures):
    got = figures["triggerer_capacity"]
    assert {
        "triggerer_rss_added_10_triggers", "triggerer_cpu_seconds_10_triggers",
        "triggerer_requests_per_job_hour_overall", "triggerer_missed_completions", "triggerer_late_completions",
        "triggerer_restart_cpu_seconds_10_triggers",
    } <= set(got)
    assert got["triggerer_missed_completions"]["value"] == 0
    assert got["triggerer_requests_per_job_hour_overall"]["requests"] >= 10
    assert got["triggerer_restart_cpu_seconds_10_triggers"]["requests_served"] >= 10  # every first poll (within 10 s)


def test_upload_dataset_reports_the_ratio_with_its_context(figures):
    got = figures["upload_dataset"]
    assert got["upload_dataset_time_ratio"]["target"] == "<= 1.5"
    assert got["upload_dataset_peak_rss"]["target"] == "<= 200"
    assert got["upload_dataset_examples"]["value"] > 0
    # The server's CPU for each side (clock ticks: zero is possible at this size), and the floor: all the work
    # at once, in three processes.
    server = got["upload_dataset_emulator_cpu_seconds"]
    assert server["value"] >= 0 and server["baseline"] >= 0
    floor = got["upload_dataset_floor_ratio"]
    assert floor["floor_seconds"] > 0 and floor["value"] > 0 and floor["cpus"] >= 1


def test_worker_slots_times_both_modes(figures):
    got = figures["worker_slots"]
    assert len(got["worker_slot_seconds_deferrable"]["segments"]) == 2  # submit and defer, then resume
    assert len(got["worker_slot_seconds_synchronous"]["segments"]) == 1
    assert got["worker_slot_seconds_synchronous"]["value"] >= 1.0  # held the slot for the whole job
    assert got["worker_slot_ratio_deferrable_to_synchronous"]["target"] == "< 5"


@pytest.mark.parametrize(
    ("value", "target", "met"),
    [
        (42.0, "<= 50", True), (50.0, "<= 50", True), (50.1, "<= 50", False), (3, "< 5", True), (5, "< 5", False),
        (1200.0, ">= 1000", True), (999, ">=1000", False), (0, "== 0", True), (2, "== 0", False),
        (7.0, "<= 7.5 (1.5x baseline)", True), (True, True, True), (False, True, False),
        (1.0, None, None), (None, "<= 1", None), ("n/a", "<= 1", None), (True, "<= 1", None),
    ],
)
def test_target_met(value, target, met):
    assert target_met(value, target) is met


def test_summary_table_marks_missed_targets():
    rows = table([
        {"name": "a", "value": 10.0, "unit": "ms", "target": "<= 50", "baseline": 1.5},
        {"name": "b", "value": 60.0, "unit": "ms", "target": "<= 50", "baseline": None},
        {"name": "c", "value": 3, "unit": "jobs", "target": None, "baseline": None},
    ])
    assert rows[0] == ["name", "value", "unit", "target", "baseline", "met"]
    assert [row[-1] for row in rows[1:]] == ["yes", "NO", "-"]
