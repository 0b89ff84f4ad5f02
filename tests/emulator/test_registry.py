"""Model Registry through aiplatform's ModelServiceClient (REST), and continuous tuning from an alias."""

from __future__ import annotations

import httpx
import pytest
from google.api_core import exceptions
from google.cloud import aiplatform_v1, aiplatform_v1beta1
from google.genai import types

from tests.emulator.helpers import fact, jsonl, upload, wait_ended


def tune(client, storage, name, indices, base_model="gemini-2.5-flash", **config):
    uri = upload(storage, "registry", f"{name}.jsonl", jsonl(indices))
    job = client.tunings.tune(
        base_model=base_model, training_dataset=types.TuningDataset(gcs_uri=uri),
        config=types.CreateTuningJobConfig(labels={"suite": "registry", "emulator-duration-ms": "300"}, **config))
    return wait_ended(client, job.name)


@pytest.fixture(scope="module")
def parent_job(client, storage):
    job = tune(client, storage, "first", range(0, 5), tuned_model_display_name="people", epoch_count=2)
    assert job.state == types.JobState.JOB_STATE_SUCCEEDED
    return job


def test_get_model_by_version_and_default_alias(model_service, parent_job):
    name, version = parent_job.tuned_model.model.split("@")
    model = model_service.get_model(name=f"{name}@{version}")
    assert model.name == name and model.version_id == version
    assert model.display_name == "people"
    assert "default" in model.version_aliases
    assert [c.checkpoint_id for c in model.checkpoints] == ["1", "2"]
    assert model_service.get_model(name=name).version_id == version


def test_merge_aliases_moves_an_alias_between_versions(client, storage, model_service, parent_job):
    name = parent_job.tuned_model.model.split("@")[0]
    merged = model_service.merge_version_aliases(name=f"{name}@1", version_aliases=["champion", "stable"])
    assert set(merged.version_aliases) >= {"champion", "stable", "default"}
    second = tune(client, storage, "second", range(5, 8), base_model=f"{name}@1")
    assert second.tuned_model.model == f"{name}@2"
    assert model_service.get_model(name=f"{name}@default").version_id == "2"
    model_service.merge_version_aliases(name=f"{name}@2", version_aliases=["champion", "-stable"])
    assert model_service.get_model(name=f"{name}@champion").version_id == "2"
    assert "champion" not in model_service.get_model(name=f"{name}@1").version_aliases
    assert "stable" in model_service.get_model(name=f"{name}@1").version_aliases
    with pytest.raises(exceptions.NotFound):
        model_service.get_model(name=f"{name}@retired")


def test_continuous_tuning_from_alias_and_checkpoint_learns_both(client, storage, model_service, parent_job):
    name = parent_job.tuned_model.model.split("@")[0]
    model_service.merge_version_aliases(name=f"{name}@1", version_aliases=["origin"])
    job = client.tunings.tune(
        base_model=f"{name}@origin",
        training_dataset=types.TuningDataset(gcs_uri=upload(storage, "registry", "more.jsonl", jsonl(range(10, 14)))),
        config=types.CreateTuningJobConfig(pre_tuned_model_checkpoint_id="1", epoch_count=1,
                                           labels={"suite": "registry", "emulator-duration-ms": "300"}))
    assert job.pre_tuned_model.checkpoint_id == "1"
    assert job.pre_tuned_model.tuned_model_name == f"{name}@origin"
    job = wait_ended(client, job.name)
    assert job.tuned_model.model.startswith(f"{name}@")
    endpoint = job.tuned_model.endpoint
    # Checkpoint 1 of the parent (2 epochs over 5 examples) knew examples 0-2; this run adds 10-13.
    for i in (0, 2, 12):
        assert client.models.generate_content(model=endpoint, contents=fact(i)[0]).text == fact(i)[1]
    assert client.models.generate_content(model=endpoint, contents=fact(4)[0]).text != fact(4)[1]


def test_new_display_name_makes_a_new_model(client, storage, parent_job):
    name = parent_job.tuned_model.model.split("@")[0]
    job = tune(client, storage, "fork", range(3), base_model=f"{name}@1", tuned_model_display_name="fork")
    assert not job.tuned_model.model.startswith(name + "@")
    assert job.tuned_model.model.endswith("@1")


def test_unknown_parent_model_version_or_checkpoint_is_rejected(emu, client, storage, parent_job):
    from google.genai import errors

    name = parent_job.tuned_model.model.split("@")[0]
    uri = upload(storage, "registry", "x.jsonl", jsonl(range(2)))
    cases = [(f"projects/{emu.project}/locations/{emu.location}/models/999@1", None, 404),
             (f"{name}@nosuchalias", None, 404),
             (f"{name}@1", "77", 400)]
    for base_model, checkpoint, code in cases:
        with pytest.raises(errors.ClientError) as err:
            client.tunings.tune(base_model=base_model, training_dataset=types.TuningDataset(gcs_uri=uri),
                                config=types.CreateTuningJobConfig(pre_tuned_model_checkpoint_id=checkpoint))
        assert err.value.code == code, base_model


@pytest.mark.parametrize("version, module", [("v1", aiplatform_v1), ("v1beta1", aiplatform_v1beta1)])
def test_model_responses_parse_strictly(emu, parent_job, version, module):
    name = parent_job.tuned_model.model.split("@")[0]
    body = httpx.get(f"{emu.api_url}/{version}/{name}%401", timeout=10).text
    module.types.Model.from_json(body, ignore_unknown_fields=False)
    listed = httpx.get(f"{emu.api_url}/{version}/{name}:listVersions", timeout=10).text
    versions = module.types.ListModelVersionsResponse.from_json(listed, ignore_unknown_fields=False)
    assert versions.models[0].version_id == "1"


def test_alias_rules(model_service, parent_job):
    name = parent_job.tuned_model.model.split("@")[0]
    with pytest.raises(exceptions.BadRequest):
        model_service.merge_version_aliases(name=f"{name}@1", version_aliases=["Bad Alias"])
    with pytest.raises(exceptions.BadRequest):
        model_service.merge_version_aliases(name=f"{name}@1", version_aliases=["-default"])


def test_tuned_model_carries_its_base_model_label(model_service, parent_job):
    """Vertex AI's ``google-vertex-llm-tuning-base-model-id`` label (dots as '_'), which prices continuations."""
    version = model_service.get_model(name=parent_job.tuned_model.model)
    assert version.labels["google-vertex-llm-tuning-base-model-id"] == "gemini-2_5-flash"
