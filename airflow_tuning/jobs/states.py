"""The one rule for reading a Vertex AI tuning job's state.

Vertex reports states as ``JOB_STATE_*`` strings (the SDK wraps them in an enum). A job is *ended* only in
the SDK's own ended set; every other state (QUEUED, PENDING, RUNNING, CANCELLING, PAUSED, UPDATING, ...)
means "keep waiting". Judging "still running" by a whitelist of PENDING/RUNNING is the bug that makes a
peer operator return early on QUEUED, so nothing in this package does that.
"""

from __future__ import annotations

from typing import Any

SUCCEEDED = "JOB_STATE_SUCCEEDED"
FAILED = "JOB_STATE_FAILED"
CANCELLED = "JOB_STATE_CANCELLED"
EXPIRED = "JOB_STATE_EXPIRED"
CANCELLING = "JOB_STATE_CANCELLING"
PENDING = "JOB_STATE_PENDING"
RUNNING = "JOB_STATE_RUNNING"
QUEUED = "JOB_STATE_QUEUED"

#: The SDK's ``TuningJob.has_ended`` set.
ENDED_STATES = frozenset({SUCCEEDED, FAILED, CANCELLED, EXPIRED})
#: Ended states a retry may resubmit after (the data or the request may have been fixed meanwhile).
RESUBMITTABLE_STATES = frozenset({FAILED, CANCELLED, EXPIRED})


def state_name(state: Any) -> str:
    """Normalise an SDK enum, a proto enum or a plain string to ``JOB_STATE_*``."""
    if state is None:
        return "JOB_STATE_UNSPECIFIED"
    name = getattr(state, "name", None) or getattr(state, "value", None) or str(state)
    name = str(name)
    if "." in name:  # "JobState.JOB_STATE_RUNNING"
        name = name.rsplit(".", 1)[1]
    return name if name.startswith("JOB_STATE_") else f"JOB_STATE_{name.upper()}"


def is_ended(state: Any) -> bool:
    """True when the job will not change any more."""
    return state_name(state) in ENDED_STATES


def is_succeeded(state: Any) -> bool:
    return state_name(state) == SUCCEEDED


def short_state(state: Any) -> str:
    """``JOB_STATE_RUNNING`` -> ``RUNNING`` for log lines and tables."""
    return state_name(state).removeprefix("JOB_STATE_")
