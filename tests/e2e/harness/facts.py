"""Facts the drills assert on, read from the metadata database, the trigger logs and the emulator.

Never a sample of a changing state: who owns a trigger is the ``trigger`` table's ``triggerer_id`` (a
``TriggererJob`` in the ``job`` table, whose ``hostname`` names the triggerer process); which triggerers ran
a wait is the set of trigger log files (``*.trigger.<triggerer job id>.log``), which outlive the trigger row.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tests.e2e.harness.airflow_stack import AirflowStack

_TRIGGER_LOG = re.compile(r"\.trigger\.(\d+)\.log$")


def triggerer_jobs(stack: AirflowStack) -> dict[int, str]:
    """Triggerer job id -> the host name its process reported (the component name on the distributed stack)."""
    rows = stack.postgres.query("SELECT id, hostname FROM job WHERE job_type = 'TriggererJob'")
    return {int(job_id): hostname for job_id, hostname in rows}


def trigger_owners(stack: AirflowStack, dag_id: str, task_id: str, run_ids: list[str]) -> dict[str, int | None]:
    """Run id -> the triggerer job that owns its task's trigger now (None: unassigned; absent: no trigger)."""
    rows = stack.postgres.query(
        "SELECT ti.run_id, t.triggerer_id FROM task_instance ti JOIN trigger t ON t.id = ti.trigger_id "
        "WHERE ti.dag_id = %s AND ti.task_id = %s AND ti.run_id = ANY(%s)",
        (dag_id, task_id, list(run_ids)),
    )
    return {run_id: owner for run_id, owner in rows}


def triggerers_that_ran(stack: AirflowStack, dag_id: str, run_id: str, task_id: str) -> set[int]:
    """Triggerer job ids that ran this task's trigger, from the trigger log files each one wrote."""
    ids = set()
    for path in stack.trigger_logs(dag_id, run_id, task_id):
        match = _TRIGGER_LOG.search(path.name)
        if match:
            ids.add(int(match.group(1)))
    return ids


def job_lifetimes(jobs: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """Each ended job's (create, end) POSIX times, from the emulator's records."""
    spans = [(_ts(job.get("createTime")), _ts(job.get("endTime"))) for job in jobs]
    return [(start, end) for start, end in spans if start is not None and end is not None]


def job_hours(jobs: list[dict[str, Any]]) -> float:
    """Sum of the jobs' lifetimes (create to end, or to their last update), in hours."""
    total = 0.0
    for job in jobs:
        start = _ts(job.get("createTime"))
        end = _ts(job.get("endTime") or job.get("updateTime"))
        if start is not None and end is not None:
            total += max(end - start, 0.0)
    return total / 3600


def _ts(value: str | None) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
