"""Fixtures for the logical-model tests: training data, models made straight through the API, registry reads."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.dag_results import states, xcom  # noqa: F401 - re-exported to the tests here
from tests.emulator.helpers import jsonl, upload, wait_ended

BUCKET = "logical-model-tests"


@pytest.fixture
def test_id() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def hook(gemini_conn, airflow_db):
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    return GeminiTuningHook()


@pytest.fixture
def train(hook) -> str:
    return upload(hook.get_storage_client(), BUCKET, "train.jsonl", jsonl(range(12)))


class Registry:
    """What the Model Registry holds, read through the real aiplatform client."""

    def __init__(self, hook: Any, train: str) -> None:
        self.hook, self.train = hook, train
        self.client = hook.get_model_service_client()
        self.parent = f"projects/{hook.project}/locations/{hook.location}"

    def tune(self, display_name: str | None, *, pre_tuned_model: str | None = None) -> str:
        """A tuning job started as a console user would (not through an operator); its ``models/ID@V``."""
        from google.genai import types

        genai = self.hook.get_genai_client()
        job = genai.tunings.tune(
            base_model=pre_tuned_model or "gemini-2.5-flash",
            training_dataset=types.TuningDataset(gcs_uri=self.train),
            config=types.CreateTuningJobConfig(
                tuned_model_display_name=display_name, epoch_count=1, labels={"emulator-duration-ms": "300"}
            ),
        )
        return wait_ended(genai, job.name).tuned_model.model

    def models(self, display_name: str) -> list[str]:
        found = self.client.list_models(request={"parent": self.parent, "filter": f'display_name="{display_name}"'})
        return sorted(m.name for m in found)

    def versions(self, model: str) -> list[str]:
        return [f"{model}@{v.version_id}" for v in self.client.list_model_versions(name=model)]

    def holders(self, display_name: str, alias: str = "champion") -> list[str]:
        return [
            f"{model}@{v.version_id}"
            for model in self.models(display_name)
            for v in self.client.list_model_versions(name=model)
            if alias in v.version_aliases
        ]

    def give_alias(self, version: str, alias: str = "champion") -> None:
        self.client.merge_version_aliases(name=version, version_aliases=[alias])


@pytest.fixture
def registry(hook, train) -> Registry:
    return Registry(hook, train)
