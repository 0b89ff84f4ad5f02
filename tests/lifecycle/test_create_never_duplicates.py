"""A create whose answer is lost (the job WAS created) must not be sent again blindly: exactly one job."""

from __future__ import annotations

import pytest

from airflow_tuning.backends.vertex.jobs import find_reattachable, start_tuning_job
from airflow_tuning.common.retry import RetryPolicy
from airflow_tuning.jobs.identity import TaskIdentity
from airflow_tuning.jobs.request import TuningRequest

CREATE = r"POST /v1beta1/projects/[^/]+/locations/[^/]+/tuningJobs$"
POLICY = RetryPolicy(attempts=4, initial_delay=0.05, max_delay=0.1, jitter=0.01)


@pytest.mark.parametrize("fault", [{"status": 503}, {"drop": True}], ids=["503-after-create", "dropped-answer"])
def test_lost_create_answer_reattaches_instead_of_creating_again(client, datasets, emulator, test_id, fault):
    identity = TaskIdentity("dag", "task", f"run-{test_id}", -1, "f" * 40)
    request = TuningRequest.build(
        base_model="gemini-2.5-flash", training_dataset_uri=datasets["train"], labels={"test": test_id}
    )
    request = request.with_labels(identity.merged_labels(request.labels))
    emulator.set_faults([{"route": CREATE, "count": 1, "after": True, **fault}], seed=1)
    try:
        job = start_tuning_job(
            client, request, retry=POLICY, find_existing=lambda: find_reattachable(client, identity)[0]
        )
    finally:
        emulator.clear_faults()
    jobs = emulator.jobs(labels={"test": test_id})
    assert [j["name"] for j in jobs] == [job.name]


def test_without_a_usable_job_the_create_is_retried(client, datasets, emulator, test_id):
    """A 503 *before* the create took effect: nothing to attach to, so the create is sent again."""
    identity = TaskIdentity("dag", "task", f"run-{test_id}", -1, "e" * 40)
    request = TuningRequest.build(
        base_model="gemini-2.5-flash", training_dataset_uri=datasets["train"], labels={"test": test_id}
    )
    request = request.with_labels(identity.merged_labels(request.labels))
    emulator.set_faults([{"route": CREATE, "count": 2, "status": 503}], seed=1)
    try:
        job = start_tuning_job(
            client, request, retry=POLICY, find_existing=lambda: find_reattachable(client, identity)[0]
        )
    finally:
        emulator.clear_faults()
    assert [j["name"] for j in emulator.jobs(labels={"test": test_id})] == [job.name]


def test_a_bad_request_is_not_retried(client, datasets, emulator, test_id):
    from google.genai import errors

    request = TuningRequest.build(base_model="gemini-9-unknown", training_dataset_uri=datasets["train"],
                                  labels={"test": test_id})
    before = emulator.stats()["requests"].get("POST /v1beta1/projects/{p}/locations/{l}/tuningJobs", 0)
    with pytest.raises(errors.ClientError):
        start_tuning_job(client, request, retry=POLICY, find_existing=lambda: None)
    after = emulator.stats()["requests"].get("POST /v1beta1/projects/{p}/locations/{l}/tuningJobs", 0)
    assert after - before == 1
