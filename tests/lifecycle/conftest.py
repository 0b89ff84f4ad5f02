"""Fixtures for the tuning-job lifecycle tests: datasets in the emulated GCS, a client, job helpers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.dag_results import task_state, xcom  # noqa: F401 - re-exported to the tests here

BUCKET = "lifecycle-tests"


def _example(question: str, answer: str) -> str:
    return json.dumps(
        {
            "contents": [
                {"role": "user", "parts": [{"text": question}]},
                {"role": "model", "parts": [{"text": answer}]},
            ]
        }
    )


@pytest.fixture(scope="session")
def datasets(emulator) -> dict[str, str]:
    """Valid training and validation files, and one whose line 3 is not a Vertex example."""
    bucket = emulator.create_bucket(BUCKET)
    train = [_example(f"What is {i} + {i}?", f"{2 * i}") for i in range(1, 6)]
    files = {
        "train": "\n".join(train) + "\n",
        "validation": _example("What is 7 + 7?", "14") + "\n",
        "bad": "\n".join([train[0], train[1], '{"contents": "not a list"}', train[2]]) + "\n",
    }
    for name, text in files.items():
        bucket.blob(f"{name}.jsonl").upload_from_string(text, content_type="application/jsonl")
    return {name: f"gs://{BUCKET}/{name}.jsonl" for name in files}


@pytest.fixture
def test_id() -> str:
    """A label value that isolates this test's jobs in the shared emulator."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def client(gemini_conn):
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    return GeminiTuningHook().get_genai_client()


@pytest.fixture
def submit(client, datasets) -> Callable[..., Any]:
    """Start a job the way a user in the console would (not through an operator)."""
    from airflow_tuning.backends.vertex.jobs import start_tuning_job
    from airflow_tuning.jobs.request import TuningRequest

    def _submit(duration_ms: int = 1500, labels: dict[str, str] | None = None, **values: Any) -> Any:
        values.setdefault("base_model", "gemini-2.5-flash")
        values.setdefault("training_dataset_uri", datasets["train"])
        request = TuningRequest.build(
            labels={"emulator-duration-ms": str(duration_ms), **(labels or {})}, **values
        )
        return start_tuning_job(client, request)

    return _submit


@pytest.fixture
def wait_for_state(client) -> Callable[..., Any]:
    def _wait(name: str, states: set[str], timeout: float = 20.0) -> Any:
        from airflow_tuning.jobs.states import state_name

        deadline = time.monotonic() + timeout
        while True:
            job = client.tunings.get(name=name)
            if state_name(job.state) in states:
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} stayed {state_name(job.state)}, expected one of {states}")
            time.sleep(0.1)

    return _wait

