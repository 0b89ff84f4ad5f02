"""Waiting on, finding and cancelling tuning jobs through a google-genai client (sync or ``client.aio``).

The wait logic lives in one place, ``JobWaiter``: which jobs are still pending, what to log when a state
changes, which errors are transient, how long to sleep, when the deadline has passed. The synchronous loop
(worker-side wait) and the asynchronous one (``TuningJobTrigger``) are thin drivers around it, so both obey
the same polling policy and the same ended-state rule.

No Airflow import; google-genai is imported only inside functions, and clients are passed in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_tuning.job_states import CANCELLED, EXPIRED, FAILED, is_ended, state_name
from airflow_tuning.job_summary import SUMMARY_KEYS, Verdict, error_message, judge, summarize
from airflow_tuning.polling import PollPolicy, StateTracker, format_elapsed
from airflow_tuning.resource_names import TUNING_JOB_FORM, parse_tuning_job_name
from airflow_tuning.retry_identity import JobRecord, ReattachDecision, TaskIdentity, choose_job
from airflow_tuning.retry_policy import RETRYABLE_STATUS_CODES, RetryPolicy

_TRANSPORT_ERRORS = frozenset(
    {"TransportError", "TimeoutException", "ServerDisconnectedError", "ClientConnectionError"}
)
LIST_PAGE_SIZE = 100


def is_transient(err: BaseException) -> bool:
    """True for errors worth another poll: HTTP 408/429/5xx and network failures."""
    code = getattr(err, "code", None)
    if type(err).__module__.startswith("google.genai") and isinstance(code, int):
        return code in RETRYABLE_STATUS_CODES
    if isinstance(err, (ConnectionError, TimeoutError)):
        return True
    return any(cls.__name__ in _TRANSPORT_ERRORS for cls in type(err).__mro__)


def is_precondition_error(err: BaseException) -> bool:
    """Vertex answers ``cancel`` on an ended job with 400 FAILED_PRECONDITION."""
    return getattr(err, "code", None) == 400 and "FAILED_PRECONDITION" in str(getattr(err, "status", ""))


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


# -- sync client operations ----------------------------------------------------------------------------
def list_jobs(client: Any, filter_text: str) -> list[Any]:
    return list(client.tunings.list(config={"filter": filter_text, "page_size": LIST_PAGE_SIZE}))


def find_reattachable(client: Any, identity: TaskIdentity) -> tuple[Any | None, ReattachDecision]:
    """The earlier job of this task instance to reattach to (or None), and the decision's reason."""
    jobs = {job.name: job for job in list_jobs(client, identity.list_filter())}
    decision = choose_job(identity, (JobRecord.from_job(job) for job in jobs.values()))
    return (jobs[decision.job.name] if decision.job else None), decision


def start_tuning_job(
    client: Any,
    request: Any,
    retry: RetryPolicy | None = None,
    find_existing: Callable[[], Any] | None = None,
    log: logging.Logger | Any = None,
) -> Any:
    """``tunings.tune`` for a ``TuningRequest`` that never creates a second job.

    A create that fails in transit (5xx, 429, a dropped connection) may still have created the job, so the
    SDK's blind retry is switched off for this one call: before each new attempt ``find_existing`` looks
    for the job by its retry-identity labels, and only when there is none is the create sent again.
    """
    import warnings

    from google.genai import types

    arguments = request.sdk_arguments()
    if retry is not None:
        arguments["config"].http_options = types.HttpOptions(retry_options=types.HttpRetryOptions(attempts=1))
    attempt = 0
    while True:
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*tuning implementation is experimental")
                return client.tunings.tune(**arguments)
        except Exception as err:
            if retry is None or attempt + 1 >= retry.attempts or not retry.is_retryable(err):
                raise
            if log is not None:
                log.warning("Creating the tuning job failed (%s); checking whether it was created anyway", err)
        existing = find_existing() if find_existing is not None else None
        if existing is not None:
            if log is not None:
                log.info("The failed create did create tuning job %s: attaching to it", existing.name)
            return existing
        time.sleep(retry.delay(attempt))
        attempt += 1


def find_active_with_labels(client: Any, labels: Mapping[str, str]) -> list[Any]:
    """Jobs carrying all ``labels`` that have not ended (checked client-side too)."""
    return [
        job
        for job in list_jobs(client, labels_filter(labels))
        if has_labels(job, labels) and not is_ended(job.state)
    ]


