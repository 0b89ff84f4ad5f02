"""One retry policy, two expressions: google-genai HttpRetryOptions and google-api-core Retry."""

from __future__ import annotations

import pytest
from google.api_core import exceptions

from airflow_tuning.common.retry import RetryPolicy


def test_api_core_retry_rides_out_retryable_statuses_only():
    policy = RetryPolicy(attempts=4, initial_delay=0.01, max_delay=0.02, jitter=0)
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise exceptions.ServiceUnavailable("busy")
        return "ok"

    assert policy.api_core_retry()(flaky)() == "ok"
    assert len(calls) == 3

    def missing():
        calls.append(1)
        raise exceptions.NotFound("no such model")

    calls.clear()
    with pytest.raises(exceptions.NotFound):
        policy.api_core_retry()(missing)()
    assert len(calls) == 1


def test_both_expressions_share_the_numbers():
    policy = RetryPolicy(attempts=3, initial_delay=0.5, max_delay=4.0)
    options = policy.http_retry_options()
    assert (options.attempts, options.initial_delay, options.max_delay) == (3, 0.5, 4.0)
    assert sorted(options.http_status_codes) == sorted(policy.http_status_codes)
    assert policy.is_retryable(exceptions.TooManyRequests("slow down"))
    assert not policy.is_retryable(exceptions.BadRequest("bad"))


def test_invalid_numbers_are_rejected():
    with pytest.raises(ValueError, match="retry_attempts must be >= 1"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="retry delays"):
        RetryPolicy(initial_delay=5, max_delay=1)
