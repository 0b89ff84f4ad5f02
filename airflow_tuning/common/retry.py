"""The one retry policy, the one transient-error rule and the one retry loop of this provider.

Where a client library retries by itself, the policy configures it: google-genai's ``HttpRetryOptions``
(tenacity inside) and google-api-core's ``Retry`` (storage, Model Registry). Where code of ours must retry
(the Gemini Developer API client, a tuning-job create that must never run twice, a resumable upload),
it uses :meth:`RetryPolicy.retrying` / :meth:`RetryPolicy.aretrying`: tenacity configured from the same
numbers and :func:`is_transient`. A connection's ``retry_*`` extras tune all of them at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

RETRYABLE_STATUS_CODES = (408, 429, 500, 502, 503, 504)
#: Network failures by class name, so that neither httpx, requests nor aiohttp must be imported to judge.
_TRANSPORT_ERRORS = frozenset({
    "TransportError", "TimeoutException", "ServerDisconnectedError", "ClientConnectionError",
    "ConnectionError", "Timeout",
})  # fmt: skip


def is_transient(error: BaseException, status_codes: tuple[int, ...] = RETRYABLE_STATUS_CODES) -> bool:
    """The one rule for "worth another try": HTTP 408/429/5xx (an error carrying ``.code``) and network
    failures, including a connection dropped after the request was sent (which google-genai itself does
    not retry)."""
    code = getattr(error, "code", None)
    if isinstance(code, int) and not isinstance(code, bool):
        return code in status_codes
    if isinstance(error, (ConnectionError, TimeoutError)):
        return True
    return any(cls.__name__ in _TRANSPORT_ERRORS for cls in type(error).__mro__)


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff numbers; ``attempts`` counts the first call (1 = no retry)."""

    attempts: int = 6
    initial_delay: float = 1.0
    max_delay: float = 30.0
    exp_base: float = 2.0
    jitter: float = 1.0
    http_status_codes: tuple[int, ...] = field(default=RETRYABLE_STATUS_CODES)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"retry_attempts must be >= 1, got {self.attempts}")
        if self.initial_delay < 0 or self.max_delay < self.initial_delay:
            raise ValueError(
                f"retry delays must satisfy 0 <= retry_initial_delay <= retry_max_delay, "
                f"got {self.initial_delay} and {self.max_delay}"
            )

    @classmethod
    def from_extras(cls, extras: Mapping[str, Any]) -> RetryPolicy:
        """Read ``retry_attempts``, ``retry_initial_delay``, ``retry_max_delay`` from connection extras."""
        kwargs: dict[str, Any] = {}
        for key, conv in (
            ("attempts", int),
            ("initial_delay", float),
            ("max_delay", float),
            ("exp_base", float),
            ("jitter", float),
        ):
            raw = extras.get(f"retry_{key}")
            if raw not in (None, ""):
                try:
                    kwargs[key] = conv(raw)
                except (TypeError, ValueError):
                    raise ValueError(f"Connection extra 'retry_{key}' must be a number, got {raw!r}") from None
        return cls(**kwargs)

    def http_retry_options(self) -> Any:
        """The policy as google-genai ``types.HttpRetryOptions``."""
        from google.genai import types

        return types.HttpRetryOptions(
            attempts=self.attempts,
            initial_delay=self.initial_delay,
            max_delay=self.max_delay,
            exp_base=self.exp_base,
            jitter=self.jitter,
            http_status_codes=list(self.http_status_codes),
        )

    def api_core_retry(self) -> Any:
        """The policy as a google-api-core ``Retry`` (storage and Model Registry clients)."""
        from google.api_core import retry

        return retry.Retry(
            predicate=self.is_retryable,
            initial=self.initial_delay,
            maximum=self.max_delay,
            multiplier=self.exp_base,
            timeout=self.total_budget(),
        )

    def is_retryable(self, error: BaseException) -> bool:
        """:func:`is_transient` with this policy's status codes."""
        return is_transient(error, self.http_status_codes)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based): capped exponential plus jitter."""
        import random

        base = min(self.initial_delay * self.exp_base**attempt, self.max_delay)
        return base + random.uniform(0, self.jitter)

    def delay_within(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based) with the jitter taken off the capped
        exponential backoff instead of added to it: never longer than the backoff itself.

        For many concurrent calls against one quota (an evaluation's throttled calls): the retries still
        spread over ``jitter`` seconds, as with :meth:`delay`, but a call refused near the end of a batch,
        which decides the batch's wall time, does not wait past the policy's delay. With the defaults the
        first wait is 0-1 s (mean 0.5 s), like google-api-core's full jitter, instead of 1-2 s.
        """
        import random

        base = min(self.initial_delay * self.exp_base**attempt, self.max_delay)
        return base - random.uniform(0, min(self.jitter, base))

    def total_budget(self) -> float:
        """Seconds the whole retry sequence may take: the sum of its capped backoff delays, plus slack."""
        delays = (min(self.initial_delay * self.exp_base**i, self.max_delay) for i in range(self.attempts - 1))
        return sum(delays) + self.jitter * self.attempts + 1.0

    def _tenacity_kwargs(self, retryable: Callable[[BaseException], bool] | None, before_sleep: Any) -> dict[str, Any]:
        import tenacity

        return {
            "stop": tenacity.stop_after_attempt(self.attempts),
            "wait": tenacity.wait_exponential_jitter(
                initial=self.initial_delay, max=self.max_delay, exp_base=self.exp_base, jitter=self.jitter
            ),
            "retry": tenacity.retry_if_exception(retryable or self.is_retryable),
            "before_sleep": before_sleep,
            "reraise": True,
        }

    def retrying(
        self, retryable: Callable[[BaseException], bool] | None = None, *, before_sleep: Any = None
    ) -> Any:
        """The one retry loop (``for attempt in policy.retrying(): with attempt: ...``): tenacity with this
        policy's backoff; errors are retried when ``retryable`` (default :meth:`is_retryable`) says so, the
        last one re-raised unchanged."""
        import tenacity

        return tenacity.Retrying(**self._tenacity_kwargs(retryable, before_sleep))

    def aretrying(
        self, retryable: Callable[[BaseException], bool] | None = None, *, before_sleep: Any = None
    ) -> Any:
        """:meth:`retrying` for ``async for``."""
        import tenacity

        return tenacity.AsyncRetrying(**self._tenacity_kwargs(retryable, before_sleep))