def cancel_job(client: Any, name: str, log: logging.Logger | Any) -> bool:
    """Ask Vertex to cancel ``name``; False (logged, not raised) if the job had already ended."""
    try:
        client.tunings.cancel(name=name)
    except Exception as err:
        return _already_ended(err, name, log)
    log.info("Cancellation requested for tuning job %s", name)
    return True


async def acancel_job(aclient: Any, name: str, log: logging.Logger | Any) -> bool:
    """``cancel_job`` on ``client.aio``."""
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
    """How a wait ended: ``ended`` (every job ended), ``timeout`` or ``error``."""

    outcome: str
    jobs: dict[str, Any] = field(default_factory=dict)
    message: str = ""

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
            status, message = self.outcome, self.message
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
    ) -> None:
        self.names = list(dict.fromkeys(names))
        self.pending = list(self.names)
        self.policy = policy
        self.deadline = deadline
        self.log = log
        self.clock = clock
        self.jobs: dict[str, Any] = {}
        self.tracker = StateTracker(clock)
        self.attempt = 0
        self.consecutive_errors = 0

    def on_job(self, job: Any) -> None:
        """A fresh copy of a job arrived: log a state change, drop it from pending once ended."""
        self.consecutive_errors = 0
        name = job.name
        self.jobs[name] = job
        state = state_name(job.state)
        line = self.tracker.observe(name, state, getattr(job, "create_time", None))
        if line:
            self.log.info(line)
        if is_ended(state) and name in self.pending:
            self.pending.remove(name)

    def on_error(self, name: str, err: BaseException) -> WaitResult | None:
        """A poll failed: None to keep waiting, or the error result that ends the wait."""
        if not is_transient(err):
            return WaitResult(
                "error", self.jobs, f"Polling tuning job {name} failed: {type(err).__name__}: {err}"
            )
        self.consecutive_errors += 1
        limit = self.policy.max_transient_errors
        if self.consecutive_errors > limit:
            return WaitResult(
                "error",
                self.jobs,
                f"Polling tuning job {name} failed {self.consecutive_errors} times in a row "
                f"(limit {limit}); last error {type(err).__name__}: {err}",
            )
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
        delay = self.policy.interval(self.attempt)
        self.attempt += 1
        if self.deadline is not None:
            delay = max(0.0, min(delay, self.deadline - self.clock()))
        return delay


def wait_sync(
    client: Any,
    names: Iterable[str],
    policy: PollPolicy,
    deadline: float | None,
    log: logging.Logger | Any,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitResult:
    """Block until every job has ended, the deadline passes, or polling fails for good."""
    waiter = JobWaiter(names, policy, deadline, log)
    while True:
        for name in list(waiter.pending):
            try:
                job = client.tunings.get(name=name)
            except Exception as err:
                if (result := waiter.on_error(name, err)) is not None:
                    return result
            else:
                waiter.on_job(job)
        if (result := waiter.finished()) is not None:
            return result
        sleep(waiter.next_delay())


async def wait_async(
    aclient: Any,
    names: Iterable[str],
    policy: PollPolicy,
    deadline: float | None,
    log: logging.Logger | Any,
) -> WaitResult:
    """``wait_sync`` on ``client.aio``; never blocks the event loop."""
    import asyncio

    waiter = JobWaiter(names, policy, deadline, log)
    while True:
        for name in list(waiter.pending):
            try:
                job = await aclient.tunings.get(name=name)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                if (result := waiter.on_error(name, err)) is not None:
                    return result
            else:
                waiter.on_job(job)
        if (result := waiter.finished()) is not None:
            return result
        await asyncio.sleep(waiter.next_delay())


def event_verdict(event: Mapping[str, Any], *, soft_fail: bool = False) -> Verdict:
    """What a task should do with a ``TuningJobTrigger`` event (single job): the ``judge`` rule, plus
    ``timeout`` and ``error`` outcomes, which always fail."""
    status = event.get("status")
    if status in ("timeout", "error"):
        return Verdict("fail", str(event.get("message") or f"tuning job wait ended with {status}"))
    summary = event.get("summary") or {}
    errors = event.get("errors") or {}
    return judge(summary, errors.get(summary.get("tuning_job")), soft_fail=soft_fail)
