"""The service and the poll policy are chosen once, where a task is defined, and old import paths still work."""

from __future__ import annotations

import json

import pytest

from airflow_tuning.backends import tuning_service
from airflow_tuning.backends.gemini_api.service import GeminiApiTuningService
from airflow_tuning.backends.vertex.service import VertexTuningService
from airflow_tuning.jobs.method import SUPERVISED, TuningMethod
from airflow_tuning.jobs.polling import PollPolicy
from airflow_tuning.jobs.request import TuningRequest

BASE = {"task_id": "t", "base_model": "gemini-2.5-flash", "training_dataset_uri": "gs://b/train.jsonl"}


def test_backend_names_and_objects_choose_one_service():
    from airflow_tuning.operators.tuning import CreateTuningJobOperator

    assert isinstance(tuning_service("vertex"), VertexTuningService)
    assert tuning_service(None) == tuning_service("vertex")
    op = CreateTuningJobOperator(**BASE, backend=GeminiApiTuningService())
    assert isinstance(op.service, GeminiApiTuningService) and op.backend == "gemini_api"
    with pytest.raises(ValueError, match="backend must be one of 'vertex', 'gemini_api'"):
        tuning_service("openai")


def test_poll_policy_in_one_argument_or_the_old_keywords():
    from airflow_tuning.operators.tuning import CancelTuningJobOperator, CreateTuningJobOperator
    from airflow_tuning.sensors.tuning import TuningJobSensor

    as_mapping = CreateTuningJobOperator(**BASE, poll={"poll_interval": 3, "max_transient_errors": 7})
    assert as_mapping.policy.poll_interval == 3 and as_mapping.policy.max_transient_errors == 7
    policy = PollPolicy(poll_interval=2, max_poll_interval=4, poll_multiplier=1.0, poll_jitter=0.0)
    assert CancelTuningJobOperator(task_id="c", labels={"a": "b"}, poll=policy).policy == policy
    keywords = CreateTuningJobOperator(**BASE, poll={"poll_interval": 3}, poll_interval=5, max_poll_interval=9)
    assert (keywords.policy.poll_interval, keywords.policy.max_poll_interval) == (5, 9)  # the keyword wins
    sensor = TuningJobSensor(task_id="s", tuning_job_name="x", poll=policy, deferrable=False)
    assert sensor.policy == policy and sensor.poke_interval == 2
    with pytest.raises(ValueError, match="unknown poll setting"):
        CreateTuningJobOperator(**BASE, poll={"poll_intervall": 3})


def test_poll_keywords_work_from_default_args_and_partial():
    from airflow.sdk import DAG

    from airflow_tuning.operators.tuning import CreateTuningJobOperator

    with DAG("poll_defaults", schedule=None, default_args={"poll_interval": 4, "max_transient_errors": 1}):
        op = CreateTuningJobOperator(**BASE)
        CreateTuningJobOperator.partial(task_id="mapped", base_model="gemini-2.5-flash", poll_interval=6).expand(
            training_dataset_uri=["gs://b/1.jsonl", "gs://b/2.jsonl"]
        )
    assert op.policy.poll_interval == 4 and op.policy.max_transient_errors == 1


def test_trigger_takes_a_policy_and_serializes_plain_settings():
    from airflow_tuning.triggers.tuning import TuningJobTrigger

    policy = PollPolicy(poll_interval=1, max_poll_interval=2)
    trigger = TuningJobTrigger("projects/p/locations/l/tuningJobs/1", poll=policy, backend=GeminiApiTuningService())
    classpath, kwargs = trigger.serialize()
    assert kwargs["poll_interval"] == 1 and kwargs["max_poll_interval"] == 2 and kwargs["backend"] == "gemini_api"
    again = TuningJobTrigger(**json.loads(json.dumps(kwargs)))
    assert again.policy == policy and isinstance(again.service, GeminiApiTuningService)
    assert again.serialize() == (classpath, kwargs)


def test_the_request_carries_a_method_and_supervised_hashes_as_before():
    request = TuningRequest.build(**{k: v for k, v in BASE.items() if k != "task_id"})
    assert request.method is SUPERVISED and TuningMethod.parse("SUPERVISED_FINE_TUNING") is SUPERVISED
    assert request.fingerprint_payload()["method"] is None  # jobs submitted before methods existed reattach
    with pytest.raises(ValueError, match="method 'dpo' is not a tuning method"):
        TuningRequest.build(**{k: v for k, v in BASE.items() if k != "task_id"}, method="dpo")


def test_old_module_paths_still_import():
    import airflow_tuning.job_states
    from airflow_tuning.gemini_api_jobs import ProgressLog, job_from_api  # noqa: F401
    from airflow_tuning.hooks.gemini_api import GeminiApiClient, build_gemini_api_client  # noqa: F401
    from airflow_tuning.job_watch import start_tuning_job, wait_sync  # noqa: F401
    from airflow_tuning.polling import PollPolicy as OldPollPolicy
    from airflow_tuning.retry_policy import RetryPolicy  # noqa: F401
    from airflow_tuning.tuning_request import TuningRequest as OldRequest

    import airflow_tuning.jobs.states

    assert airflow_tuning.job_states is airflow_tuning.jobs.states
    assert OldPollPolicy is PollPolicy and OldRequest is TuningRequest
