"""A triggerer (re)starting with thousands of ``TuningJobTrigger``s spreads their first polls over the first
poll interval: each job's offset is fixed by its name, bounded by ``poll_interval`` and evenly spread."""

from __future__ import annotations

import time

from airflow_tuning.hooks.tuning import GeminiTuningHook
from airflow_tuning.jobs.polling import PollPolicy
from airflow_tuning.jobs.watch import JobWaiter, _wait_plan
from airflow_tuning.triggers.tuning import TuningJobTrigger

NAMES = [f"projects/p/locations/us-central1/tuningJobs/{1000000 + i}" for i in range(10_000)]


def test_first_polls_of_10000_triggers_are_spread_evenly_within_the_first_interval():
    offsets = [TuningJobTrigger(name).first_poll_delay for name in NAMES]
    interval = PollPolicy().poll_interval
    assert all(0 <= offset < interval for offset in offsets)
    buckets = [0] * 20  # half-second buckets of the 10 s default interval: 500 each when even
    for offset in offsets:
        buckets[int(offset / interval * 20)] += 1
    assert min(buckets) >= 400 and max(buckets) <= 600, buckets


def test_first_poll_offset_is_the_same_on_every_restart_and_follows_the_policy():
    name = NAMES[0]
    assert TuningJobTrigger(name).first_poll_delay == TuningJobTrigger(name).first_poll_delay
    # A restarted trigger is rebuilt from its serialized kwargs: same offset.
    _, kwargs = TuningJobTrigger(name, poll_interval=4).serialize()
    assert TuningJobTrigger(**kwargs).first_poll_delay == TuningJobTrigger(name, poll_interval=4).first_poll_delay
    fraction = TuningJobTrigger(name).first_poll_delay / 10
    assert TuningJobTrigger(name, poll_interval=4).first_poll_delay == 4 * fraction
    # Several jobs in one trigger: one offset for the set, still inside the interval.
    assert 0 <= TuningJobTrigger(NAMES[:3]).first_poll_delay < 10


def test_the_wait_sleeps_the_offset_before_its_first_poll_and_never_past_the_deadline():
    policy = PollPolicy()
    plan = _wait_plan(JobWaiter([NAMES[0]], policy, None, None, first_delay=7.5))
    assert next(plan) == ("sleep", 7.5)
    assert plan.send(None) == ("get", NAMES[0])
    now = 1000.0
    plan = _wait_plan(JobWaiter([NAMES[0]], policy, now + 2, None, clock=lambda: now, first_delay=7.5))
    assert next(plan) == ("sleep", 2.0)
    assert next(_wait_plan(JobWaiter([NAMES[0]], policy, None, None))) == ("get", NAMES[0])


async def test_trigger_makes_its_first_poll_only_after_its_offset(gemini_conn, submit, test_id):
    """Deadline before the offset: the trigger's only poll comes at the deadline (without the offset it would
    poll at once, then once more at the deadline)."""
    job = submit(duration_ms=600_000, labels={"lifecycle-test": test_id})
    fraction = TuningJobTrigger(job.name).first_poll_delay / PollPolicy().poll_interval
    interval = max(3600.0, 120.0 / max(fraction, 1e-9))  # so that the offset is at least two minutes
    deadline = time.time() + 0.5
    trigger = TuningJobTrigger(job.name, deadline=deadline, cancel_on_kill=False,
                               poll_interval=interval, max_poll_interval=interval)
    assert trigger.first_poll_delay >= 120
    shared = await GeminiTuningHook.aget_async_genai_client()
    real_get, polled_at = shared.tunings.get, []

    async def spy_get(*, name, config=None):  # a spy on the real shared client
        polled_at.append(time.time())
        return await real_get(name=name, config=config)

    shared.tunings.get = spy_get
    try:
        event = await trigger.run().asend(None)
    finally:
        shared.tunings.get = real_get
    assert event.payload["status"] == "timeout"
    assert len(polled_at) == 1 and polled_at[0] >= deadline - 0.01
