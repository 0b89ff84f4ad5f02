"""Training data in the emulated GCS for the budget tests, and a label that isolates each test's jobs."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.dag_results import task_state, xcom  # noqa: F401 - re-exported to the tests here

BUCKET = "budget-tests"
EXAMPLES = 40


def example(i: int) -> str:
    return json.dumps({"contents": [
        {"role": "user", "parts": [{"text": f"Ticket {i}: the nightly export job {i} fails with a timeout."}]},
        {"role": "model", "parts": [{"text": f"category: pipelines, priority: P{i % 3 + 1}, team: data-{i % 4}"}]},
    ]})


@pytest.fixture(scope="session")
def training_file(emulator) -> dict[str, object]:
    lines = [example(i) for i in range(EXAMPLES)]
    text = "\n".join(lines) + "\n"
    emulator.create_bucket(BUCKET).blob("raw/train.jsonl").upload_from_string(text)
    tokens = sum(len(line.encode()) // 4 for line in lines)
    return {"uri": f"gs://{BUCKET}/raw/train.jsonl", "tokens": tokens, "examples": EXAMPLES}


@pytest.fixture
def test_id() -> str:
    return f"b{uuid.uuid4().hex[:12]}"
