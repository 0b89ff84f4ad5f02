"""A Gemini Developer API tuning run seen as a tuning job, so one set of rules serves both backends.

The Developer API has no tuning-job resource: ``tunedModels.create`` answers with a long-running operation
(``tunedModels/{id}/operations/{op}``, with ``metadata.completedPercent``), and the tuned model itself goes
CREATING -> ACTIVE (or FAILED). :class:`GeminiApiTuningJob` reads those two JSON objects into the attributes
the Vertex path reads from a ``google.genai.types.TuningJob`` (``name``, ``state``, ``tuned_model``,
``error``, ``create_time``, ...), with the states mapped onto ``JOB_STATE_*``. The ended-state rule
(:mod:`airflow_tuning.jobs.states`), the summary and the verdict (:mod:`airflow_tuning.jobs.summary`) and the
wait loop then apply unchanged.

Pure Python: no Airflow, no Google import.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow_tuning.common.names import SEGMENT, check_path
from airflow_tuning.jobs import states as job_states
from airflow_tuning.jobs.summary import summarize

#: Tuned-model state -> the job state the one ended-state rule understands.
STATES = {
    "STATE_UNSPECIFIED": job_states.PENDING,
    "CREATING": job_states.RUNNING,
    "ACTIVE": job_states.SUCCEEDED,
    "FAILED": job_states.FAILED,
}
TUNED_MODEL_RE = re.compile(rf"^tunedModels/{SEGMENT}\Z")
OPERATION_RE = re.compile(rf"^(?P<model>tunedModels/{SEGMENT})/operations/{SEGMENT}\Z")
NAME_FORMS = "tunedModels/{id} or tunedModels/{id}/operations/{operation}"
RPC_CANCELLED = 1  # google.rpc.Code of an operation stopped by operations.cancel
_TIME_RE = re.compile(r"^(?P<base>[^.Z+]+)(?:\.(?P<frac>\d+))?(?P<zone>Z|[+-]\d\d:\d\d)?$")


def is_operation_name(name: str) -> bool:
    return bool(OPERATION_RE.match(name or ""))


def tuned_model_of(name: str) -> str:
    """``tunedModels/x`` from a tuned model or operation name (bare ids are completed)."""
    text = str(name or "").strip()
    if text and "/" not in text:
        text = f"tunedModels/{text}"
    match = OPERATION_RE.match(text)
    if match:
        return match["model"]
    if TUNED_MODEL_RE.match(text):
        return text
    raise ValueError(f"{name!r} is not a Gemini API tuned model or operation name; expected {NAME_FORMS}")


def qualify_name(name: str) -> str:
    """A tuned model or operation name, checked; a bare id becomes ``tunedModels/{id}``."""
    text = str(name or "").strip()
    tuned_model_of(text)
    return text if "/" in text else f"tunedModels/{text}"


def serving_name(value: str) -> tuple[str, str]:
    """What ``generateContent`` is called on for a Developer-API model reference, and what kind it is:
    a tuned model (its name, or its run's operation) or a base model (``models/gemini-...``)."""
    text = str(value or "").strip()
    if text.startswith("tunedModels/"):
        return tuned_model_of(text), "tuned_model"
    if text.startswith("models/gemini-") or text.startswith("gemini-"):
        return check_path(text, "Gemini API base model"), "base_model"
    raise ValueError(
        f"{value!r} is not a Gemini API model: expected a tuned model ({NAME_FORMS}) or a base model "
        "(models/gemini-...)"
    )


def parse_time(value: Any) -> datetime | None:
    """RFC 3339 as Google writes it (``Z``, up to nanoseconds) -> an aware ``datetime``."""
    if not value:
        return None
    match = _TIME_RE.match(str(value))
    if not match:
        return None
    frac = (match["frac"] or "")[:6].ljust(6, "0")
    zone = match["zone"] or "Z"
    zone = "+00:00" if zone == "Z" else zone
    try:
        return datetime.fromisoformat(f"{match['base']}.{frac}{zone}")
    except ValueError:
        return None


@dataclass(frozen=True)
class GeminiApiTuningJob:
    """One tuning run: the operation (when known) and the tuned model, read as a tuning job.

    ``name`` is the operation name when the run is followed through its operation (progress is known),
    otherwise the tuned model name.
    """

    name: str
    tuned_model_name: str
    state: str
    api_state: str
    base_model: str | None = None
    display_name: str | None = None
    create_time: datetime | None = None
    end_time: datetime | None = None
    completed_percent: float | None = None
    completed_steps: int | None = None
    total_steps: int | None = None
    error: Mapping[str, Any] | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def tuned_model(self) -> dict[str, Any]:
        """As a Vertex job's ``tuned_model``: the model, and what to call generateContent on once ACTIVE."""
        served = self.tuned_model_name if self.state == job_states.SUCCEEDED else None
        return {"model": self.tuned_model_name, "endpoint": served, "checkpoints": []}

    @property
    def has_ended(self) -> bool:
        return job_states.is_ended(self.state)

    def progress(self) -> str:
        """``42.5% (16/38 steps)`` for log lines; empty when the service reported no progress."""
        if self.completed_percent is None:
            return ""
        text = f"{self.completed_percent:.1f}%"
        if self.total_steps:
            text += f" ({self.completed_steps or 0}/{self.total_steps} steps)"
        return text


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def job_from_api(
    operation: Mapping[str, Any] | None = None, tuned_model: Mapping[str, Any] | None = None
) -> GeminiApiTuningJob:
    """The job view of an operation and/or a tuned model, as the REST API returns them (camelCase JSON).

    The tuned model's ``state`` wins when both are given; an operation alone is CREATING until ``done``,
    then FAILED if it carries an ``error``, else its ``response`` (the tuned model) decides. An operation
    stopped by ``operations.cancel`` (error code 1) is CANCELLED, whatever state its model was left in.
    """
    if operation is None and tuned_model is None:
        raise ValueError("job_from_api needs an operation or a tuned model")
    operation = operation or {}
    metadata = operation.get("metadata") or {}
    response = operation.get("response") or {}
    model = tuned_model or (response if response.get("name") else {})
    model_name = model.get("name") or metadata.get("tunedModel") or tuned_model_of(operation["name"])
    error = operation.get("error") or None
    if tuned_model is not None and tuned_model.get("state"):
        api_state = str(tuned_model["state"])
    elif operation.get("done"):
        api_state = "FAILED" if error else str(model.get("state") or "ACTIVE")
    else:
        api_state = str(model.get("state") or "CREATING")
    state = STATES.get(api_state, job_states.state_name(api_state))
    if error and error.get("code") == RPC_CANCELLED and state in (job_states.FAILED, job_states.RUNNING):
        state = job_states.CANCELLED
    if state == job_states.FAILED and not error:
        error = {"message": f"Tuned model {model_name} is {api_state}"}
    percent = _number(metadata.get("completedPercent"))
    if state == job_states.SUCCEEDED:
        percent = 100.0
    task = model.get("tuningTask") or {}
    end = None
    if job_states.is_ended(state):
        end = parse_time(task.get("completeTime") or model.get("updateTime"))
    return GeminiApiTuningJob(
        name=operation.get("name") or model_name,
        tuned_model_name=model_name,
        state=state,
        api_state=api_state,
        base_model=model.get("baseModel"),
        display_name=model.get("displayName"),
        create_time=parse_time(model.get("createTime")),
        end_time=end,
        completed_percent=percent,
        completed_steps=_int(metadata.get("completedSteps")),
        total_steps=_int(metadata.get("totalSteps")),
        error=error,
    )


def summarize_api(
    operation: Mapping[str, Any] | None = None, tuned_model: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The summary dict every tuning task returns (``job_summary.SUMMARY_KEYS``) for a Developer API run:
    ``tuning_job`` is the operation (or tuned model) name, ``tuned_model`` the tuned model and, once ACTIVE,
    ``endpoint`` the same name (the Developer API serves a tuned model under its own name)."""
    return summarize(job_from_api(operation, tuned_model))


# -- retry identity ---------------------------------------------------------------------------------------
MAX_SUBMISSIONS = 20
_SLUG_RE = re.compile(r"[^a-z0-9]+")


def tuned_model_id_prefix(task_id: str, task_key: str, fingerprint: str) -> str:
    """The id stem of the tuned models one task instance creates for one request.

    Developer-API tuned models carry no labels, but ``tunedModels.create`` takes the model's id: an id
    derived from the task instance and the request makes a repeated create answer 409 ALREADY_EXISTS
    instead of paying for a second run. Ids match ``[a-z]([a-z0-9-]{0,38}[a-z0-9])?``.
    """
    slug = _SLUG_RE.sub("-", task_id.lower()).strip("-")[:16].strip("-") or "tuning"
    if not slug[0].isalpha():
        slug = f"t{slug}"[:16].rstrip("-")
    digest = hashlib.sha256(f"{task_key}|{fingerprint}".encode()).hexdigest()[:12]
    return f"{slug}-{digest}"


def tuned_model_ids(prefix: str) -> list[str]:
    """The ids tried in order: the next one is used only when every earlier run failed or was cancelled."""
    return [f"{prefix}-{number}" for number in range(1, MAX_SUBMISSIONS + 1)]


def belongs_to(job: GeminiApiTuningJob, prefix: str) -> bool:
    """True when the run was created for this task instance and request."""
    return job.tuned_model_name.removeprefix("tunedModels/").startswith(f"{prefix}-")
