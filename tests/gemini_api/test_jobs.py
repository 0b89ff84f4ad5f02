"""A Developer-API operation and tuned model read as a tuning job: states, errors, the summary."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from airflow_tuning.backends.gemini_api.jobs import (
    job_from_api,
    parse_time,
    qualify_name,
    summarize_api,
    tuned_model_of,
)
from airflow_tuning.jobs import states as job_states
from airflow_tuning.jobs.summary import SUMMARY_KEYS, judge

MODEL = "tunedModels/number-generator-model-abc123"
OPERATION = f"{MODEL}/operations/op42"
META = {"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.CreateTunedModelMetadata",
        "totalSteps": 38, "tunedModel": MODEL}


def tuned(state: str, **extra):
    return {"name": MODEL, "baseModel": "models/gemini-1.5-flash-001-tuning", "state": state,
            "createTime": "2025-01-02T03:04:05.123456789Z", "updateTime": "2025-01-02T03:09:05Z", **extra}


@pytest.mark.parametrize(
    ("state", "expected"),
    [("CREATING", job_states.RUNNING), ("ACTIVE", job_states.SUCCEEDED), ("FAILED", job_states.FAILED),
     ("STATE_UNSPECIFIED", job_states.PENDING)],
)
def test_tuned_model_states_map_onto_the_one_ended_state_rule(state, expected):
    job = job_from_api(tuned_model=tuned(state))
    assert job.state == expected
    assert job.has_ended == job_states.is_ended(expected)
    assert job.name == MODEL


def test_a_running_operation_reports_progress():
    job = job_from_api({"name": OPERATION, "metadata": {**META, "completedSteps": 16, "completedPercent": 42.1}})
    assert (job.name, job.tuned_model_name, job.state) == (OPERATION, MODEL, job_states.RUNNING)
    assert job.progress() == "42.1% (16/38 steps)"
    assert job.tuned_model == {"model": MODEL, "endpoint": None, "checkpoints": []}


def test_a_failed_operation_carries_the_apis_message_to_the_verdict():
    operation = {"name": OPERATION, "metadata": META, "done": True,
                 "error": {"code": 3, "message": "Training example 3: output is too long."}}
    job = job_from_api(operation, tuned("FAILED"))
    summary = summarize_api(operation, tuned("FAILED"))
    assert job.state == summary["state"] == job_states.FAILED
    verdict = judge(summary, job.error["message"])
    assert verdict.action == "fail"
    assert "Training example 3: output is too long." in verdict.message
    # Without the tuned model (deleted after the failure) the operation alone still says FAILED.
    assert job_from_api(operation).state == job_states.FAILED


def test_a_done_operation_with_the_model_is_a_success_summary():
    operation = {"name": OPERATION, "metadata": {**META, "completedPercent": 100}, "done": True,
                 "response": tuned("ACTIVE", tuningTask={"completeTime": "2025-01-02T03:09:00Z"})}
    summary = summarize_api(operation)
    assert tuple(summary) == SUMMARY_KEYS
    assert summary["tuning_job"] == OPERATION
    assert summary["state"] == job_states.SUCCEEDED
    assert summary["tuned_model"] == summary["endpoint"] == MODEL
    assert summary["base_model"] == "models/gemini-1.5-flash-001-tuning"
    assert summary["create_time"] == "2025-01-02T03:04:05.123456+00:00"
    assert summary["end_time"] == "2025-01-02T03:09:00+00:00"
    assert summary["console_url"] is None and summary["training_dataset_uri"] is None
    assert judge(summary).action == "succeed"


def test_names():
    assert tuned_model_of(OPERATION) == tuned_model_of(MODEL) == MODEL
    assert tuned_model_of("number-generator-model-abc123") == MODEL
    assert qualify_name("abc") == "tunedModels/abc"
    assert qualify_name(OPERATION) == OPERATION
    with pytest.raises(ValueError, match="expected tunedModels/"):
        tuned_model_of("projects/p/locations/l/tuningJobs/1")
    assert parse_time("2025-01-02T03:04:05Z") == datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert parse_time("garbage") is None


def test_tuned_model_ids_encode_task_instance_and_request():
    import re

    from airflow_tuning.backends.gemini_api.jobs import belongs_to, tuned_model_id_prefix, tuned_model_ids

    prefix = tuned_model_id_prefix("Tune_Number-Sequence.v2", "key1", "fp1")
    ids = tuned_model_ids(prefix)
    assert ids[0] == f"{prefix}-1" and len(ids) == len(set(ids)) == 20
    assert all(re.fullmatch(r"[a-z]([a-z0-9-]{0,38}[a-z0-9])?", i) for i in ids)
    assert tuned_model_id_prefix("Tune_Number-Sequence.v2", "key1", "fp1") == prefix
    assert tuned_model_id_prefix("Tune_Number-Sequence.v2", "key1", "fp2") != prefix
    assert tuned_model_id_prefix("9lives", "k", "f")[0] == "t"
    job = job_from_api(tuned_model=tuned("CREATING", name=f"tunedModels/{ids[3]}"))
    assert belongs_to(job, prefix)
    assert not belongs_to(job, tuned_model_id_prefix("other", "key1", "fp1"))


async def test_progress_is_logged_when_it_changes_sync_or_async():
    from airflow_tuning.jobs.progress import ProgressLog

    def job(percent):
        return job_from_api({"name": OPERATION, "metadata": {**META, "completedPercent": percent}})

    class Log:
        lines: list[str] = []

        def info(self, message, *args):
            self.lines.append(message % args)

    class Tunings:
        def __init__(self, percents, is_async=False):
            self.percents, self.is_async = iter(percents), is_async

        def get(self, *, name):
            found = job(next(self.percents))
            if not self.is_async:
                return found

            async def later():
                return found

            return later()

    log = Log()
    wrapped = ProgressLog(type("Client", (), {"tunings": Tunings([10.0, 10.0, 55.5])})(), log)
    assert [wrapped.tunings.get(name=OPERATION).completed_percent for _ in range(3)] == [10.0, 10.0, 55.5]
    awaited = ProgressLog(type("Client", (), {"tunings": Tunings([70.0], is_async=True)})(), log)
    assert (await awaited.tunings.get(name=OPERATION)).completed_percent == 70.0
    assert log.lines == [f"Tuning {OPERATION}: {p}% (0/38 steps) complete" for p in ("10.0", "55.5", "70.0")]
