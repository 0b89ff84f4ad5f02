"""Vertex AI fidelity: the calls a user's own code makes, through google-genai and google-cloud-aiplatform.

Each answer is also parsed strictly with google-cloud-aiplatform's protos, so the emulator cannot drift from
the real API's shape. aiplatform's high-level SDK is used with ``api_transport="rest"`` (its gRPC default
needs TLS to a Google endpoint; see the README).
"""

from __future__ import annotations

import httpx
import pytest
from google.api_core import exceptions
from google.genai import errors, types

from tests.emulator.helpers import jsonl, upload, wait_ended

SUITE = {"suite": "fidelity"}


def _raw(emu, path: str, version: str = "v1beta1") -> dict:
    response = httpx.get(f"{emu.api_url}/{version}/{path}", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def dataset(storage) -> str:
    return upload(storage, "fidelity-vertex", "train.jsonl", jsonl(range(16)))


@pytest.fixture(scope="module")
def tuned(client, dataset):
    """A succeeded job (3 checkpoints), a continuation (version 2 of its model) and a cancelled job."""
    config = types.CreateTuningJobConfig(epoch_count=3, export_last_checkpoint_only=False,
                                         tuned_model_display_name="fidelity-model",
                                         labels={**SUITE, "kind": "a", "emulator-duration-ms": "400"})
    first = wait_ended(client, client.tunings.tune(base_model="gemini-2.5-flash", config=config,
                                                   training_dataset=types.TuningDataset(gcs_uri=dataset)).name)
    second = wait_ended(client, client.tunings.tune(
        base_model=first.tuned_model.model, training_dataset=types.TuningDataset(gcs_uri=dataset),
        config=types.CreateTuningJobConfig(epoch_count=2, labels={**SUITE, "kind": "c", "emulator-duration-ms": "400"}),
    ).name)
    cancelled = client.tunings.tune(base_model="gemini-2.5-flash",
                                    training_dataset=types.TuningDataset(gcs_uri=dataset),
                                    config=types.CreateTuningJobConfig(labels={**SUITE, "kind": "b"}))
    client.tunings.cancel(name=cancelled.name)
    return {"first": first, "second": second, "cancelled": wait_ended(client, cancelled.name)}


@pytest.fixture(scope="module")
def vertex(emu):
    """google-cloud-aiplatform's high-level SDK on the emulator; its global config is reset afterwards."""
    from google.cloud import aiplatform
    from google.cloud.aiplatform import initializer
    from google.oauth2.credentials import Credentials

    aiplatform.init(project=emu.project, location=emu.location, api_endpoint=emu.api_url,
                    api_transport="rest", credentials=Credentials(token="emulator"))
    yield aiplatform
    initializer.global_config.__init__()


# -- tuning jobs ------------------------------------------------------------------------------------------
def test_job_bodies_parse_strictly_with_the_protos(emu, tuned):
    from google.cloud.aiplatform_v1.types import TuningJob as V1Job
    from google.cloud.aiplatform_v1beta1.types import TuningJob as V1Beta1Job

    for job in tuned.values():
        V1Beta1Job.from_json(httpx.get(f"{emu.api_url}/v1beta1/{job.name}").text, ignore_unknown_fields=False)
        V1Job.from_json(httpx.get(f"{emu.api_url}/v1/{job.name}").text, ignore_unknown_fields=False)


@pytest.mark.parametrize("expression, kinds", [
    ('labels.kind="a" OR labels.kind="b"', {"a", "b"}),
    ('labels.suite="fidelity" AND state="JOB_STATE_CANCELLED"', {"b"}),
    ('labels.suite="fidelity" AND NOT labels.kind="a"', {"b", "c"}),
    ('labels.suite="fidelity" -labels.kind="c"', {"a", "b"}),
    ('(labels.kind="a" OR labels.kind="b") AND state="JOB_STATE_SUCCEEDED"', {"a"}),
    ('labels.suite="fidelity" AND (state="JOB_STATE_SUCCEEDED" OR state="JOB_STATE_CANCELLED")', {"a", "b", "c"}),
    ('labels.suite:* AND labels.kind:"c"', {"c"}),
    ('labels:kind AND tuned_model_display_name="fidelity-model"', {"a"}),
])
def test_tunings_list_filters(client, tuned, expression, kinds):
    found = list(client.tunings.list(config={"filter": expression, "page_size": 1}))
    assert {job.labels["kind"] for job in found} == kinds


@pytest.mark.parametrize("expression", ['labels.kind="a" OR', 'colour="red"', '(labels.kind="a"', "labels=x"])
def test_a_bad_filter_is_invalid_argument(client, expression):
    with pytest.raises(errors.ClientError) as raised:
        list(client.tunings.list(config={"filter": expression}))
    assert raised.value.code == 400


def test_tuned_endpoint_serves_and_counts_tokens(client, tuned):
    endpoint = tuned["first"].tuned_model.endpoint
    reply = client.models.generate_content(model=endpoint, contents="Which colour does alice like best?")
    assert reply.text
    assert client.models.count_tokens(model=endpoint, contents="a b c").total_tokens == 3


# -- models -----------------------------------------------------------------------------------------------
def test_genai_lists_base_models(emu, client):
    from google.cloud.aiplatform_v1beta1.types import PublisherModel

    names = {model.name for model in client.models.list()}
    assert "publishers/google/models/gemini-2.5-flash" in names
    assert client.models.get(model="gemini-2.5-flash").name == "publishers/google/models/gemini-2.5-flash"
    for raw in _raw(emu, "publishers/google/models")["publisherModels"]:
        PublisherModel.from_json(httpx.Response(200, json=raw).text, ignore_unknown_fields=False)


def test_genai_lists_tuned_models(client, tuned):
    model = tuned["first"].tuned_model.model.split("@")[0]
    assert model in {m.name for m in client.models.list(config={"query_base": False})}


def test_aiplatform_model_list_filters(vertex, tuned):
    model = tuned["first"].tuned_model.model.split("@")[0]
    model_id = model.rsplit("/", 1)[-1]
    assert model in {m.resource_name for m in vertex.Model.list(filter='labels.suite="fidelity"')}
    assert model in {m.resource_name for m in vertex.Model.list(filter='display_name="fidelity-model"')}
    assert [m.resource_name for m in vertex.Model.list(filter=f"model={model_id}")] == [model]
    assert model not in {m.resource_name for m in vertex.Model.list(filter='labels.suite="other" OR model=1')}
    with pytest.raises(exceptions.BadRequest):
        vertex.Model.list(filter='flavour="x"')


def test_list_versions_filter(model_service, tuned):
    name = tuned["first"].tuned_model.model.split("@")[0]
    versions = model_service.list_model_versions(request={"name": name, "filter": 'labels.kind="a" OR model=1'})
    assert sorted(v.version_id for v in versions) == ["1", "2"]
    assert list(model_service.list_model_versions(request={"name": name, "filter": 'labels.kind="zzz"'})) == []


def test_model_update_description_and_labels(emu, vertex, tuned):
    from google.cloud.aiplatform_v1.types import Model

    name = tuned["first"].tuned_model.model.split("@")[0]
    vertex.Model(name).update(description="updated", labels={**SUITE, "owner": "ml"})
    fresh = vertex.Model(name)
    assert fresh.description == "updated"
    assert fresh.labels == {**SUITE, "owner": "ml"}
    Model.from_json(httpx.get(f"{emu.api_url}/v1/{name}").text, ignore_unknown_fields=False)


def test_default_checkpoint_through_update(model_service, tuned):
    from google.cloud.aiplatform_v1.types import Model

    version_one = tuned["first"].tuned_model.model.split("@")[0] + "@1"
    updated = model_service.update_model(model=Model(name=version_one, default_checkpoint_id="1"),
                                         update_mask={"paths": ["default_checkpoint_id"]})
    assert updated.default_checkpoint_id == "1"
    assert model_service.get_model(name=version_one).default_checkpoint_id == "1"
    with pytest.raises(exceptions.BadRequest, match="does not exist"):
        model_service.update_model(model=Model(name=version_one, default_checkpoint_id="9"),
                                   update_mask={"paths": ["default_checkpoint_id"]})
    with pytest.raises(exceptions.BadRequest):  # a model field on a version name: FAILED_PRECONDITION
        model_service.update_model(model=Model(name=version_one, display_name="x"),
                                   update_mask={"paths": ["display_name"]})
    with pytest.raises(exceptions.BadRequest):
        model_service.update_model(model=Model(name=version_one, display_name="x"), update_mask={"paths": []})


def test_default_checkpoint_through_genai_models_update(client, model_service, tuned):
    name = tuned["first"].tuned_model.model.split("@")[0]  # its default version is the continuation, @2
    updated = client.models.update(model=name, config={"default_checkpoint_id": "1", "description": "via genai"})
    assert (updated.default_checkpoint_id, updated.description) == ("1", "via genai")
    assert model_service.get_model(name=f"{name}@2").default_checkpoint_id == "1"
    with pytest.raises(errors.ClientError) as raised:
        client.models.update(model=name, config={"default_checkpoint_id": "7"})
    assert raised.value.code == 400


def test_endpoint_of_a_tuned_model(emu, vertex, tuned):
    from google.cloud.aiplatform_v1.types import Endpoint

    tuned_model = tuned["first"].tuned_model
    endpoint = vertex.Endpoint(tuned_model.endpoint)
    assert endpoint.resource_name == tuned_model.endpoint
    deployed = endpoint.gca_resource.deployed_models[0]
    assert deployed.model == tuned_model.model.split("@")[0]
    assert deployed.model_version_id == "1"
    assert tuned_model.endpoint in {e.resource_name for e in vertex.Endpoint.list()}
    Endpoint.from_json(httpx.get(f"{emu.api_url}/v1/{tuned_model.endpoint}").text, ignore_unknown_fields=False)


def test_delete_version_then_model(vertex, model_service, tuned):
    name = tuned["first"].tuned_model.model.split("@")[0]
    assert tuned["second"].tuned_model.model == f"{name}@2"
    registry = vertex.models.ModelRegistry(name)
    with pytest.raises(exceptions.BadRequest, match="default"):
        registry.delete_version("2")
    registry.delete_version("1")
    assert [v.version_id for v in registry.list_versions()] == ["2"]
    with pytest.raises(exceptions.NotFound):
        model_service.get_model(name=f"{name}@1")
    vertex.Model(name).delete()
    with pytest.raises(exceptions.NotFound):
        vertex.Model(name)
    with pytest.raises(exceptions.NotFound):  # aiplatform reads an Endpoint lazily, on first use
        _ = vertex.Endpoint(tuned["second"].tuned_model.endpoint).gca_resource


# -- the detailed timeline --------------------------------------------------------------------------------
def test_detailed_timeline_reports_queued_sub_states_and_progress(emu, client, dataset):
    from google.cloud.aiplatform_v1beta1.types import TuningJob

    job = client.tunings.tune(base_model="gemini-2.5-flash", training_dataset=types.TuningDataset(gcs_uri=dataset),
                              config=types.CreateTuningJobConfig(epoch_count=2, labels={
                                  "emulator-job-states": "detailed", "emulator-duration-ms": "600"}))
    assert job.state == types.JobState.JOB_STATE_QUEUED  # answered at its create time
    assert job.tuning_job_state == types.TuningJobState.TUNING_JOB_STATE_WAITING_FOR_QUOTA
    ended = wait_ended(client, job.name)
    assert ended.state == types.JobState.JOB_STATE_SUCCEEDED
    assert ended.tuning_job_metadata.completed_epoch_count == 2
    assert ended.tuning_job_metadata.completed_step_count == 2 * 2  # 16 examples, batch 8
    raw = _raw(emu, job.name)
    raw.pop("tuningJobMetadata")  # newer than google-cloud-aiplatform's protos; the rest still parses
    TuningJob.from_json(httpx.Response(200, json=raw).text, ignore_unknown_fields=False)


def test_default_timeline_has_no_queued_state(client, dataset):
    job = client.tunings.tune(base_model="gemini-2.5-flash", training_dataset=types.TuningDataset(gcs_uri=dataset),
                              config=types.CreateTuningJobConfig(labels={"emulator-duration-ms": "300"}))
    assert job.state == types.JobState.JOB_STATE_PENDING
    assert job.tuning_job_state is None and job.tuning_job_metadata is None
