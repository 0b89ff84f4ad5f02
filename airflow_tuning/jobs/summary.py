"""A tuning job as one small JSON-serialisable dict, and the verdict a task draws from it.

Every operator, the sensor and the trigger return the same summary, so a downstream task reads
``summary["tuned_model"]`` whichever of them ran. Works on a ``google.genai.types.TuningJob`` or anything with
the same attributes; pure Python, no Airflow or Google import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from airflow_tuning.common.console import tuning_job_console_url
from airflow_tuning.jobs.cost import compact_data_stats
from airflow_tuning.jobs.states import CANCELLED, EXPIRED, FAILED, SUCCEEDED, state_name

SUMMARY_KEYS = (
    "tuning_job",
    "state",
    "tuned_model",
    "endpoint",
    "checkpoints",
    "base_model",
    "pre_tuned_model",
    "continued_from",
    "training_dataset_uri",
    "validation_dataset_uri",
    "console_url",
    "create_time",
    "end_time",
    "tuning_data_stats",
    "cost_estimate",
    "cost",
    "tuning_method",
)

#: The job's spec attribute -> the method it says ran (the request field google-genai fills per method).
_SPECS = (
    ("supervised_tuning_spec", "supervised", "training_dataset_uri"),
    ("preference_optimization_spec", "preference", "training_dataset_uri"),
    ("distillation_spec", "distillation", "prompt_dataset_uri"),
)


def _get(obj: Any, *path: str) -> Any:
    for attr in path:
        if obj is None:
            return None
        obj = obj.get(attr) if isinstance(obj, Mapping) else getattr(obj, attr, None)
    return obj


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _int_or_str(value: Any) -> int | str | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


def _checkpoints(job: Any) -> list[dict[str, Any]]:
    result = []
    for cp in _get(job, "tuned_model", "checkpoints") or []:
        result.append(
            {
                "checkpoint_id": _str(_get(cp, "checkpoint_id")),
                "epoch": _int_or_str(_get(cp, "epoch")),
                "step": _int_or_str(_get(cp, "step")),
                "endpoint": _get(cp, "endpoint"),
            }
        )
    return result


def summarize(job: Any) -> dict[str, Any]:
    """The summary dict of a tuning job: exactly the keys in ``SUMMARY_KEYS``, JSON values only."""
    name = _get(job, "name")
    try:
        console_url = tuning_job_console_url(name) if name else None
    except ValueError:
        console_url = None
    return {
        "tuning_job": name,
        "state": state_name(_get(job, "state")),
        "tuned_model": _get(job, "tuned_model", "model"),
        "endpoint": _get(job, "tuned_model", "endpoint"),
        "checkpoints": _checkpoints(job),
        "base_model": _get(job, "base_model"),
        "pre_tuned_model": _get(job, "pre_tuned_model", "tuned_model_name"),
        # Continuous tuning names the model version it started from; None: tuned from a base model.
        "continued_from": _get(job, "pre_tuned_model", "tuned_model_name") or None,
        "training_dataset_uri": _training_uri(job),
        "validation_dataset_uri": _get(job, _spec_of(job)[0], "validation_dataset_uri"),
        "console_url": console_url,
        "create_time": _iso(_get(job, "create_time")),
        "end_time": _iso(_get(job, "end_time")),
        "tuning_data_stats": compact_data_stats(_camel_stats(_get(job, "tuning_data_stats"))),
        # Filled in by the Vertex operators and sensor, which know the prices (see tasks.budget).
        "cost_estimate": None,
        "cost": None,
        "tuning_method": _spec_of(job)[1],
    }


def _camel_stats(stats: Any) -> Any:
    """The SDK's ``TuningDataStats`` (or its dict) in the API's camelCase JSON form."""
    dump = getattr(stats, "model_dump", None)
    if callable(dump):
        return dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(stats, Mapping):
        return {_camel(str(k)): _camel_stats(v) for k, v in stats.items()}
    return stats


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _spec_of(job: Any) -> tuple[str, str | None]:
    """The job's spec attribute and the method it names.

    A job without a spec (a Gemini Developer API run, which only tunes supervised) is supervised; None only
    for a job never read."""
    for attr, method, _ in _SPECS:
        if _get(job, attr) is not None:
            return attr, method
    return "supervised_tuning_spec", ("supervised" if _get(job, "name") else None)


def _training_uri(job: Any) -> Any:
    for attr, _, field in _SPECS:
        spec = _get(job, attr)
        if spec is not None:
            return _get(spec, field) or _get(spec, "training_dataset_uri")
    return None


def error_message(job: Any) -> str | None:
    """Vertex AI's own error text for a job, if it has one."""
    message = _get(job, "error", "message")
    return str(message) if message else None


def describe_end(summary: Mapping[str, Any], error: str | None = None) -> str:
    """One sentence on how a job ended, quoting Vertex's error message when there is one."""
    state = str(summary.get("state", "")).removeprefix("JOB_STATE_")
    text = f"Tuning job {summary.get('tuning_job')} ended {state}"
    if error:
        text += f": {error}"
    if summary.get("console_url"):
        text += f" (console: {summary['console_url']})"
    return text


@dataclass(frozen=True)
class Verdict:
    """What the task should do with an ended job: ``succeed``, ``fail`` or ``skip``, and why."""

    action: str
    message: str


def judge(summary: Mapping[str, Any], error: str | None = None, *, soft_fail: bool = False) -> Verdict:
    """The one rule: SUCCEEDED succeeds; FAILED fails with Vertex's message; CANCELLED and EXPIRED fail,
    or skip when ``soft_fail`` is set. Any other state is not an end and fails loudly (a caller bug)."""
    state = summary.get("state")
    message = describe_end(summary, error)
    if state == SUCCEEDED:
        return Verdict("succeed", message)
    if state == FAILED:
        return Verdict("fail", message)
    if state in (CANCELLED, EXPIRED):
        return Verdict("skip" if soft_fail else "fail", message)
    return Verdict("fail", f"Tuning job {summary.get('tuning_job')} has not ended (state {state})")
