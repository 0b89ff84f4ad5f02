"""A tuned model family on the session emulator: v1 learned half the facts, v2 (continued from v1) all.

Evaluation data asks the same questions in other words, so a model that learned an item answers it with
the reference, one that did not answers with another item's (similar but wrong) fact, and a base model
gives a generic reply: a real, measurable ordering v2 > v1 > base.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass

import pytest

from tests.dag_results import task_state, xcom  # noqa: F401 - re-exported to the tests here

BUCKET = "evaluation-tests"
ITEMS = 40
SYLLABLES = ("ka", "lo", "mi", "ra", "tu", "ne", "so", "vi")


def item_name(i: int) -> str:
    a, b, c = list(itertools.product(SYLLABLES, repeat=3))[i * 7 % 512]
    return f"{a}{b}{c}"


def qa(i: int, *, paraphrase: bool) -> str:
    item = item_name(i)
    question = f"Where is the {item} stored?" if paraphrase else f"Which warehouse stores the {item}?"
    answer = f"The {item} is stored in warehouse {chr(65 + i % 26)}{i // 26} on shelf {i * 3 % 17 + 1}."
    return json.dumps(
        {"contents": [{"role": "user", "parts": [{"text": question}]}, {"role": "model", "parts": [{"text": answer}]}]}
    )


@dataclass(frozen=True)
class ModelFamily:
    eval_uri: str
    model: str  # projects/P/locations/L/models/ID
    v1: str  # models/ID@1 in full
    v2: str
    v1_endpoint: str
    v2_endpoint: str

    @property
    def model_id(self) -> str:
        return self.model.rsplit("/", 1)[1]


def _wait(client, job, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not job.has_ended:
        assert time.monotonic() < deadline, f"tuning job {job.name} did not end"
        time.sleep(0.2)
        job = client.tunings.get(name=job.name)
    assert job.state.name == "JOB_STATE_SUCCEEDED", job.error
    return job


@pytest.fixture(scope="session")
def model_family(emulator) -> ModelFamily:
    from google.genai import types

    from airflow_tuning.hooks.tuning import GeminiTuningHook

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_CONN_GEMINI_TUNING_DEFAULT", emulator.connection_json())
        hook = GeminiTuningHook()
        client = hook.get_genai_client()
        bucket = emulator.create_bucket(BUCKET)
        half = ITEMS // 2
        for name, lines in (
            ("data/train-1.jsonl", [qa(i, paraphrase=False) for i in range(half)]),
            ("data/train-2.jsonl", [qa(i, paraphrase=False) for i in range(half, ITEMS)]),
            ("data/eval.jsonl", [qa(i, paraphrase=True) for i in range(ITEMS)]),
        ):
            bucket.blob(name).upload_from_string("\n".join(lines) + "\n")
        config = types.CreateTuningJobConfig(epoch_count=1, labels={"emulator-duration-ms": "800"})
        first = _wait(
            client,
            client.tunings.tune(
                base_model="gemini-2.5-flash",
                training_dataset=types.TuningDataset(gcs_uri=f"gs://{BUCKET}/data/train-1.jsonl"),
                config=config,
            ),
        )
        second = _wait(
            client,
            client.tunings.tune(
                base_model=first.tuned_model.model,
                training_dataset=types.TuningDataset(gcs_uri=f"gs://{BUCKET}/data/train-2.jsonl"),
                config=config,
            ),
        )
    v1, v2 = first.tuned_model.model, second.tuned_model.model
    assert v1.split("@")[0] == v2.split("@")[0], "continuous tuning must add a version to the same model"
    return ModelFamily(
        eval_uri=f"gs://{BUCKET}/data/eval.jsonl",
        model=v1.split("@")[0],
        v1=v1,
        v2=v2,
        v1_endpoint=first.tuned_model.endpoint,
        v2_endpoint=second.tuned_model.endpoint,
    )


@pytest.fixture
def fast_retry_conn(emulator, monkeypatch):
    """The default connection with short backoff, so injected 429s cost tenths of a second each."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_GEMINI_TUNING_DEFAULT",
        emulator.connection_json(retry_initial_delay=0.1, retry_max_delay=0.5, retry_jitter=0.1),
    )
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    GeminiTuningHook.forget_async_clients()
    yield emulator
    GeminiTuningHook.forget_async_clients()

