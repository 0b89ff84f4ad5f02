"""Fixtures for the example DAGs: fast polling, and the emulator's bucket the DAGs read from."""

from __future__ import annotations

import os

import pytest

BUCKET = "tuning-data"
# The example DAGs read these when they are imported: poll fast, use the emulator's bucket.
os.environ["AIRFLOW_TUNING_POLL_INTERVAL"] = "0.3"
os.environ["AIRFLOW_TUNING_BUCKET"] = BUCKET


@pytest.fixture
def bucket(gemini_conn, airflow_db):
    storage = gemini_conn.storage_client()
    existing = storage.lookup_bucket(BUCKET)
    return existing or gemini_conn.create_bucket(BUCKET)


def fresh_dag(module_name: str):
    """The example DAG, parsed anew, as a worker would for each run.

    ``dag.test()`` renders templates onto the task objects it runs; a second run on the same objects would
    see the first run's rendered values instead of the templates.
    """
    import importlib
    import sys

    module = sys.modules.get(f"dags.{module_name}")
    module = importlib.reload(module) if module else importlib.import_module(f"dags.{module_name}")
    return module.dag


def xcom(run, task_id: str, key: str = "return_value"):
    """A task's XCom value from a finished ``dag.test()`` run."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=run.dag_id, run_id=run.run_id, task_id=task_id, key=key, map_index=-1)
            .one_or_none()
        )
        return XComModel.deserialize_value(row) if row is not None else None


def states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
