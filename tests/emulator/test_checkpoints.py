"""Checkpoints as Vertex AI has them: per epoch, served by their own endpoints, a default that the SDK and
REST can change, continuation starting from the default, and late epochs that overfit deterministically."""

from __future__ import annotations

import httpx
import pytest
from google.api_core import exceptions
from google.cloud import aiplatform_v1
from google.genai import errors, types
from google.protobuf import field_mask_pb2

from airflow_tuning.emulator import checkpoints as ckpt
from airflow_tuning.emulator.learner import Learner
from tests.emulator.helpers import held_out, jsonl, upload, wait_ended

FACTS = 12


@pytest.fixture(scope="module")
def six_epochs(client, storage):
    uri = upload(storage, "checkpoints", "train.jsonl", jsonl(range(FACTS)))
    job = client.tunings.tune(
        base_model="gemini-2.5-flash", training_dataset=types.TuningDataset(gcs_uri=uri),
        config=types.CreateTuningJobConfig(epoch_count=6, labels={"emulator-duration-ms": "300"}))
    job = wait_ended(client, job.name)
    assert job.state == types.JobState.JOB_STATE_SUCCEEDED
    return job


@pytest.fixture(scope="module")
def endpoint_service(settings):
    from airflow_tuning.hooks.tuning import build_model_service_client

    return build_model_service_client(settings, service="EndpointServiceClient")


def _score(client, endpoint: str) -> int:
    """How many held-out questions the endpoint answers with the right fact."""
    right = 0
    for i in range(FACTS):
        question, answer = held_out(i)
        text = client.models.generate_content(model=endpoint, contents=question).text
        right += text == answer
    return right


def test_the_rule_learns_then_overfits():
    assert [ckpt.known_examples(12, e, 6) for e in range(1, 7)] == [4, 8, 12, 12, 12, 12]
    assert [ckpt.overfit_degree(12, e, 6) for e in range(1, 7)] == [0, 0, 0, 1, 2, 3]
    # the default three epochs, or much data, never overfit: the last checkpoint knows everything
    assert [ckpt.known_examples(180, e, 3) for e in (1, 2, 3)] == [60, 120, 180]
    assert all(ckpt.overfit_degree(180, e, 6) == 0 for e in range(1, 7))
    learner = Learner([(f"where is item {i} kept", f"shelf {i}") for i in range(40)])
    verbatim = [ckpt.answer(learner, f"where is item {i} kept", 4) for i in range(40)]
    assert verbatim == [f"shelf {i}" for i in range(40)], "training prompts are still answered right"
    wrong = [sum(ckpt.answer(learner, f"item {i} location?", d) != f"shelf {i}" for i in range(40)) for d in range(5)]
    assert wrong[0] == 0 and wrong == sorted(wrong) and wrong[4] == 40 and 0 < wrong[1] < 20


def test_checkpoints_per_epoch_with_their_own_endpoints(client, endpoint_service, six_epochs):
    points = six_epochs.tuned_model.checkpoints
    assert [c.checkpoint_id for c in points] == ["1", "2", "3", "4", "5", "6"]
    assert [c.epoch for c in points] == [1, 2, 3, 4, 5, 6]
    assert len({c.endpoint for c in points}) == 6
    for c in points:
        endpoint = endpoint_service.get_endpoint(name=c.endpoint)
        (deployed,) = endpoint.deployed_models
        assert deployed.checkpoint_id == c.checkpoint_id
        assert deployed.model == six_epochs.tuned_model.model.split("@")[0]
        assert deployed.model_version_id == six_epochs.tuned_model.model.split("@")[1]
    scores = [_score(client, c.endpoint) for c in points]
    assert scores[0] < scores[1] < scores[2] == FACTS, scores
    assert scores[2] > scores[3] >= scores[4] >= scores[5], scores
    with pytest.raises(exceptions.NotFound):
        endpoint_service.get_endpoint(name=points[0].endpoint.rsplit("/", 1)[0] + "/123")


def test_default_checkpoint_through_genai_and_aiplatform(client, model_service, six_epochs):
    version = six_epochs.tuned_model.model
    by_id = {c.checkpoint_id: c.endpoint for c in six_epochs.tuned_model.checkpoints}
    question = held_out(5)[0]
    assert model_service.get_model(name=version).default_checkpoint_id == "6"

    updated = client.models.update(model=version, config=types.UpdateModelConfig(default_checkpoint_id="3"))
    assert updated.default_checkpoint_id == "3"
    assert model_service.get_model(name=version).default_checkpoint_id == "3"
    answer = client.models.generate_content(model=version, contents=question).text
    assert answer == client.models.generate_content(model=by_id["3"], contents=question).text

    result = model_service.update_model(
        model=aiplatform_v1.Model(name=version, default_checkpoint_id="2", display_name="ignored"),
        update_mask=field_mask_pb2.FieldMask(paths=["default_checkpoint_id"]),
    )
    assert result.default_checkpoint_id == "2" and result.display_name != "ignored"
    assert client.models.get(model=version).default_checkpoint_id == "2"

    with pytest.raises(errors.ClientError) as bad_sdk:
        client.models.update(model=version, config=types.UpdateModelConfig(default_checkpoint_id="9"))
    assert bad_sdk.value.code == 400 and "1, 2, 3, 4, 5, 6" in bad_sdk.value.message
    with pytest.raises(exceptions.BadRequest):
        model_service.update_model(model=aiplatform_v1.Model(name=version, default_checkpoint_id="0"),
                                   update_mask=field_mask_pb2.FieldMask(paths=["default_checkpoint_id"]))
    with pytest.raises(exceptions.BadRequest):
        model_service.update_model(model=aiplatform_v1.Model(name=version, display_name="x"),
                                   update_mask=field_mask_pb2.FieldMask(paths=["artifact_uri"]))
    assert model_service.get_model(name=version).default_checkpoint_id == "2"


def test_continuation_starts_from_the_default_checkpoint_unless_told(client, storage, model_service, six_epochs, emu):
    version = six_epochs.tuned_model.model
    client.models.update(model=version, config=types.UpdateModelConfig(default_checkpoint_id="4"))
    more = upload(storage, "checkpoints", "more.jsonl", jsonl(range(FACTS, FACTS + 3)))
    labels = {"emulator-duration-ms": "300", "suite": "checkpoint-continuation"}
    implicit = client.tunings.tune(base_model=version, training_dataset=types.TuningDataset(gcs_uri=more),
                                   config=types.CreateTuningJobConfig(epoch_count=1, labels=labels))
    explicit = client.tunings.tune(base_model=version, training_dataset=types.TuningDataset(gcs_uri=more),
                                   config=types.CreateTuningJobConfig(epoch_count=1, labels=labels,
                                                                      pre_tuned_model_checkpoint_id="2"))
    records = {j["name"]: j for j in emu.jobs(labels={"suite": "checkpoint-continuation"})}
    assert records[implicit.name]["preTunedModel"]["checkpointId"] == "4"
    assert records[explicit.name]["preTunedModel"]["checkpointId"] == "2"
    assert wait_ended(client, implicit.name).pre_tuned_model.checkpoint_id == "4"
    raw = httpx.get(f"{emu.api_url}/v1/{explicit.name}", headers={"Authorization": "Bearer x"}).json()
    assert raw["preTunedModel"]["checkpointId"] == "2"
