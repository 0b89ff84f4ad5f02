"""The shared poll policy: short first wait, geometric growth to a cap, jitter below the base, validation."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from airflow_tuning.jobs.polling import PollPolicy, StateTracker, deadline_after, format_elapsed


def test_intervals_grow_geometrically_to_the_cap():
    policy = PollPolicy(poll_interval=10, max_poll_interval=150, poll_multiplier=1.5, poll_jitter=0)
    waits = [policy.interval(n) for n in range(12)]
    assert waits[:4] == [10, 15, 22.5, 33.75]
    assert waits[-1] == 150
    assert all(a <= b for a, b in zip(waits, waits[1:]))
    assert policy.base_interval(10_000) == 150  # no float overflow far past the cap


def test_jitter_only_shortens_and_spreads_waits():
    policy = PollPolicy(poll_interval=100, max_poll_interval=100, poll_multiplier=1, poll_jitter=0.2)
    rng = random.Random(7)
    waits = [policy.interval(5, rng) for _ in range(500)]
    assert min(waits) >= 80 and max(waits) <= 100
    assert max(waits) - min(waits) > 15  # really spread, not a constant


def test_default_policy_meets_the_steady_state_request_budget():
    policy = PollPolicy()
    assert policy.poll_interval <= 15
    assert policy.max_poll_interval >= 120
    assert policy.steady_requests_per_hour() <= 30


def test_attempt_at_resumes_backoff_from_elapsed_time():
    policy = PollPolicy(poll_interval=10, max_poll_interval=40, poll_multiplier=2, poll_jitter=0)
    assert policy.attempt_at(0) == 0
    assert policy.attempt_at(9.9) == 0
    assert policy.attempt_at(10) == 1  # one 10 s wait fits
    assert policy.attempt_at(30) == 2  # 10 + 20
    assert policy.attempt_at(70 + 40 * 3) == 6  # 10 + 20 + 40, then three capped waits
    assert policy.base_interval(policy.attempt_at(1000)) == 40


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"poll_interval": 0}, "poll_interval must be > 0"),
        ({"poll_interval": 10, "max_poll_interval": 5}, "max_poll_interval"),
        ({"poll_multiplier": 0.5}, "poll_multiplier must be >= 1"),
        ({"poll_jitter": 1.0}, "poll_jitter must be in"),
        ({"max_transient_errors": -1}, "max_transient_errors must be >= 0"),
        ({"poll_interval": "fast"}, "poll_interval must be a number"),
    ],
)
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PollPolicy(**kwargs)


def test_build_accepts_timedeltas_and_lifts_the_cap_with_a_long_first_interval():
    policy = PollPolicy.build(poll_interval=timedelta(minutes=5))
    assert policy.poll_interval == 300 and policy.max_poll_interval == 300
    assert PollPolicy.from_kwargs(policy.to_kwargs()) == policy


def test_deadline_is_absolute():
    assert deadline_after(None) is None
    assert deadline_after(timedelta(seconds=30), now=1000.0) == 1030.0
    with pytest.raises(ValueError):
        deadline_after(-1)


def test_state_tracker_logs_only_changes_with_elapsed_time():
    now = [1_000_000.0]
    tracker = StateTracker(clock=lambda: now[0])
    created = datetime.fromtimestamp(now[0] - 75, tz=timezone.utc)
    first = tracker.observe("jobs/1", "JOB_STATE_PENDING", created)
    assert first == "Tuning job jobs/1 is PENDING (elapsed 1m15s)"
    assert tracker.observe("jobs/1", "JOB_STATE_PENDING", created) is None
    now[0] += 3600
    assert tracker.observe("jobs/1", "JOB_STATE_RUNNING", created) == (
        "Tuning job jobs/1: PENDING -> RUNNING (elapsed 1h01m15s)"
    )
    assert format_elapsed(2.5) == "2.5s"
