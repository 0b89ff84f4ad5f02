"""Tuning jobs through google-genai (sync and async) against the emulator, checked with the real protos."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from google.cloud import aiplatform_v1, aiplatform_v1beta1
from google.genai import errors, types

from tests.emulator.helpers import jsonl, upload, wait_ended

LABELS = {"suite": "tuning-jobs"}


def tune(client, uri, **config):
    config.setdefault("labels", LABELS)
    return client.tunings.tune(base_model="gemini-2.5-flash", training_dataset=types.TuningDataset(gcs_uri=uri),
                               config=types.CreateTuningJobConfig(**config))


@pytest.fixture(scope="module")
def train_uri(storage):
    return upload(storage, "tuning-jobs", "train.jsonl", jsonl(range(12)))


def raw(emu, method, path, **kwargs):
    return httpx.request(method, f"{emu.api_url}/{path}", timeout=10, **kwargs)


def test_tune_runs_pending_running_succeeded(emu, client, train_uri):
    job = tune(client, train_uri, tuned_model_display_name="colours", epoch_count=2,
               labels={**LABELS, "emulator-duration-ms": "800"})
    assert job.state == types.JobState.JOB_STATE_PENDING
    seen = {job.state}
    while not job.has_ended:
        time.sleep(0.05)
        job = client.tunings.get(name=job.name)
        seen.add(job.state)
    assert types.JobState.JOB_STATE_RUNNING in seen
    assert job.state == types.JobState.JOB_STATE_SUCCEEDED
    assert job.tuned_model.model.startswith(f"projects/{emu.project}/locations/{emu.location}/models/")
    assert job.tuned_model.model.endswith("@1")
    assert job.tuned_model.endpoint.startswith(f"projects/{emu.project}/locations/{emu.location}/endpoints/")
    assert [c.epoch for c in job.tuned_model.checkpoints] == [1, 2]
    assert job.tuned_model.checkpoints[-1].endpoint == job.tuned_model.endpoint
    stats = job.tuning_data_stats.supervised_tuning_data_stats
    assert stats.tuning_dataset_example_count == 12
    assert stats.total_billable_token_count > 0
    assert job.start_time < job.end_time


def test_every_job_state_parses_strictly_in_both_api_versions(emu, client, storage, train_uri):
    bad_uri = upload(storage, "tuning-jobs", "bad.jsonl", jsonl(range(2)) + '{"contents": []}\n')
    ok = tune(client, train_uri, labels={**LABELS, "emulator-duration-ms": "300"})
    failed = tune(client, bad_uri, labels={**LABELS, "emulator-duration-ms": "300"})
    cancelled = tune(client, train_uri, labels={**LABELS, "emulator-duration-ms": "5000"})
    client.tunings.cancel(name=cancelled.name)
    pending = tune(client, train_uri, labels={**LABELS, "emulator-duration-ms": "60000"})
    for name in (ok.name, failed.name, cancelled.name):
        wait_ended(client, name)
    states = set()
    for job in (ok, failed, cancelled, pending):
        for version, module in (("v1beta1", aiplatform_v1beta1), ("v1", aiplatform_v1)):
            body = raw(emu, "GET", f"{version}/{job.name}").text
            parsed = module.types.TuningJob.from_json(body, ignore_unknown_fields=False)
            states.add(parsed.state.name)
    assert states == {"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_PENDING"}
    listed = raw(emu, "GET", f"v1beta1/projects/{emu.project}/locations/{emu.location}/tuningJobs").text
    assert len(aiplatform_v1beta1.types.ListTuningJobsResponse.from_json(listed).tuning_jobs) >= 4


def test_invalid_dataset_fails_the_job_naming_file_and_line(client, storage):
    lines = jsonl(range(3)).splitlines()
    lines.insert(2, json.dumps({"contents": [{"role": "user", "parts": [{"text": "hi"}]},
                                             {"role": "assistant", "parts": [{"text": "yo"}]}]}))
    uri = upload(storage, "tuning-jobs", "wrong-role.jsonl", "\n".join(lines))
    job = wait_ended(client, tune(client, uri, labels={**LABELS, "emulator-duration-ms": "300"}).name)
    assert job.state == types.JobState.JOB_STATE_FAILED
    assert job.error.code == 3
    assert "gs://tuning-jobs/wrong-role.jsonl" in job.error.message
    assert "line 3" in job.error.message and "assistant" in job.error.message


def test_bad_validation_dataset_fails_the_job(client, storage, train_uri):
    bad = upload(storage, "tuning-jobs", "val.jsonl", jsonl(range(2)) + "{}\n")
    job = tune(client, train_uri, labels={**LABELS, "emulator-duration-ms": "300"},
               validation_dataset=types.TuningValidationDataset(gcs_uri=bad))
    job = wait_ended(client, job.name)
    assert job.state == types.JobState.JOB_STATE_FAILED
    assert "gs://tuning-jobs/val.jsonl: line 3" in job.error.message


def test_missing_training_object_fails_the_job(client):
    job = tune(client, "gs://tuning-jobs/nope.jsonl", labels={**LABELS, "emulator-duration-ms": "300"})
    job = wait_ended(client, job.name)
    assert job.state == types.JobState.JOB_STATE_FAILED
    assert "gs://tuning-jobs/nope.jsonl" in job.error.message


@pytest.mark.parametrize("line, reason", [
    ("not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"messages": []}', '"contents"'),
    ('{"contents": [{"role": "user", "parts": []}, {"role": "model", "parts": [{"text": "a"}]}]}', "parts"),
    ('{"contents": [{"role": "user", "parts": [{"text": "q"}]}]}', "last turn"),
])
def test_each_kind_of_bad_line_is_reported(client, storage, line, reason):
    uri = upload(storage, "tuning-jobs", f"bad-{abs(hash(line))}.jsonl", jsonl(range(1)) + line + "\n")
    job = wait_ended(client, tune(client, uri, labels={**LABELS, "emulator-duration-ms": "200"}).name)
    assert job.state == types.JobState.JOB_STATE_FAILED
    assert "line 2" in job.error.message and reason in job.error.message


def test_list_filters_by_labels_and_state_and_pages(client, train_uri):
    names = {tune(client, train_uri, labels={"suite": "listing", "batch": "b1",
                                              "emulator-duration-ms": "60000"}).name for _ in range(5)}
    tune(client, train_uri, labels={"suite": "listing", "batch": "b2"})
    pager = client.tunings.list(config={"page_size": 2, "filter": 'labels.suite="listing" AND labels.batch="b1"'})
    assert len(pager.page) == 2
    assert {job.name for job in pager} == names
    running = client.tunings.list(config={"filter": 'labels.batch="b1" AND state="JOB_STATE_PENDING"'})
    assert {job.name for job in running} == names
    none = client.tunings.list(config={"filter": 'labels.batch="b1" AND state="JOB_STATE_SUCCEEDED"'})
    assert list(none) == []


def test_cancel_goes_through_cancelling_to_cancelled(client, train_uri):
    job = tune(client, train_uri, labels={**LABELS, "emulator-duration-ms": "3000"})
    client.tunings.cancel(name=job.name)
    assert client.tunings.get(name=job.name).state == types.JobState.JOB_STATE_CANCELLING
    job = wait_ended(client, job.name)
    assert job.state == types.JobState.JOB_STATE_CANCELLED
    assert job.tuned_model is None
    with pytest.raises(errors.ClientError) as err:
        client.tunings.cancel(name=job.name)
    assert err.value.code == 400 and err.value.status == "FAILED_PRECONDITION"


def test_unknown_job_is_404(emu, client):
    with pytest.raises(errors.ClientError) as err:
        client.tunings.get(name=f"projects/{emu.project}/locations/{emu.location}/tuningJobs/123")
    assert err.value.code == 404 and err.value.status == "NOT_FOUND"


@pytest.mark.parametrize("body, words", [
    ({"baseModel": "gemini-9-ultra"}, "not supported"),
    ({"hyperParameters": {"epochCount": 0}}, "epochCount"),
    ({"hyperParameters": {"learningRateMultiplier": 0}}, "learningRateMultiplier"),
    ({"hyperParameters": {"adapterSize": "ADAPTER_SIZE_HUGE"}}, "adapterSize"),
    ({"surprise": 1}, "Unknown name"),
    ({"labels": {"Bad Key": "x"}}, "Label"),
])
def test_bad_create_requests_are_400(emu, train_uri, body, words):
    request = {"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": {"trainingDatasetUri": train_uri}}
    hyper = body.pop("hyperParameters", None)
    request.update(body)
    if hyper:
        request["supervisedTuningSpec"]["hyperParameters"] = hyper
    response = raw(emu, "POST", f"v1beta1/projects/{emu.project}/locations/{emu.location}/tuningJobs", json=request)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and words in error["message"]


def test_malformed_body_is_400(emu):
    response = raw(emu, "POST", f"v1/projects/{emu.project}/locations/{emu.location}/tuningJobs", content=b"{oops")
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_unknown_base_model_through_the_sdk(client, train_uri):
    with pytest.raises(errors.ClientError) as err:
        client.tunings.tune(base_model="gemini-0-nano", training_dataset=types.TuningDataset(gcs_uri=train_uri))
    assert err.value.code == 400


async def test_async_client_tunes_lists_and_cancels(client, train_uri):
    aio = client.aio
    job = await aio.tunings.tune(base_model="gemini-2.5-flash-lite",
                                 training_dataset=types.TuningDataset(gcs_uri=train_uri),
                                 config=types.CreateTuningJobConfig(labels={"suite": "aio",
                                                                            "emulator-duration-ms": "4000"}))
    fetched = await aio.tunings.get(name=job.name)
    assert fetched.name == job.name and not fetched.has_ended
    listed = [j.name async for j in await aio.tunings.list(config={"filter": 'labels.suite="aio"'})]
    assert listed == [job.name]
    await aio.tunings.cancel(name=job.name)
    from tests.emulator.helpers import await_ended

    assert (await await_ended(client, job.name)).state == types.JobState.JOB_STATE_CANCELLED


def test_admin_jobs_filters_by_labels(emu, client, train_uri):
    job = tune(client, train_uri, labels={"suite": "admin-jobs", "owner": "me"})
    assert [j["name"] for j in emu.jobs(labels={"suite": "admin-jobs", "owner": "me"})] == [job.name]
    assert emu.jobs(labels={"suite": "admin-jobs", "owner": "you"}) == []


def test_snake_case_request_bodies_are_accepted(emu, train_uri):
    body = {"base_model": "publishers/google/models/gemini-2.0-flash-001",
            "supervised_tuning_spec": {"training_dataset_uri": train_uri,
                                       "hyper_parameters": {"epoch_count": 2, "adapter_size": "ADAPTER_SIZE_ONE"}},
            "tuned_model_display_name": "snake", "labels": {"snake_key": "v"}}
    response = raw(emu, "POST", f"v1/projects/{emu.project}/locations/{emu.location}/tuningJobs", json=body)
    assert response.status_code == 200, response.text
    job = aiplatform_v1.types.TuningJob.from_json(response.text, ignore_unknown_fields=False)
    assert job.supervised_tuning_spec.hyper_parameters.epoch_count == 2
    assert job.tuned_model_display_name == "snake" and job.labels["snake_key"] == "v"
    assert '"epochCount":"2"' in response.text  # int64 on the wire as a string


@pytest.mark.parametrize(("body", "words"), [
    ({"preferenceOptimizationSpec": {"trainingDatasetUri": "TRAIN", "surprise": 1}},
     "Unknown name \"preferenceOptimizationSpec.surprise\""),
    ({"preferenceOptimizationSpec": {"trainingDatasetUri": "TRAIN", "hyperParameters": {"sftLossWeightMultiplier": 1}}},
     "preferenceOptimizationSpec.hyperParameters.sftLossWeightMultiplier"),
    ({"preferenceOptimizationSpec": {"trainingDatasetUri": "TRAIN", "hyperParameters": {"beta": "high"}}}, "beta"),
    ({"distillationSpec": {"promptDatasetUri": "TRAIN"}}, "baseTeacherModel or tunedTeacherModelSource"),
    ({"distillationSpec": {"promptDatasetUri": "TRAIN", "baseTeacherModel": "llama"}}, "baseTeacherModel"),
    ({"supervisedTuningSpec": {"trainingDatasetUri": "TRAIN"},
      "preferenceOptimizationSpec": {"trainingDatasetUri": "TRAIN"}}, "Exactly one of"),
])
def test_method_specs_are_checked_as_strictly_as_the_supervised_one(emu, train_uri, body, words):
    request = {"baseModel": "gemini-2.5-flash", **json.loads(json.dumps(body).replace("TRAIN", train_uri))}
    response = raw(emu, "POST", f"v1beta1/projects/{emu.project}/locations/{emu.location}/tuningJobs", json=request)
    assert response.status_code == 400
    assert words in response.json()["error"]["message"]
