"""Vertex AI tuning jobs through google-genai: names, lists by label, and a create that never runs twice.

No Airflow import; google-genai is imported only inside functions, and clients are passed in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from airflow_tuning.backends.vertex.request import sdk_arguments
from airflow_tuning.common.names import TUNING_JOB_FORM, parse_tuning_job_name
from airflow_tuning.common.retry import RetryPolicy
from airflow_tuning.jobs.identity import JobRecord, ReattachDecision, TaskIdentity, choose_job
from airflow_tuning.jobs.states import is_ended

LIST_PAGE_SIZE = 100


def qualify_job_name(value: str, project: str, location: str) -> str:
    """A full ``projects/P/locations/L/tuningJobs/ID`` name from a full name or a bare job id."""
    text = str(value or "").strip()
    if text and "/" not in text:
        text = f"projects/{project}/locations/{location}/tuningJobs/{text}"
    try:
        return parse_tuning_job_name(text).name
    except ValueError:
        raise ValueError(
            f"tuning_job_name {value!r} is not a tuning job id or name; expected {TUNING_JOB_FORM}"
        ) from None


def labels_filter(labels: Mapping[str, str]) -> str:
    return " AND ".join(f'labels.{key}="{value}"' for key, value in sorted(labels.items()))


def has_labels(job: Any, labels: Mapping[str, str]) -> bool:
    own = getattr(job, "labels", None) or {}
    return all(own.get(key) == value for key, value in labels.items())


def list_jobs(client: Any, filter_text: str) -> list[Any]:
    return list(client.tunings.list(config={"filter": filter_text, "page_size": LIST_PAGE_SIZE}))


def find_reattachable(client: Any, identity: TaskIdentity) -> tuple[Any | None, ReattachDecision]:
    """The earlier job of this task instance to reattach to (or None), and the decision's reason."""
    jobs = {job.name: job for job in list_jobs(client, identity.list_filter())}
    decision = choose_job(identity, (JobRecord.from_job(job) for job in jobs.values()))
    return (jobs[decision.job.name] if decision.job else None), decision


def find_active_with_labels(client: Any, labels: Mapping[str, str]) -> list[Any]:
    """Jobs carrying all ``labels`` that have not ended (checked client-side too)."""
    return [
        job
        for job in list_jobs(client, labels_filter(labels))
        if has_labels(job, labels) and not is_ended(job.state)
    ]


def start_tuning_job(
    client: Any,
    request: Any,
    retry: RetryPolicy | None = None,
    find_existing: Callable[[], Any] | None = None,
    log: logging.Logger | Any = None,
) -> Any:
    """``tunings.tune`` for a ``TuningRequest`` that never creates a second job.

    A create that fails in transit (5xx, 429, a dropped connection) may still have created the job, so the
    SDK's blind retry is switched off for this one call and the shared retry loop drives it instead: before
    each new attempt ``find_existing`` looks for the job by its retry-identity labels, and only when there
    is none is the create sent again.
    """
    from google.genai import types

    arguments = sdk_arguments(request)
    if retry is None:
        return _tune(client, arguments)
    arguments["config"].http_options = types.HttpOptions(retry_options=types.HttpRetryOptions(attempts=1))

    def before_sleep(state: Any) -> None:
        if log is not None:
            err = state.outcome.exception() if state.outcome else None
            log.warning("Creating the tuning job failed (%s); checking whether it was created anyway", err)

    for attempt in retry.retrying(before_sleep=before_sleep):
        with attempt:
            if attempt.retry_state.attempt_number > 1 and find_existing is not None:
                existing = find_existing()
                if existing is not None:
                    if log is not None:
                        log.info("The failed create did create tuning job %s: attaching to it", existing.name)
                    return existing
            return _tune(client, arguments)
    raise AssertionError("unreachable")


def _tune(client: Any, arguments: dict[str, Any]) -> Any:
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tuning implementation is experimental")
        return client.tunings.tune(**arguments)
