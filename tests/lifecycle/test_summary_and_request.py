"""The job summary and verdict on real SDK objects, and request validation before any API call."""

from __future__ import annotations

import json

import pytest
from google.genai import types

from airflow_tuning.backends.vertex.request import sdk_arguments
from airflow_tuning.jobs.request import TuningRequest, normalize_adapter_size
from airflow_tuning.jobs.summary import SUMMARY_KEYS, judge, summarize

NAME = "projects/p/locations/us-central1/tuningJobs/42"
TRAIN = "gs://b/train.jsonl"


def job_from_api(body: dict) -> types.TuningJob:
    """A TuningJob parsed the way ``client.tunings.get`` parses a Vertex AI response."""
    from google.genai.tunings import _TuningJob_from_vertex

    return types.TuningJob._from_response(response=_TuningJob_from_vertex(body, None, None), kwargs={})


def test_summary_of_a_succeeded_job_is_complete_and_json_serialisable():
    job = job_from_api(
        {
            "name": NAME,
            "state": "JOB_STATE_SUCCEEDED",
            "baseModel": "gemini-2.5-flash",
            "createTime": "2025-01-01T00:00:00Z",
            "endTime": "2025-01-01T01:00:00Z",
            "supervisedTuningSpec": {"trainingDatasetUri": TRAIN, "validationDatasetUri": "gs://b/v.jsonl"},
            "tunedModel": {
                "model": "projects/p/locations/us-central1/models/7@1",
                "endpoint": "projects/p/locations/us-central1/endpoints/9",
                "checkpoints": [{"checkpointId": "1", "epoch": "1", "step": "10", "endpoint": "e1"}],
            },
        }
    )
    summary = summarize(job)
    assert tuple(summary) == SUMMARY_KEYS
    assert json.loads(json.dumps(summary)) == summary
    assert summary["state"] == "JOB_STATE_SUCCEEDED"
    assert summary["tuned_model"].endswith("models/7@1")
    assert summary["checkpoints"] == [{"checkpoint_id": "1", "epoch": 1, "step": 10, "endpoint": "e1"}]
    assert summary["console_url"].endswith("/locations/us-central1/tuning/tuningJob/42?project=p")
    assert summary["create_time"].startswith("2025-01-01T00:00:00")
    assert judge(summary).action == "succeed"


def test_failed_job_fails_with_vertex_message_even_with_soft_fail():
    job = job_from_api(
        {"name": NAME, "state": "JOB_STATE_FAILED", "error": {"code": 3, "message": "line 3: bad contents"}}
    )
    verdict = judge(summarize(job), job.error.message, soft_fail=True)
    assert verdict.action == "fail"
    assert "ended FAILED: line 3: bad contents" in verdict.message


@pytest.mark.parametrize("state", ["JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"])
def test_cancelled_and_expired_fail_or_skip_with_soft_fail(state):
    summary = summarize(job_from_api({"name": NAME, "state": state}))
    assert judge(summary).action == "fail"
    assert judge(summary, soft_fail=True).action == "skip"


def test_running_job_is_not_an_end():
    summary = summarize(job_from_api({"name": NAME, "state": "JOB_STATE_RUNNING"}))
    assert judge(summary).action == "fail" and "has not ended" in judge(summary).message


def test_templated_values_are_coerced():
    request = TuningRequest.build(
        base_model="gemini-2.5-flash",
        training_dataset_uri=TRAIN,
        validation_dataset_uri="",
        epoch_count="3",
        learning_rate_multiplier="0.5",
        adapter_size="8",
        export_last_checkpoint_only="true",
    )
    assert (request.epoch_count, request.learning_rate_multiplier) == (3, 0.5)
    assert request.adapter_size == "ADAPTER_SIZE_EIGHT" and request.validation_dataset_uri is None
    assert request.export_last_checkpoint_only is True


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"training_dataset_uri": TRAIN}, "exactly one of base_model"),
        (
            {
                "base_model": "m",
                "pre_tuned_model": "projects/p/locations/l/models/1@2",
                "training_dataset_uri": TRAIN,
            },
            "exactly one of base_model",
        ),
        ({"base_model": "m", "training_dataset_uri": "/local/train.jsonl"}, "not a Cloud Storage object URI"),
        ({"base_model": "m", "training_dataset_uri": TRAIN, "epoch_count": "three"}, "epoch_count must be"),
        ({"base_model": "m", "training_dataset_uri": TRAIN, "epoch_count": 0}, "epoch_count must be"),
        ({"base_model": "m", "training_dataset_uri": TRAIN, "learning_rate_multiplier": -1}, "learning_rate"),
        ({"base_model": "m", "training_dataset_uri": TRAIN, "checkpoint_id": "2"}, "only meaningful"),
        (
            {"pre_tuned_model": "models/5@champion", "training_dataset_uri": TRAIN},
            r"expected projects/\{project\}/locations/\{location\}/models/\{model_id\}@",
        ),
    ],
)
def test_bad_requests_name_the_argument(values, message):
    with pytest.raises(ValueError, match=message):
        TuningRequest.build(**values)


def test_adapter_size_spellings():
    assert normalize_adapter_size(4) == normalize_adapter_size("FOUR") == "ADAPTER_SIZE_FOUR"
    assert normalize_adapter_size("ADAPTER_SIZE_ONE") == "ADAPTER_SIZE_ONE"
    with pytest.raises(ValueError, match="adapter_size 3 is invalid"):
        normalize_adapter_size(3)


def test_continuous_tuning_uses_a_typed_config_that_keeps_the_checkpoint():
    model = "projects/p/locations/us-central1/models/5@champion"
    request = TuningRequest.build(pre_tuned_model=model, checkpoint_id=2, training_dataset_uri=TRAIN)
    arguments = sdk_arguments(request)
    assert arguments["base_model"] == model
    assert isinstance(arguments["config"], types.CreateTuningJobConfig)
    assert arguments["config"].pre_tuned_model_checkpoint_id == "2"


def test_fingerprint_payload_ignores_labels():
    a = TuningRequest.build(base_model="m", training_dataset_uri=TRAIN, labels={"a": "1"})
    b = TuningRequest.build(base_model="m", training_dataset_uri=TRAIN, labels={"b": "2"})
    assert a.fingerprint_payload() == b.fingerprint_payload()
