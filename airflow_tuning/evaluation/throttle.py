"""Retries of throttled calls that never hold a concurrency slot while they wait.

When the client library retries a 429 itself, the call sleeps through its backoff inside the caller's
concurrency limit: with 32 slots and 10 % of calls throttled, a few slots are always asleep and the whole
evaluation slows down by far more than the retried calls' own cost. Here a call gives its slot back before
it waits, waits only as long as the service asks (``Retry-After`` or ``google.rpc.RetryInfo``) or, when it
asks nothing, the connection's retry policy says, and then takes the next free slot ahead of calls that
have not started yet, so that retries do not pile up at the end of the run.

When the service asks nothing, the policy's jitter is taken off its backoff rather than added to it (the
first wait is 0-1 s with the default policy, not 1-2 s): the retries still spread out, and the calls
refused in the last second of a batch, which decide its wall time, wait no longer than the backoff.

The policy's exponential step is how throttled the *service* is, not how unlucky one call was: it is the
number of refusals in a row across all calls since the last success (never more than the call's own
attempt number). While most calls get through, a refused call waits the initial delay each time; when
everything is refused, the wait grows as the policy says. Per-call growth would make a call refused three
times in a row by chance wait 1 + 2 + 4 s while its neighbours succeed, and such a call near the end of
an evaluation decides its wall time.

The numbers (attempts, delays, which errors are transient) are the connection's ``RetryPolicy``: the one
policy, applied here at the level where the concurrency limit lives.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # the evaluation operator reads DEFAULT_MAX_CONCURRENCY when a DAG is parsed
    from airflow_tuning.common.retry import RetryPolicy

T = TypeVar("T")
#: Most calls in flight at once in one evaluation (challenger, baseline and every checkpoint share them).
DEFAULT_MAX_CONCURRENCY = 32
RETRY_FIRST, NEW_CALL = 0, 1
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


class PrioritySlots:
    """A counting semaphore whose waiters are served by priority (lower first), then in arrival order."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError(f"slots must be >= 1, got {slots}")
        self._free = slots
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def acquire(self, priority: int = NEW_CALL) -> None:
        if self._free and not self._waiters:
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # the slot was handed over just as the waiter was cancelled: pass it on
            raise

    def release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)  # the slot goes straight to this waiter
                return
        self._free += 1


def asked_delay(error: BaseException) -> float | None:
    """Seconds the service asked the caller to wait (``Retry-After`` header or ``RetryInfo``), if any."""
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    if headers is not None:
        raw = headers.get("retry-after")
        if raw:
            try:
                return max(float(raw), 0.0)
            except ValueError:
                pass  # an HTTP date: rare for APIs; fall back to the details or the policy
    details = getattr(error, "details", None)
    error_body = details.get("error") if isinstance(details, dict) else None
    for detail in (error_body or {}).get("details") or []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = _DURATION.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


class Throttle:
    """The slots of one batch of calls and the service's current run of refusals."""

    def __init__(self, slots: int) -> None:
        self.slots = PrioritySlots(slots)
        self.refusals_in_a_row = 0
        self.retries = 0

    def succeeded(self) -> None:
        self.refusals_in_a_row = 0

    def refused(self, attempt: int) -> int:
        """Count a transient failure; return the backoff step for it (0-based, at most ``attempt``)."""
        self.refusals_in_a_row += 1
        self.retries += 1
        return min(attempt, self.refusals_in_a_row - 1)


def retry_delay(error: BaseException, policy: RetryPolicy, attempt: int) -> float:
    """The wait before retry number ``attempt`` (0-based): what the service asked, capped by the policy's
    ``max_delay``; when it asked nothing, the policy's backoff with the jitter inside it
    (:meth:`RetryPolicy.delay_within`), so that the last calls of a batch never wait past the backoff."""
    asked = asked_delay(error)
    return policy.delay_within(attempt) if asked is None else min(asked, policy.max_delay)


async def call_with_retries(call: Callable[[], Awaitable[T]], throttle: Throttle, policy: RetryPolicy) -> T:
    """Run ``call`` holding one slot; on a transient error give the slot back, wait, retry first in line."""
    priority = NEW_CALL
    slots = throttle.slots
    for attempt in range(policy.attempts):
        await slots.acquire(priority)
        try:
            result = await call()
        except Exception as err:
            if attempt + 1 >= policy.attempts or not policy.is_retryable(err):
                raise
            delay = retry_delay(err, policy, throttle.refused(attempt))
        else:
            throttle.succeeded()
            return result
        finally:
            slots.release()
        await asyncio.sleep(delay)
        priority = RETRY_FIRST
    raise AssertionError("unreachable: the last attempt returns or raises")


def no_client_retries() -> Any:
    """Per-request ``HttpOptions`` that turn the client's own retries off (they would sleep in a slot)."""
    from google.genai import types

    return types.HttpOptions(retry_options=types.HttpRetryOptions(attempts=1))
