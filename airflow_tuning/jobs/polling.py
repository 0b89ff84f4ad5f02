"""How often to ask Vertex AI about a tuning job: one policy for the trigger, the sync wait and the sensor.

A tuning job runs for tens of minutes to hours, and a triggerer may watch a thousand of them. A fixed poll
interval is either slow to notice a short job or wasteful on a long one, so the interval starts short and
grows geometrically to a cap. Jitter spreads the polls of jobs started together (a mapped task, a backfill)
so they do not hit the API in lock-step. At the default cap of 150 s with 20 % jitter a job costs about
27 requests per hour in steady state.

Pure Python, no Airflow or Google import: the numbers travel as plain trigger kwargs.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

DEFAULT_POLL_INTERVAL = 10.0
DEFAULT_MAX_POLL_INTERVAL = 150.0
DEFAULT_POLL_MULTIPLIER = 1.5
DEFAULT_POLL_JITTER = 0.2
DEFAULT_MAX_TRANSIENT_ERRORS = 5


@dataclass(frozen=True)
class PollPolicy:
    """Backoff between status polls.

    :param poll_interval: first wait, in seconds.
    :param max_poll_interval: the cap the wait grows to; a wait never exceeds it.
    :param poll_multiplier: growth factor per poll (1.0 = fixed interval).
    :param poll_jitter: fraction in [0, 1) by which each wait is randomly shortened (full jitter below
        the base value, so the cap stays a true upper bound).
    :param max_transient_errors: consecutive failed polls (5xx, 429, connection errors, each already
        retried by the client's own retry policy) that are each logged and retried on the normal backoff.
        Past it the API counts as unavailable: one WARNING, then polls at ``max_poll_interval`` until it
        answers. Transient errors never end a wait; its deadline does (see ``airflow_tuning.jobs.outage``).
    """

    poll_interval: float = DEFAULT_POLL_INTERVAL
    max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL
    poll_multiplier: float = DEFAULT_POLL_MULTIPLIER
    poll_jitter: float = DEFAULT_POLL_JITTER
    max_transient_errors: int = DEFAULT_MAX_TRANSIENT_ERRORS

    def __post_init__(self) -> None:
        for name in ("poll_interval", "max_poll_interval", "poll_multiplier", "poll_jitter"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
                raise ValueError(f"{name} must be a number, got {value!r}")
        if self.poll_interval <= 0:
            raise ValueError(f"poll_interval must be > 0 seconds, got {self.poll_interval}")
        if self.max_poll_interval < self.poll_interval:
            raise ValueError(
                f"max_poll_interval ({self.max_poll_interval}) must be >= "
                f"poll_interval ({self.poll_interval})"
            )
        if self.poll_multiplier < 1:
            raise ValueError(f"poll_multiplier must be >= 1, got {self.poll_multiplier}")
        if not 0 <= self.poll_jitter < 1:
            raise ValueError(f"poll_jitter must be in [0, 1), got {self.poll_jitter}")
        if isinstance(self.max_transient_errors, bool) or not isinstance(self.max_transient_errors, int):
            raise ValueError(f"max_transient_errors must be an integer, got {self.max_transient_errors!r}")
        if self.max_transient_errors < 0:
            raise ValueError(f"max_transient_errors must be >= 0, got {self.max_transient_errors}")

    @classmethod
    def build(
        cls,
        poll_interval: float | timedelta | None = None,
        max_poll_interval: float | timedelta | None = None,
        poll_multiplier: float | None = None,
        poll_jitter: float | None = None,
        max_transient_errors: int | None = None,
    ) -> PollPolicy:
        """A policy from operator arguments; None keeps a default, timedeltas become seconds.

        When only ``poll_interval`` is raised above the default cap, the cap follows it.
        """
        initial = _seconds(poll_interval, DEFAULT_POLL_INTERVAL)
        cap = _seconds(max_poll_interval, max(DEFAULT_MAX_POLL_INTERVAL, initial))
        return cls(
            poll_interval=initial,
            max_poll_interval=cap,
            poll_multiplier=DEFAULT_POLL_MULTIPLIER if poll_multiplier is None else float(poll_multiplier),
            poll_jitter=DEFAULT_POLL_JITTER if poll_jitter is None else float(poll_jitter),
            max_transient_errors=(
                DEFAULT_MAX_TRANSIENT_ERRORS if max_transient_errors is None else int(max_transient_errors)
            ),
        )

    @classmethod
    def of(cls, poll: PollPolicy | Mapping[str, Any] | None = None, **settings: Any) -> PollPolicy:
        """The policy a task declares: ``poll`` (a policy, or a mapping of its fields) with the separate
        keyword arguments (``poll_interval=...``, None meaning "not given") taking precedence.

        Unknown names are refused with the list of known ones, so a typo fails when the DAG is parsed.
        """
        if isinstance(poll, PollPolicy):
            given = poll.to_kwargs()
        elif poll is None:
            given = {}
        elif isinstance(poll, Mapping):
            given = dict(poll)
        else:
            raise ValueError(f"poll must be a PollPolicy or a mapping of its settings, got {poll!r}")
        given.update({key: value for key, value in settings.items() if value is not None})
        unknown = sorted(set(given) - set(POLL_ARGUMENTS))
        if unknown:
            raise ValueError(f"unknown poll setting(s) {', '.join(unknown)}; known: {', '.join(POLL_ARGUMENTS)}")
        return cls.build(**given)

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> PollPolicy:
        return cls(**{key: kwargs[key] for key in cls.__dataclass_fields__ if key in kwargs})

    def to_kwargs(self) -> dict[str, Any]:
        """Plain JSON values, for trigger kwargs."""
        return asdict(self)

    def base_interval(self, attempt: int) -> float:
        """The wait before poll number ``attempt + 1`` (0-based), before jitter."""
        if self.poll_multiplier == 1:
            return self.poll_interval
        # Past this exponent the cap has long been reached; stop before the float overflows.
        limit = math.log(self.max_poll_interval / self.poll_interval) / math.log(self.poll_multiplier)
        if attempt >= limit:
            return self.max_poll_interval
        return min(self.max_poll_interval, self.poll_interval * self.poll_multiplier ** max(0, attempt))

    def interval(self, attempt: int, rng: random.Random | None = None) -> float:
        """The jittered wait before poll ``attempt + 1``: in ``[base * (1 - jitter), base]``."""
        base = self.base_interval(attempt)
        draw = (rng or random).random()
        return base * (1.0 - self.poll_jitter * draw)

    def first_poll_offset(self, key: str) -> float:
        """Where in ``[0, poll_interval)`` the first poll of the jobs named by ``key`` falls.

        A triggerer that starts (or restarts) with thousands of deferred tasks would otherwise send every
        first poll in the same instant. The offset is a hash of the job names, not a random draw, so it is
        the same on every triggerer and every restart, spread evenly over the interval, and never delays a
        first poll by more than one ``poll_interval``; later polls keep the policy's backoff and jitter.
        """
        digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
        return self.poll_interval * int.from_bytes(digest, "big") / 2**64

    def attempt_at(self, elapsed: float) -> int:
        """How many waits fit into ``elapsed`` seconds: lets a rescheduled sensor resume its backoff."""
        attempt, total = 0, 0.0
        while True:
            step = self.base_interval(attempt)
            if total + step > elapsed:
                return attempt
            total += step
            attempt += 1
            if step >= self.max_poll_interval:
                return attempt + int((elapsed - total) // self.max_poll_interval)

    def steady_requests_per_hour(self) -> float:
        """Mean status requests per job-hour once the cap is reached (for docs and benchmarks)."""
        return 3600.0 / (self.max_poll_interval * (1.0 - self.poll_jitter / 2.0))


#: The settings a task or trigger accepts, as keyword arguments or as keys of ``poll=``.
POLL_ARGUMENTS = tuple(PollPolicy.__dataclass_fields__)


def _seconds(value: float | timedelta | None, default: float) -> float:
    if value is None:
        return float(default)
    if isinstance(value, timedelta):
        return value.total_seconds()
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"poll interval must be a number of seconds or a timedelta, got {value!r}") from None


def deadline_after(timeout: float | timedelta | None, now: float | None = None) -> float | None:
    """Absolute deadline (epoch seconds) ``timeout`` from now, or None for no deadline.

    An absolute time, not a duration, so that a trigger re-created after a triggerer restart keeps the
    original deadline instead of starting the clock again.
    """
    if timeout is None:
        return None
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
    if seconds < 0:
        raise ValueError(f"timeout must be >= 0 seconds, got {seconds}")
    return (time.time() if now is None else now) + seconds


def format_elapsed(seconds: float) -> str:
    """``75.2`` -> ``1m15s``; for log lines a human reads while a job runs for hours."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{sec:02d}s" if hours else f"{minutes}m{sec:02d}s"


class StateTracker:
    """Remembers each job's last seen state and words a log line when it changes.

    Elapsed time is measured from the job's own create time when known (so a trigger re-created after a
    triggerer restart still reports the job's real age), else from when tracking began.
    """

    def __init__(self, clock: Any = time.time) -> None:
        self._clock = clock
        self._started = clock()
        self._states: dict[str, str] = {}

    def last_state(self, job_name: str) -> str | None:
        return self._states.get(job_name)

    def observe(self, job_name: str, state: str, created: datetime | None = None) -> str | None:
        """Record ``state``; return a log line if it differs from the last one seen, else None."""
        previous = self._states.get(job_name)
        if previous == state:
            return None
        self._states[job_name] = state
        elapsed = self.elapsed(created)
        short = state.removeprefix("JOB_STATE_")
        if previous is None:
            return f"Tuning job {job_name} is {short} (elapsed {format_elapsed(elapsed)})"
        return (
            f"Tuning job {job_name}: {previous.removeprefix('JOB_STATE_')} -> {short} "
            f"(elapsed {format_elapsed(elapsed)})"
        )

    def elapsed(self, created: datetime | None = None) -> float:
        now = self._clock()
        if created is not None:
            if created.tzinfo is None:
                created = created.replace(tzinfo=timezone.utc)
            return now - created.timestamp()
        return now - self._started
