"""Throttled generation calls wait outside the concurrency limit, as long as the service asks, retried first."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest

from airflow_tuning.common.retry import RetryPolicy
from airflow_tuning.evaluation.dataset import parse_eval_lines
from airflow_tuning.evaluation.generation import GenerationRequest, generate_all
from airflow_tuning.evaluation.throttle import NEW_CALL, RETRY_FIRST, PrioritySlots, asked_delay, retry_delay

MODEL = "gemini-2.5-flash"


def _examples(n: int):
    lines = [json.dumps({"contents": [{"role": "user", "parts": [{"text": f"question {i}"}]},
                                      {"role": "model", "parts": [{"text": "a"}]}]}) for i in range(n)]
    return parse_eval_lines(lines, "gs://b/e.jsonl")


def _api_error(status: int, body: dict, headers: dict | None = None):
    from google.genai import errors

    response = httpx.Response(status, headers=headers or {}, json=body)
    return errors.ClientError(status, body, response)


def test_a_throttled_call_gives_its_slot_back_while_it_waits(gemini_conn, emulator):
    """One slot, three calls, the first answered 429 once: the others run during its backoff."""
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    hook = GeminiTuningHook()
    started: list[str] = []
    emulator.set_faults([{"route": r"^POST .*:generateContent$", "status": 429, "count": 1}])
    emulator.reset_stats()

    async def run():
        aio = hook.get_async_genai_client()
        real = aio.models.generate_content

        async def recording(*, model, contents, config):  # a spy on the real client: records call order
            started.append(contents[0]["parts"][0]["text"] if isinstance(contents[0], dict)
                           else contents[0].parts[0].text)
            return await real(model=model, contents=contents, config=config)

        aio.models.generate_content = recording
        try:
            return await generate_all(aio, [GenerationRequest(MODEL, ex) for ex in _examples(3)],
                                      source="gs://b/e.jsonl", max_concurrency=1, log=logging.getLogger("t"),
                                      retry=RetryPolicy(initial_delay=1.0, jitter=0.0))
        finally:
            await aio.aclose()

    try:
        predictions = asyncio.run(run())
    finally:
        stats = emulator.stats()
        emulator.clear_faults()
    assert len(predictions) == 3 and all(predictions)
    assert stats["faults_by_kind"].get("429") == 1
    # The throttled first call is tried again only after the other two took the slot during its backoff; the
    # client library's own retry (now off for these calls) would have retried it inside the slot.
    assert started == ["question 0", "question 1", "question 2", "question 0"], started


def test_a_call_that_stays_throttled_fails_after_the_policy_attempts(gemini_conn, emulator):
    from airflow_tuning.evaluation.generation import GenerationError
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    hook = GeminiTuningHook()
    emulator.set_faults([{"route": r"^POST .*:generateContent$", "status": 429}])
    emulator.reset_stats()

    async def run():
        aio = hook.get_async_genai_client()
        try:
            return await generate_all(aio, [GenerationRequest(MODEL, ex) for ex in _examples(1)],
                                      source="gs://b/e.jsonl", log=logging.getLogger("t"),
                                      retry=RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.05, jitter=0.0))
        finally:
            await aio.aclose()

    try:
        with pytest.raises(GenerationError, match=r"gs://b/e.jsonl line 1: .*429"):
            asyncio.run(run())
        stats = emulator.stats()
    finally:
        emulator.clear_faults()
    assert stats["faults_by_kind"].get("429") == 3  # exactly the policy's attempts, no client retries on top


def test_retries_take_the_next_free_slot_before_calls_not_yet_started():
    async def run() -> list[str]:
        slots = PrioritySlots(1)
        order: list[str] = []
        await slots.acquire()

        async def waiter(name: str, priority: int) -> None:
            await slots.acquire(priority)
            order.append(name)
            slots.release()

        tasks = [asyncio.ensure_future(waiter("new-1", NEW_CALL)), asyncio.ensure_future(waiter("new-2", NEW_CALL))]
        await asyncio.sleep(0)
        tasks.append(asyncio.ensure_future(waiter("retry", RETRY_FIRST)))
        await asyncio.sleep(0)
        slots.release()
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(run()) == ["retry", "new-1", "new-2"]


def test_a_cancelled_waiter_does_not_lose_the_slot():
    async def run() -> bool:
        slots = PrioritySlots(1)
        await slots.acquire()
        waiting = asyncio.ensure_future(slots.acquire())
        await asyncio.sleep(0)
        waiting.cancel()
        slots.release()
        await asyncio.gather(waiting, return_exceptions=True)
        await asyncio.wait_for(slots.acquire(), timeout=5)  # the slot is free again
        return True

    assert asyncio.run(run())


def test_the_wait_is_what_the_service_asks_capped_by_the_policy():
    policy = RetryPolicy(initial_delay=1.0, max_delay=10.0, jitter=0.0)
    header = _api_error(429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}, {"Retry-After": "0.25"})
    assert asked_delay(header) == 0.25 and retry_delay(header, policy, 3) == 0.25
    info = _api_error(429, {"error": {"code": 429, "details": [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2.5s"}]}})
    assert asked_delay(info) == 2.5
    too_long = _api_error(429, {"error": {"code": 429, "details": [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "600s"}]}})
    assert retry_delay(too_long, policy, 0) == 10.0
    silent = _api_error(429, {"error": {"code": 429}})
    assert asked_delay(silent) is None and retry_delay(silent, policy, 1) == 2.0  # the policy's backoff


def test_without_an_asked_delay_the_jitter_is_inside_the_backoff_never_past_it():
    """The last calls of an evaluation decide its wall time: a silent 429 waits at most the policy's backoff."""
    silent = _api_error(429, {"error": {"code": 429}})
    policy = RetryPolicy()  # 1 s initial delay, 1 s jitter, doubling
    first = [retry_delay(silent, policy, 0) for _ in range(2000)]
    assert all(0.0 <= d <= 1.0 for d in first), (min(first), max(first))
    assert min(first) < 0.25 and max(first) > 0.75, "the retries must still spread over the jitter"
    third = [retry_delay(silent, policy, 2) for _ in range(2000)]
    assert all(3.0 <= d <= 4.0 for d in third), (min(third), max(third))
    capped = RetryPolicy(initial_delay=1.0, max_delay=5.0, jitter=10.0)
    assert all(0.0 <= retry_delay(silent, capped, 8) <= 5.0 for _ in range(200))
