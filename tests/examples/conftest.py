"""Fixtures for the example DAGs: fast polling, and the emulator's bucket the DAGs read from."""

from __future__ import annotations

import os

import pytest

from tests.dag_results import states, xcom  # noqa: F401 - re-exported to the tests here

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

