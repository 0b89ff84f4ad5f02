"""Who started a tuning job, written on the job itself, so that a retry never pays for a second one.

XCom is cleared before a retry and a worker can die between "job submitted" and "job id saved", so the only
record that survives every failure is the job. Each job this provider submits carries two labels:

- ``airflow_task_key``: a hash of ``dag_id|task_id|run_id|map_index``. The try number is deliberately not
  part of it: every try of one task instance has the same key.
- ``airflow_request``: a hash of the canonical request (model, checkpoint, datasets, hyperparameters, ...).

Before submitting, the operator lists jobs carrying its task key. A job with the same request that is still
active or has succeeded is reattached; a job that failed, was cancelled or expired (or was for a different
request, e.g. after a DAG edit) is left alone and a new one is submitted.

Label keys use underscores, not hyphens, so that they can be named bare in a list filter
(``labels.airflow_task_key="..."``) where a hyphen could be read as an operator.

Pure Python, no Airflow or Google import.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_tuning.common.names import LABEL_KEY_RE, LABEL_VALUE_RE
from airflow_tuning.jobs.states import RESUBMITTABLE_STATES, state_name

TASK_KEY_LABEL = "airflow_task_key"
REQUEST_LABEL = "airflow_request"
DAG_LABEL = "airflow_dag"
TASK_LABEL = "airflow_task"
RESERVED_LABELS = frozenset({TASK_KEY_LABEL, REQUEST_LABEL, DAG_LABEL, TASK_LABEL})

HASH_LENGTH = 40
MAX_LABELS = 64
MAX_LABEL_LENGTH = 63
_KEY_RE = LABEL_KEY_RE
_VALUE_RE = LABEL_VALUE_RE


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def task_key(dag_id: str, task_id: str, run_id: str, map_index: int | None) -> str:
    """Identity of one task instance across all its tries."""
    index = -1 if map_index is None else int(map_index)
    return _digest(f"{dag_id}|{task_id}|{run_id}|{index}")


def canonical_json(value: Any) -> str:
    """Stable JSON: sorted keys, no whitespace, so equal requests hash equally on any machine."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def request_fingerprint(request: Mapping[str, Any]) -> str:
    """Hash of a canonical request; ``None`` values are dropped so that "unset" and "absent" agree."""
    return _digest(canonical_json({k: v for k, v in request.items() if v is not None}))


def sanitize_label_value(value: str) -> str:
    """Fold any text into a valid label value: lowercase, ``[a-z0-9_-]``, at most 63 characters."""
    folded = re.sub(r"[^a-z0-9_-]+", "-", str(value).lower()).strip("-")
    if len(folded) > MAX_LABEL_LENGTH:
        folded = f"{folded[: MAX_LABEL_LENGTH - 9]}-{_digest(str(value))[:8]}"
    return folded


def validate_labels(labels: Mapping[str, Any] | None, *, what: str = "labels") -> dict[str, str]:
    """User labels checked against Vertex AI's rules, with a message naming the offending label.

    Keys start with a lowercase letter; keys and values use lowercase letters, digits, ``_`` and ``-``
    and are at most 63 characters. The provider's own keys are reserved.
    """
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        raise ValueError(f"{what} must be a mapping of label key to value, got {type(labels).__name__}")
    result: dict[str, str] = {}
    for key, value in labels.items():
        key_s = str(key)
        value_s = "" if value is None else str(value)
        if not _KEY_RE.match(key_s):
            raise ValueError(
                f"{what}: label key {key_s!r} is invalid; keys start with a lowercase letter and use only "
                "lowercase letters, digits, '_' and '-' (at most 63 characters)"
            )
        if not _VALUE_RE.match(value_s):
            raise ValueError(
                f"{what}: value {value_s!r} of label {key_s!r} is invalid; values use only lowercase "
                "letters, digits, '_' and '-' (at most 63 characters)"
            )
        if key_s in RESERVED_LABELS:
            raise ValueError(f"{what}: label key {key_s!r} is reserved for retry identity")
        result[key_s] = value_s
    return result


@dataclass(frozen=True)
class TaskIdentity:
    """The retry identity of one task instance for one request."""

    dag_id: str
    task_id: str
    run_id: str
    map_index: int
    fingerprint: str

    @property
    def key(self) -> str:
        return task_key(self.dag_id, self.task_id, self.run_id, self.map_index)

    def labels(self) -> dict[str, str]:
        return {
            TASK_KEY_LABEL: self.key,
            REQUEST_LABEL: self.fingerprint,
            DAG_LABEL: sanitize_label_value(self.dag_id),
            TASK_LABEL: sanitize_label_value(self.task_id),
        }

    def list_filter(self) -> str:
        """Server-side filter for ``tunings.list``; callers still check labels client-side."""
        return f'labels.{TASK_KEY_LABEL}="{self.key}"'

    def merged_labels(self, user_labels: Mapping[str, str]) -> dict[str, str]:
        merged = {**user_labels, **self.labels()}
        if len(merged) > MAX_LABELS:
            raise ValueError(
                f"labels: {len(user_labels)} user labels plus {len(self.labels())} identity labels exceed "
                f"Vertex AI's limit of {MAX_LABELS}"
            )
        return merged


@dataclass(frozen=True)
class JobRecord:
    """The few fields of a listed job that the reattach decision needs."""

    name: str
    state: str
    labels: Mapping[str, str]
    create_time: str = ""

    @classmethod
    def from_job(cls, job: Any) -> JobRecord:
        created: Any = getattr(job, "create_time", None)
        return cls(
            name=str(getattr(job, "name", "")),
            state=state_name(getattr(job, "state", None)),
            labels=dict(getattr(job, "labels", None) or {}),
            create_time=created.isoformat() if hasattr(created, "isoformat") else str(created or ""),
        )


@dataclass(frozen=True)
class ReattachDecision:
    """``job`` is the job to reattach to, or None to submit; ``reason`` says why, for the log."""

    job: JobRecord | None
    reason: str


def choose_job(identity: TaskIdentity, candidates: Iterable[JobRecord]) -> ReattachDecision:
    """Pick the job a new try should reattach to, or decide to submit.

    Only jobs whose labels carry this task key count (a server that ignores the filter cannot cause a
    wrong reattach). Among jobs for the same request that are active or succeeded, the newest wins.
    """
    mine = [job for job in candidates if job.labels.get(TASK_KEY_LABEL) == identity.key]
    if not mine:
        return ReattachDecision(None, "no earlier job carries this task's retry label")
    mine.sort(key=lambda job: job.create_time, reverse=True)
    usable = [
        job
        for job in mine
        if job.labels.get(REQUEST_LABEL) == identity.fingerprint and job.state not in RESUBMITTABLE_STATES
    ]
    if usable:
        job = usable[0]
        return ReattachDecision(job, f"reattaching to {job.name} ({job.state.removeprefix('JOB_STATE_')})")
    latest = mine[0]
    if latest.labels.get(REQUEST_LABEL) != identity.fingerprint:
        return ReattachDecision(
            None, f"earlier job {latest.name} was submitted for a different request; submitting a new one"
        )
    return ReattachDecision(
        None,
        f"earlier job {latest.name} ended {latest.state.removeprefix('JOB_STATE_')}; submitting a new one",
    )
