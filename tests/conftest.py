"""Test session set-up: a private AIRFLOW_HOME with a fresh SQLite DB, and the offline emulator.

Environment is set at import time, before anything imports Airflow, so every test (and every subprocess a
test starts) sees the same isolated Airflow installation.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_HOME = Path(tempfile.mkdtemp(prefix="airflow-tuning-tests-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
# dag.test() needs the DAG file inside the DAGs folder; the folder links to the example and test DAGs.
_DAGS = _HOME / "dags"
_DAGS.mkdir()
(_DAGS / "examples").symlink_to(REPO / "dags")
(_DAGS / "test_dags").symlink_to(REPO / "tests" / "dags")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_DAGS)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")
# Nothing in a test may reach a real Google endpoint: no ADC, no metadata server.
os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = str(_HOME / "no-adc.json")
os.environ["NO_GCE_CHECK"] = "True"
os.environ.pop("GOOGLE_CLOUD_PROJECT", None)
sys.path.insert(0, str(REPO))


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Create the Airflow metadata DB once per test session."""
    from airflow.utils import db

    db.resetdb()
    return _HOME


@pytest.fixture(scope="session")
def emulator():
    """One emulator (Vertex AI + GCS) for the session; tests isolate themselves by labels and buckets."""
    from airflow_tuning.emulator import Emulator

    with Emulator(job_duration=2.0) as emu:
        yield emu


@pytest.fixture
def gemini_conn(emulator, monkeypatch):
    """Point the default ``gemini_tuning`` connection at the emulator, as a user would with an env var."""
    monkeypatch.setenv("AIRFLOW_CONN_GEMINI_TUNING_DEFAULT", emulator.connection_json())
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    GeminiTuningHook.forget_async_clients()
    yield emulator
    GeminiTuningHook.forget_async_clients()
