"""What a wait does while the tuning API does not answer, so that no outage leaves an orphaned job.

The rule, the same for the trigger, the worker-side wait and the sensor:

- Transient errors (408, 429, 5xx, connection errors) never end a wait. The first ``max_transient_errors``
  in a row are each logged and retried on the normal backoff; past that the API counts as unavailable: one
  WARNING says so and polls continue at the poll policy's cap until the API answers or the deadline passes.
- A 404 on a job we were watching means the job is gone, but only when the next poll confirms it (a single
  404 from a proxy in a bad moment is treated as transient). There is then nothing to cancel.
- When a task gives up on a job it owns (deadline, a non-transient error), it cancels the job. A cancel that
  cannot get through is retried with backoff for ``cancel_grace`` seconds; if it still fails, the task fails
  with a message naming the job, and the task's retry reattaches to that job by its retry identity (and
  waits for it, or takes its result): the job is never left without an owner while a retry remains.

Pure Python apart from the clients passed in; no Airflow import.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from airflow_tuning.common.retry import is_transient
from airflow_tuning.jobs.polling import PollPolicy

NOT_FOUND_CONFIRMATIONS = 2  # a 404 must be seen this many polls in a row before a job counts as gone


def is_not_found(err: BaseException) -> bool:
    """True for an API answer 404 NOT_FOUND (google-genai's ``ClientError``)."""
    return getattr(err, "code", None) == 404 and type(err).__module__.startswith("google.genai")


def cancel_grace(policy: PollPolicy) -> float:
    """How long a give-up keeps retrying a cancel that does not get through: two poll caps.

    Airflow's own backstop timeout on a deferral is the deadline plus two poll caps plus a minute, so the
    trigger always finishes its cancel attempts (and says what happened) before that backstop fires.
    """
    return 2.0 * policy.max_poll_interval


def unavailable_message(name: str, errors: int, policy: PollPolicy, err: BaseException) -> str:
    return (
        f"The tuning API has failed {errors} polls of {name} in a row (last: {type(err).__name__}: {err}); "
        f"treating it as unavailable: polling every {policy.max_poll_interval:g} s until it answers or the "
        "wait's deadline passes (the job keeps running meanwhile)"
    )


def uncancelled_message(names: Sequence[str], err: BaseException | None, grace: float) -> str:
    """The failure text when a cancel could not get through: names the jobs and what happens next."""
    cause = f" (last error {type(err).__name__}: {err})" if err is not None else ""
    return (
        f"could not cancel tuning job(s) {', '.join(names)} within {grace:g} s{cause}; they may still be "
        "running: a retry of this task reattaches to them by its retry identity and waits for them or "
        "takes their result (with no retry left, cancel them with CancelTuningJobOperator)"
    )


class CancelOutcome:
    """What cancelling a list of jobs achieved."""

    def __init__(self) -> None:
        self.cancelled: list[str] = []
        self.failed: list[str] = []
        self.last_error: BaseException | None = None

    def describe(self, grace: float) -> str:
        parts = []
        if self.cancelled:
            parts.append(f"cancelled {', '.join(self.cancelled)}")
        if self.failed:
            parts.append(uncancelled_message(self.failed, self.last_error, grace))
        return "; ".join(parts)


def _cancel_error_is_final(err: BaseException) -> bool:
    return not is_transient(err)


def _gives_up(outcome: CancelOutcome, name: str, err: Exception, out_of_time: bool, log: Any) -> bool:
    """The one rule for a failed cancel, shared by the sync and async loops: True when it is not retried."""
    if is_not_found(err):
        log.info("Tuning job %s no longer exists; nothing to cancel", name)
        return True
    if _cancel_error_is_final(err) or out_of_time:
        outcome.failed.append(name)
        outcome.last_error = err
        log.error("Could not cancel tuning job %s: %s: %s", name, type(err).__name__, err)
        return True
    log.warning("Cancelling tuning job %s failed (%s); retrying", name, err)
    return False


def cancel_jobs(
    client: Any,
    names: Sequence[str],
    policy: PollPolicy,
    log: logging.Logger | Any,
    cancel: Callable[[Any, str, Any], bool] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> CancelOutcome:
    """Cancel each job (with the service's ``cancel``), retrying transient failures with backoff for
    ``cancel_grace(policy)`` seconds."""
    from airflow_tuning.jobs.watch import cancel_job

    cancel = cancel or cancel_job
    outcome, grace = CancelOutcome(), cancel_grace(policy)
    end = clock() + grace
    for name in names:
        attempt = 0
        while True:
            try:
                if cancel(client, name, log):
                    outcome.cancelled.append(name)
                break
            except Exception as err:
                if _gives_up(outcome, name, err, clock() >= end, log):
                    break
                sleep(max(0.0, min(policy.interval(attempt), end - clock())))
                attempt += 1
    return outcome


async def acancel_jobs(
    aclient: Any,
    names: Sequence[str],
    policy: PollPolicy,
    log: logging.Logger | Any,
    cancel: Callable[[Any, str, Any], Awaitable[bool]] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> CancelOutcome:
    """``cancel_jobs`` on an async client."""
    import asyncio

    from airflow_tuning.jobs.watch import acancel_job

    cancel = cancel or acancel_job
    outcome, grace = CancelOutcome(), cancel_grace(policy)
    end = clock() + grace
    for name in names:
        attempt = 0
        while True:
            try:
                if await cancel(aclient, name, log):
                    outcome.cancelled.append(name)
                break
            except asyncio.CancelledError:
                raise
            except Exception as err:
                if _gives_up(outcome, name, err, clock() >= end, log):
                    break
                await asyncio.sleep(max(0.0, min(policy.interval(attempt), end - clock())))
                attempt += 1
    return outcome


def get_when_available(
    client: Any,
    name: str,
    policy: PollPolicy,
    deadline: float | None,
    log: logging.Logger | Any,
    sleep: Callable[[float], None] = time.sleep,
) -> Any | None:
    """``tunings.get`` that rides out an outage: transient errors are retried on the poll policy until the
    API answers (or the epoch-seconds ``deadline`` passes, which re-raises the last error). None when the
    job is gone (404, confirmed)."""
    attempt, errors, not_found = 0, 0, 0
    while True:
        try:
            return client.tunings.get(name=name)
        except Exception as err:
            if is_not_found(err):
                not_found += 1
                if not_found >= NOT_FOUND_CONFIRMATIONS:
                    return None
            elif not is_transient(err):
                raise
            else:
                not_found = 0
                errors += 1
                if deadline is not None and time.time() >= deadline:
                    raise
                if errors == policy.max_transient_errors + 1:
                    log.warning(unavailable_message(name, errors, policy, err))
                elif errors <= policy.max_transient_errors:
                    log.warning("Transient error reading tuning job %s, will retry: %s", name, err)
        delay = policy.max_poll_interval if errors > policy.max_transient_errors else policy.interval(attempt)
        if deadline is not None:
            delay = max(0.0, min(delay, deadline - time.time()))
        sleep(delay)
        attempt += 1
