"""Retry identity: stable keys, valid labels, and the reattach decision for every earlier-job state."""

from __future__ import annotations

import re

import pytest

from airflow_tuning.jobs.identity import (
    REQUEST_LABEL,
    TASK_KEY_LABEL,
    JobRecord,
    TaskIdentity,
    choose_job,
    request_fingerprint,
    sanitize_label_value,
    task_key,
    validate_labels,
)

LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")


def identity(fingerprint: str = "f" * 40, map_index: int = -1) -> TaskIdentity:
    return TaskIdentity("My.DAG", "tune_model", "manual__2025-01-01T00:00:00+00:00", map_index, fingerprint)


def record(
    name: str, state: str, ident: TaskIdentity, fingerprint: str | None = None, created: str = ""
) -> JobRecord:
    labels = {TASK_KEY_LABEL: ident.key, REQUEST_LABEL: fingerprint or ident.fingerprint}
    return JobRecord(name, state, labels, created)


def test_task_key_ignores_try_number_but_not_map_index_or_run():
    assert task_key("d", "t", "r", -1) == task_key("d", "t", "r", None)
    assert task_key("d", "t", "r", 0) != task_key("d", "t", "r", 1)
    assert task_key("d", "t", "r1", 0) != task_key("d", "t", "r2", 0)
    assert len(task_key("d", "t", "r", 0)) == 40


def test_fingerprint_is_order_independent_and_ignores_unset_values():
    a = request_fingerprint({"base_model": "m", "epoch_count": 3, "validation_dataset_uri": None})
    b = request_fingerprint({"epoch_count": 3, "base_model": "m"})
    assert a == b
    assert a != request_fingerprint({"epoch_count": 4, "base_model": "m"})


def test_identity_labels_follow_vertex_label_rules():
    labels = identity().labels()
    assert set(labels) == {"airflow_task_key", "airflow_request", "airflow_dag", "airflow_task"}
    assert all(LABEL_VALUE.match(value) for value in labels.values())
    assert labels["airflow_dag"] == "my-dag"
    assert validate_labels({**{"team": "ml"}}) == {"team": "ml"}


def test_long_values_are_folded_and_stay_distinct():
    a = sanitize_label_value("X" * 100 + "a")
    b = sanitize_label_value("X" * 100 + "b")
    assert len(a) <= 63 and LABEL_VALUE.match(a) and a != b


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({"Team": "x"}, "label key 'Team' is invalid"),
        ({"team": "Has Space"}, "value 'Has Space' of label 'team' is invalid"),
        ({"airflow_task_key": "x"}, "reserved"),
        ({"k" * 64: "x"}, "is invalid"),
    ],
)
def test_invalid_user_labels_are_named(labels, message):
    with pytest.raises(ValueError, match=message):
        validate_labels(labels)


def test_no_earlier_job_means_submit():
    decision = choose_job(identity(), [])
    assert decision.job is None and "no earlier job" in decision.reason


def test_jobs_of_other_tasks_are_never_reattached_even_if_listed():
    other = TaskIdentity("d", "other", "r", -1, "f" * 40)
    decision = choose_job(identity(), [record("jobs/1", "JOB_STATE_RUNNING", other)])
    assert decision.job is None


@pytest.mark.parametrize(
    "state", ["JOB_STATE_PENDING", "JOB_STATE_QUEUED", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"]
)
def test_active_or_succeeded_job_of_same_request_is_reattached(state):
    ident = identity()
    decision = choose_job(ident, [record("jobs/1", state, ident)])
    assert decision.job is not None and decision.job.name == "jobs/1"


@pytest.mark.parametrize("state", ["JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"])
def test_failed_cancelled_or_expired_job_is_resubmitted(state):
    ident = identity()
    decision = choose_job(ident, [record("jobs/1", state, ident)])
    assert decision.job is None and "submitting a new one" in decision.reason


def test_changed_request_is_resubmitted():
    ident = identity()
    decision = choose_job(ident, [record("jobs/1", "JOB_STATE_RUNNING", ident, fingerprint="0" * 40)])
    assert decision.job is None and "different request" in decision.reason


def test_newest_usable_job_wins_over_an_older_failed_one():
    ident = identity()
    jobs = [
        record("jobs/old", "JOB_STATE_FAILED", ident, created="2025-01-01T00:00:00"),
        record("jobs/new", "JOB_STATE_RUNNING", ident, created="2025-01-01T01:00:00"),
    ]
    assert choose_job(ident, jobs).job.name == "jobs/new"
