"""The detailed job timeline Vertex AI reports: ``JOB_STATE_QUEUED``, ``tuningJobState`` and progress.

Off by default, so that a job is PENDING, then RUNNING, then SUCCEEDED on the usual timings. Turned on for
one job by the label ``emulator-job-states: detailed`` (``simple`` turns it off for one job), or for every
job by ``--detailed-job-states`` / ``Emulator(detailed_job_states=True)`` / ``POST /_emulator/config
{"detailed_job_states": true}``. Then, with the same create, start and end times:

- the first half of the wait before the start is ``JOB_STATE_QUEUED`` with
  ``tuningJobState: TUNING_JOB_STATE_WAITING_FOR_QUOTA``, the second half ``JOB_STATE_PENDING``;
- while RUNNING: ``TUNING_JOB_STATE_PROCESSING_DATASET`` (first 10 %), ``TUNING_JOB_STATE_TUNING`` (to 90 %),
  ``TUNING_JOB_STATE_POST_PROCESSING``; ``tuningJobMetadata`` counts completed epochs and steps as tuning
  advances, and keeps the final counts once the job has succeeded.

These two fields are in google-genai's ``TuningJob`` (``tuning_job_state``, ``tuning_job_metadata``) but not
yet in google-cloud-aiplatform's protos, which is why they only appear when asked for.
"""

from __future__ import annotations

import math
from typing import Any

from airflow_tuning.emulator.datasets import steps_per_epoch
from airflow_tuning.emulator.wire import int64, invalid
from airflow_tuning.jobs import states as js

LABEL = "emulator-job-states"
LABEL_VALUES = ("detailed", "simple")
WAITING_FOR_QUOTA = "TUNING_JOB_STATE_WAITING_FOR_QUOTA"
PROCESSING_DATASET = "TUNING_JOB_STATE_PROCESSING_DATASET"
TUNING = "TUNING_JOB_STATE_TUNING"
POST_PROCESSING = "TUNING_JOB_STATE_POST_PROCESSING"
DATASET_SHARE = 0.1
POST_SHARE = 0.1


def check_label(labels: dict[str, str]) -> None:
    if LABEL in labels and labels[LABEL] not in LABEL_VALUES:
        raise invalid(f"Label {LABEL!r} must be one of {', '.join(LABEL_VALUES)}, got {labels[LABEL]!r}.")


def wanted(labels: dict[str, str], default: bool) -> bool:
    """Whether a new job gets the detailed timeline: its label decides, else the emulator's setting."""
    value = labels.get(LABEL)
    return default if value is None else value == "detailed"


def queued(job: dict[str, Any], now: float) -> bool:
    """True in the first half of a detailed job's wait before its start."""
    return bool(job.get("detailed")) and now < (job["createTime"] + job["startTime"]) / 2


def progress(job: dict[str, Any], state: str, now: float, examples: int) -> dict[str, Any]:
    """``tuningJobState`` and ``tuningJobMetadata`` for a detailed job (empty for the simple timeline)."""
    if not job.get("detailed"):
        return {}
    epochs = int(job["epochs"])
    total_steps = epochs * steps_per_epoch(examples)
    if state == js.QUEUED:
        return {"tuningJobState": WAITING_FOR_QUOTA}
    if state == js.SUCCEEDED:
        return {"tuningJobMetadata": _metadata(epochs, total_steps)}
    if state != js.RUNNING:
        return {}
    span = max(job["endTime"] - job["startTime"], 1e-9)
    fraction = (now - job["startTime"]) / span
    if fraction < DATASET_SHARE:
        return {"tuningJobState": PROCESSING_DATASET}
    if fraction >= 1 - POST_SHARE:
        return {"tuningJobState": POST_PROCESSING, "tuningJobMetadata": _metadata(epochs, total_steps)}
    done = (fraction - DATASET_SHARE) / (1 - DATASET_SHARE - POST_SHARE)
    return {"tuningJobState": TUNING,
            "tuningJobMetadata": _metadata(math.floor(epochs * done), math.floor(total_steps * done))}


def _metadata(epochs: int, steps: int) -> dict[str, str]:
    return {"completedEpochCount": int64(epochs), "completedStepCount": int64(steps)}
