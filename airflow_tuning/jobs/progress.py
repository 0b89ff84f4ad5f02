"""One progress line for a tuning job, whichever service reports it, and the wrapper that logs it.

Vertex AI reports a running job's detail state (``tuning_job_state``: waiting for quota, processing the
dataset, tuning, post-processing) and ``tuning_job_metadata`` (completed epochs and steps); a Gemini
Developer API run reports a completed percentage. The wait loops log a line each time it changes, so the
task log shows where a long job is. Pure Python: the job object is read by attribute, and the wrapper works
around a sync or an async tunings client alike.
"""

from __future__ import annotations

import inspect
from typing import Any

_SUB_STATE_PREFIX = "TUNING_JOB_STATE_"


def sub_state(job: Any) -> str:
    """``TUNING``, ``PROCESSING_DATASET``... or "" when the API reports none."""
    value = getattr(job, "tuning_job_state", None)
    if value is None:
        return ""
    name = str(getattr(value, "value", None) or getattr(value, "name", None) or value)
    name = name.rsplit(".", 1)[-1].removeprefix(_SUB_STATE_PREFIX)
    return "" if name in ("", "UNSPECIFIED") else name


def _epoch_total(job: Any) -> int | None:
    spec = getattr(job, "supervised_tuning_spec", None)
    hyper = getattr(spec, "hyper_parameters", None)
    total = getattr(hyper, "epoch_count", None)
    return int(total) if total else None


def vertex_progress(job: Any) -> str:
    """``TUNING, epoch 2/3, step 40`` from what the job reports ("" when it reports nothing)."""
    parts = []
    state = sub_state(job)
    if state:
        parts.append(state)
    metadata = getattr(job, "tuning_job_metadata", None)
    epochs = getattr(metadata, "completed_epoch_count", None)
    steps = getattr(metadata, "completed_step_count", None)
    if epochs is not None:
        total = _epoch_total(job)
        parts.append(f"epoch {int(epochs)}/{total}" if total else f"epoch {int(epochs)}")
    if steps is not None:
        parts.append(f"step {int(steps)}")
    return ", ".join(parts)


def progress_line(job: Any) -> str:
    """The log line for ``job``'s progress, or "" when it reports none."""
    if callable(getattr(job, "progress", None)):
        percent = job.progress()
        return f"Tuning {job.name}: {percent} complete" if percent else ""
    progress = vertex_progress(job)
    return f"Tuning job {job.name}: {progress}" if progress else ""


class ProgressLog:
    """Wraps a client's ``tunings`` so that every fetched run whose progress changed is logged.

    Works around a sync or an async client alike (the same wait loops drive both): a Developer-API run's
    percentage, a Vertex AI job's sub-state and epoch/step progress when the API reports them.
    """

    def __init__(self, client: Any, log: Any) -> None:
        self._tunings = client.tunings
        self._log = log
        self._seen: dict[str, str] = {}

    @property
    def tunings(self) -> ProgressLog:
        return self

    def get(self, *, name: str) -> Any:
        result = self._tunings.get(name=name)
        if inspect.isawaitable(result):
            return self._aobserve(result)
        return self._observe(result)

    async def _aobserve(self, pending: Any) -> Any:
        return self._observe(await pending)

    def _observe(self, job: Any) -> Any:
        line = progress_line(job)
        if line and self._seen.get(job.name) != line:
            self._seen[job.name] = line
            self._log.info("%s", line)
        return job

    def cancel(self, *, name: str) -> Any:
        return self._tunings.cancel(name=name)
