"""Small steps the drills share: unique labels, DAG readiness, waiting on emulated jobs and deferred tasks."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.harness.airflow_stack import AirflowStack

DATA = Path(__file__).resolve().parents[1] / "dags" / "data"
TRAIN_URI = "gs://e2e-data/train.jsonl"


def unique_label(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def ready_dag(stack: AirflowStack, dag_id: str) -> None:
    """Wait until the DAG is parsed, then unpause it (a fresh DAG starts paused)."""
    assert stack.rest is not None
    stack.rest.wait_for_dag(dag_id)
    stack.rest.unpause(dag_id)


def upload_training_data(stack: AirflowStack) -> str:
    """Put the sample dataset at TRAIN_URI (idempotent)."""
    bucket, _, name = TRAIN_URI.removeprefix("gs://").partition("/")
    return stack.emulator.upload_text(bucket, name, (DATA / "train.jsonl").read_text())


def launch_runs(stack: AirflowStack, dag_id: str, prefix: str, runs: int, duration_ms: int
                ) -> tuple[str, dict[str, Any], list[str]]:
    """Upload the sample data, ready ``dag_id`` and trigger ``runs`` runs whose jobs last ``duration_ms``.

    Returns the runs' fresh label, the emulator's stats just before the first trigger, and the run ids.
    """
    assert stack.rest is not None
    upload_training_data(stack)
    ready_dag(stack, dag_id)
    label = unique_label(prefix)
    before = stack.emulator.stats()
    run_ids = [stack.rest.trigger(dag_id, {"label": label, "duration_ms": duration_ms})["dag_run_id"]
               for _ in range(runs)]
    return label, before, run_ids


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def jobs_of(stack: AirflowStack, label: str) -> list[dict[str, Any]]:
    return stack.emulator.jobs({"e2e_drill": label})


def job_state(stack: AirflowStack, name: str) -> str:
    for job in stack.emulator.jobs():
        if job["name"] == name:
            return job["state"]
    raise KeyError(name)


def wait_deferred_in_triggerer(stack: AirflowStack, dag_id: str, run_id: str, task_id: str, timeout=120) -> dict:
    """Wait until the task is deferred AND a triggerer has picked its trigger up and written its log."""
    assert stack.rest is not None
    rest = stack.rest

    def running_in_triggerer() -> dict | None:
        ti = rest.task_instance(dag_id, run_id, task_id)
        if ti["state"] in ("success", "failed", "upstream_failed"):
            raise AssertionError(f"{task_id} ended {ti['state']} before it was seen deferred")
        if ti["state"] == "deferred" and ti.get("triggerer_job") and stack.trigger_logs(dag_id, run_id, task_id):
            return ti
        return None

    return wait_until(running_in_triggerer, timeout, f"{dag_id}/{run_id}/{task_id} deferred in a triggerer")


def request_count(stats: dict[str, Any], method: str, suffix: str) -> int:
    """Requests (both API versions) whose route template is ``METHOD .../suffix``."""
    return sum(
        int(count)
        for route, count in stats.get("requests", {}).items()
        if route.startswith(f"{method} ") and route.endswith(f"/locations/{{l}}/{suffix}")
    )


def cancel_requests(stats: dict[str, Any]) -> int:
    return request_count(stats, "POST", "tuningJobs/{id}:cancel")


def create_requests(stats: dict[str, Any]) -> int:
    return request_count(stats, "POST", "tuningJobs")
