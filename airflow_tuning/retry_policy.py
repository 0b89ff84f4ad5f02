"""The one retry policy for every Google API call this provider makes.

Expressed through google-genai's own ``HttpRetryOptions`` (tenacity inside) rather than a hand-written
loop: 408/429/5xx and connection errors are retried with exponential backoff and jitter. The same
numbers configure google-api-core's ``Retry`` for the storage and Model Registry clients, so a
connection's ``retry_*`` extras tune all of them at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

RETRYABLE_STATUS_CODES = (408, 429, 500, 502, 503, 504)


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
        """True for the same HTTP statuses as google-genai retries, and for connection errors (including a
        connection dropped after the request was sent, which google-genai itself does not retry)."""
        import httpx
        import requests

        code = getattr(error, "code", None)
        if isinstance(code, int) and code in self.http_status_codes:
            return True
        transient = (ConnectionError, requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                     httpx.TransportError)
        return isinstance(error, transient)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based): capped exponential plus jitter."""
        import random

        base = min(self.initial_delay * self.exp_base**attempt, self.max_delay)
        return base + random.uniform(0, self.jitter)

    def total_budget(self) -> float:
        """Seconds the whole retry sequence may take: the sum of its capped backoff delays, plus slack."""
        delays = (min(self.initial_delay * self.exp_base**i, self.max_delay) for i in range(self.attempts - 1))
        return sum(delays) + self.jitter * self.attempts + 1.0
