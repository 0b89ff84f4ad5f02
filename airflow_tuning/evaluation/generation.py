"""Concurrent, bounded generation of predictions with google-genai's async client.

Evaluation is thousands of independent, latency-bound calls: a sequential loop spends almost all its time
waiting. Here every call is a task and a slot pool caps how many are in flight. Retries of 429/5xx follow the
connection's retry policy but happen outside the pool (see ``throttle``): a throttled call gives its slot
back while it waits, so throttling costs the retried calls' time, not the whole run's. Generation is
deterministic by default (temperature 0, one candidate, a fixed seed) so two evaluations of the same model
on the same data agree.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_tuning.common.retry import RetryPolicy
from airflow_tuning.evaluation.dataset import EvalExample
from airflow_tuning.evaluation.throttle import (
    DEFAULT_MAX_CONCURRENCY,
    Throttle,
    call_with_retries,
    no_client_retries,
)

DETERMINISTIC_CONFIG: dict[str, Any] = {"temperature": 0.0, "candidate_count": 1, "seed": 0}


class GenerationError(RuntimeError):
    """A call failed after the client's retries; the message names the example and the model."""


@dataclass(frozen=True)
class GenerationRequest:
    """One call to make: which model, which example."""

    model: str
    example: EvalExample


class Progress:
    """Counts finished calls and logs ``done/total, rate, ETA`` at a steady cadence while work runs."""

    def __init__(self, total: int, log: logging.Logger, *, interval: float = 5.0, what: str = "generations"):
        self.total, self.log, self.interval, self.what = total, log, interval, what
        self.done = 0
        self.started = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.done += n

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        remaining = self.total - self.done
        eta = f"{remaining / rate:.1f}s" if rate > 0 else "unknown"
        pct = 100.0 * self.done / self.total if self.total else 100.0
        return f"Evaluated {self.done}/{self.total} {self.what} ({pct:.1f}%), {rate:.1f}/s, ETA {eta}"

    async def report_until_done(self) -> None:
        """Log a progress line every ``interval`` seconds; cancelled by the caller when the work ends."""
        while True:
            await asyncio.sleep(self.interval)
            self.log.info(self.line())


def build_config(example: EvalExample, generation_config: Mapping[str, Any] | None, *,
                 http_options: Any = None) -> Any:
    """The example's ``GenerateContentConfig``: deterministic defaults, user overrides, its system prompt."""
    from google.genai import types

    # Automatic function calling is off: no tools are passed, and it would log a line per call.
    settings = {
        **DETERMINISTIC_CONFIG,
        "automatic_function_calling": {"disable": True},
        **(generation_config or {}),
    }
    if http_options is not None:
        settings["http_options"] = http_options
    if example.system_instruction is not None:
        settings["system_instruction"] = example.system_instruction
    return types.GenerateContentConfig(**settings)


def response_text(response: Any) -> str:
    """The first candidate's text; a blocked or empty answer is an empty prediction, not an error."""
    candidates = getattr(response, "candidates", None) or []
    if not candidates or candidates[0].content is None:
        return ""
    return "".join(part.text or "" for part in (candidates[0].content.parts or []) if not part.thought)


async def generate_all(
    aio_client: Any,
    requests: Sequence[GenerationRequest],
    *,
    source: str,
    generation_config: Mapping[str, Any] | None = None,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    log: logging.Logger,
    progress_interval: float = 5.0,
    retry: RetryPolicy | None = None,
) -> list[str]:
    """Predictions for every request, in order. The first failure cancels the rest and is raised.

    ``retry`` is the connection's retry policy (the default policy when None).
    """
    if max_concurrency < 1:
        raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
    policy = retry or RetryPolicy()
    throttle = Throttle(max_concurrency)
    single_attempt = no_client_retries()
    progress = Progress(len(requests), log, interval=progress_interval)
    results: list[str] = [""] * len(requests)

    async def one(index: int, request: GenerationRequest) -> None:
        config = build_config(request.example, generation_config, http_options=single_attempt)
        try:
            response = await call_with_retries(
                lambda: aio_client.models.generate_content(
                    model=request.model, contents=request.example.contents, config=config
                ),
                throttle,
                policy,
            )
        except Exception as err:
            raise GenerationError(
                f"{source} line {request.example.line}: generateContent on {request.model} failed "
                f"after the connection's retries: {type(err).__name__}: {err}"
            ) from err
        results[index] = response_text(response)
        progress.advance()

    log.info("Generating %d predictions with at most %d calls in flight", len(requests), max_concurrency)
    reporter = asyncio.ensure_future(progress.report_until_done())
    tasks = [asyncio.ensure_future(one(i, r)) for i, r in enumerate(requests)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        failed = next((t for t in tasks if t.done() and not t.cancelled() and t.exception()), None)
        if failed is not None:
            raise failed.exception()  # type: ignore[misc]
    finally:
        unfinished = [t for t in tasks if not t.done()]
        for task in [*unfinished, reporter]:
            task.cancel()
        await asyncio.gather(*unfinished, reporter, return_exceptions=True)
    log.info(progress.line())
    return results
