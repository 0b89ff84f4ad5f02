"""Waiting on and cancelling tuning jobs through a tunings client (sync or async), whatever service runs them.

The wait logic lives in one place, ``JobWaiter``: which jobs are still pending, what to log when a state
changes, which errors are transient, how long to sleep, when the deadline has passed. The synchronous loop
(worker-side wait) and the asynchronous one (``TuningJobTrigger``) are thin drivers around it, so both obey
the same polling policy and the same ended-state rule. A client is anything with ``tunings.get(name=)`` and
``tunings.cancel(name=)``: google-genai on Vertex AI, or the Gemini Developer API adapter's client.

No Airflow import; clients are passed in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_tuning.common.plans import Plan, arun_plan, run_plan
from airflow_tuning.common.retry import is_transient
from airflow_tuning.jobs.outage import NOT_FOUND_CONFIRMATIONS, is_not_found, unavailable_message
from airflow_tuning.jobs.polling import PollPolicy, StateTracker, format_elapsed
from airflow_tuning.jobs.states import CANCELLED, EXPIRED, FAILED, is_ended, state_name
from airflow_tuning.jobs.summary import SUMMARY_KEYS, Verdict, error_message, judge, summarize

_AT_CAP = 1_000_000  # a poll number past which the backoff is at its cap


def is_precondition_error(err: BaseException) -> bool:
    """A cancel on an ended job is refused with 400 FAILED_PRECONDITION (both services answer so)."""
    return getattr(err, "code", None) == 400 and "FAILED_PRECONDITION" in str(getattr(err, "status", ""))


def cancel_job(client: Any, name: str, log: logging.Logger | Any) -> bool:
    """Ask the service to cancel ``name``; False (logged, not raised) if the job had already ended."""
    try:
        client.tunings.cancel(name=name)
    except Exception as err:
        return _already_ended(err, name, log)
    log.info("Cancellation requested for tuning job %s", name)
    return True


async def acancel_job(aclient: Any, name: str, log: logging.Logger | Any) -> bool:
    """``cancel_job`` on an async client."""
    try:
        await aclient.tunings.cancel(name=name)
    except Exception as err:
        return _already_ended(err, name, log)
    log.info("Cancellation requested for tuning job %s", name)
    return True


def _already_ended(err: Exception, name: str, log: logging.Logger | Any) -> bool:
    if not is_precondition_error(err):
        raise err
    log.info("Tuning job %s has already ended; nothing to cancel (%s)", name, getattr(err, "message", err))
    return False


# -- waiting ---------------------------------------------------------------------------------------------
@dataclass
class WaitResult:
    """How a wait ended: ``ended`` (every job ended), ``timeout``, ``gone`` (404: nothing to cancel; its
    event status is ``error``) or ``error``."""

    outcome: str
    jobs: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    gone: list[str] = field(default_factory=list)

    def event(self, names: Sequence[str]) -> dict[str, Any]:
        """The trigger event payload: status, the summaries (in ``names`` order), a message."""
        unseen = dict.fromkeys(SUMMARY_KEYS)  # a job never read (the first poll already failed)
        summaries = [
            summarize(self.jobs[n]) if n in self.jobs else {**unseen, "tuning_job": n} for n in names
        ]
        if self.outcome == "ended":
            states = {s["state"] for s in summaries}
            errors = [error_message(self.jobs[n]) for n in names if state_name(self.jobs[n].state) == FAILED]
            if FAILED in states:
                status = "failed"
            elif states & {CANCELLED, EXPIRED}:
                status = "cancelled"
            else:
                status = "success"
            message = "; ".join(e for e in errors if e) or self.message
        else:
            status, message = ("error" if self.outcome == "gone" else self.outcome), self.message
        return {
            "status": status,
            "summary": summaries[0] if summaries else None,
            "summaries": summaries,
            "errors": {
                n: error_message(self.jobs[n])
                for n in names
                if n in self.jobs and error_message(self.jobs[n])
            },
            "message": message,
        }


class JobWaiter:
    """The state of one wait on one or more jobs; drivers call it, it never does I/O itself."""

    def __init__(
        self,
        names: Iterable[str],
        policy: PollPolicy,
        deadline: float | None,
        log: logging.Logger | Any,
        clock: Callable[[], float] = time.time,
        first_delay: float = 0.0,
    ) -> None:
        self.names = list(dict.fromkeys(names))
        self.first_delay = first_delay
        self.pending = list(self.names)
        self.policy = policy
        self.deadline = deadline
        self.log = log
        self.clock = clock
        self.jobs: dict[str, Any] = {}
        self.tracker = StateTracker(clock)
        self.attempt = 0
        self.consecutive_errors = 0
        self.not_found: dict[str, int] = {}

    def on_job(self, job: Any) -> None:
        """A fresh copy of a job arrived: log a state change, drop it from pending once ended."""
        if self.consecutive_errors > self.policy.max_transient_errors:
            self.log.info("The tuning API answers again after %d failed polls", self.consecutive_errors)
        self.consecutive_errors = 0
        name = job.name
        self.not_found.pop(name, None)
        self.jobs[name] = job
        state = state_name(job.state)
        line = self.tracker.observe(name, state, getattr(job, "create_time", None))
        if line:
            self.log.info(line)
        if is_ended(state) and name in self.pending:
            self.pending.remove(name)

    def on_error(self, name: str, err: BaseException) -> WaitResult | None:
        """A poll failed: None to keep waiting, or the result that ends the wait.

        Transient errors never end it (see ``airflow_tuning.jobs.outage``); a 404 ends it as ``gone`` once
        the next poll confirms it; any other error ends it as ``error``.
        """
        if is_not_found(err):
            self.not_found[name] = self.not_found.get(name, 0) + 1
            if self.not_found[name] >= NOT_FOUND_CONFIRMATIONS:
                return WaitResult(
                    "gone",
                    self.jobs,
                    f"Tuning job {name} no longer exists (the API answered 404 NOT_FOUND "
                    f"{self.not_found[name]} times in a row): nothing to cancel",
                    gone=[name],
                )
            self.log.warning("Tuning job %s answered 404 NOT_FOUND; checking again before giving up", name)
            return None
        if not is_transient(err):
            return WaitResult(
                "error", self.jobs, f"Polling tuning job {name} failed: {type(err).__name__}: {err}"
            )
        self.consecutive_errors += 1
        limit = self.policy.max_transient_errors
        if self.consecutive_errors == limit + 1:
            self.log.warning(unavailable_message(name, self.consecutive_errors, self.policy, err))
        elif self.consecutive_errors <= limit:
            self.log.warning(
                "Transient error polling tuning job %s (%d/%d in a row), will retry: %s: %s",
                name,
                self.consecutive_errors,
                limit,
                type(err).__name__,
                err,
            )
        return None

    def finished(self) -> WaitResult | None:
        if not self.pending:
            return WaitResult("ended", self.jobs, "all jobs ended")
        if self.deadline is not None and self.clock() >= self.deadline:
            waited = format_elapsed(self.tracker.elapsed())
            return WaitResult(
                "timeout", self.jobs, f"Timed out after {waited} waiting for {', '.join(self.pending)}"
            )
        return None

    def next_delay(self) -> float:
        """The backoff; while the API is unavailable (past ``max_transient_errors``), the cap."""
        unavailable = self.consecutive_errors > self.policy.max_transient_errors
        delay = self.policy.interval(_AT_CAP if unavailable else self.attempt)
        self.attempt += 1
        return self.until_deadline(delay)

    def until_deadline(self, delay: float) -> float:
        if self.deadline is not None:
            delay = max(0.0, min(delay, self.deadline - self.clock()))
        return delay


def _wait_plan(waiter: JobWaiter) -> Plan:
    """The wait as a plan: ``("get", name)`` and ``("sleep", seconds)`` steps until the waiter has a result."""
    if waiter.first_delay > 0:
        yield ("sleep", waiter.until_deadline(waiter.first_delay))
    while True:
        for name in list(waiter.pending):
            try:
                job = yield ("get", name)
            except Exception as err:
                if (result := waiter.on_error(name, err)) is not None:
                    return result
            else:
                waiter.on_job(job)
        if (result := waiter.finished()) is not None:
            return result
        yield ("sleep", waiter.next_delay())


def wait_sync(
    client: Any,
    names: Iterable[str],
    policy: PollPolicy,
    deadline: float | None,
    log: logging.Logger | Any,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitResult:
    """Block until every job has ended, the deadline passes, or polling fails for good."""

    def perform(step: tuple[str, Any]) -> Any:
        kind, value = step
        return client.tunings.get(name=value) if kind == "get" else sleep(value)

    return run_plan(_wait_plan(JobWaiter(names, policy, deadline, log)), perform)


async def wait_async(
    aclient: Any,
    names: Iterable[str],
    policy: PollPolicy,
    deadline: float | None,
    log: logging.Logger | Any,
    first_delay: float = 0.0,
) -> WaitResult:
    """``wait_sync`` on an async client; never blocks the event loop.

    ``first_delay`` postpones the first poll (the trigger spreads a triggerer's first polls with it).
    """
    import asyncio

    from airflow_tuning.jobs.poll_gate import poll_gate

    gate = poll_gate()

    async def perform(step: tuple[str, Any]) -> Any:
        kind, value = step
        if kind == "get":
            async with gate:
                return await aclient.tunings.get(name=value)
        await asyncio.sleep(value)
        return None

    waiter = JobWaiter(names, policy, deadline, log, first_delay=first_delay)
    return await arun_plan(_wait_plan(waiter), perform)


def event_verdict(event: Mapping[str, Any], *, soft_fail: bool = False) -> Verdict:
    """What a task should do with a ``TuningJobTrigger`` event (single job): the ``judge`` rule, plus
    ``timeout`` and ``error`` outcomes, which always fail."""
    status = event.get("status")
    if status in ("timeout", "error"):
        return Verdict("fail", str(event.get("message") or f"tuning job wait ended with {status}"))
    summary = event.get("summary") or {}
    errors = event.get("errors") or {}
    return judge(summary, errors.get(summary.get("tuning_job")), soft_fail=soft_fail)
