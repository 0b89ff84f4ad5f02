"""Many triggers on one event loop never have more status requests in flight than the poll gate allows."""

from __future__ import annotations

import asyncio

from airflow_tuning.hooks.tuning import GeminiTuningHook
from airflow_tuning.jobs import poll_gate
from airflow_tuning.triggers.tuning import TuningJobTrigger

FAST = {"poll_interval": 0.1, "max_poll_interval": 0.2}


async def test_triggers_started_at_once_share_a_bounded_number_of_requests(gemini_conn, submit, test_id,
                                                                              monkeypatch):
    monkeypatch.setattr(poll_gate, "MAX_POLLS_IN_FLIGHT", 3)
    jobs = [submit(duration_ms=2000, labels={"lifecycle-test": test_id}) for _ in range(12)]
    gemini_conn.set_faults([{"route": r"^GET .*/tuningJobs/", "latency_ms": 50}])
    shared = await GeminiTuningHook.aget_async_genai_client()
    real_get = shared.tunings.get
    in_flight = peak = calls = 0

    async def counting_get(*, name, config=None):  # a spy on the real shared client
        nonlocal in_flight, peak, calls
        in_flight += 1
        calls += 1
        peak = max(peak, in_flight)
        try:
            return await real_get(name=name, config=config)
        finally:
            in_flight -= 1

    shared.tunings.get = counting_get
    try:
        events = await asyncio.gather(*(TuningJobTrigger(job.name, **FAST).run().asend(None) for job in jobs))
    finally:
        shared.tunings.get = real_get
        gemini_conn.clear_faults()
    assert [e.payload["status"] for e in events] == ["success"] * len(jobs)
    assert calls >= len(jobs)
    assert peak == 3  # the gate was full (12 first polls at once) and never exceeded
