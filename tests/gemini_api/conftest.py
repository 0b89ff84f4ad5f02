"""Fixtures for the Gemini Developer API backend: settings with an API key, on the session emulator."""

from __future__ import annotations

import pytest

from airflow_tuning.common.connection import ConnectionSettings

API_KEY = "AIzaSy-gemini-api-test-key-7f3c9d"
FAST_RETRY = {"retry_attempts": 4, "retry_initial_delay": 0.05, "retry_max_delay": 0.2, "retry_jitter": 0.01}


@pytest.fixture
def settings(emulator) -> ConnectionSettings:
    extra = emulator.connection_extra(gemini_api_key=API_KEY, **FAST_RETRY)
    return ConnectionSettings.from_extras("gemini_api_tests", extra)


@pytest.fixture
def client(settings):
    from airflow_tuning.backends.gemini_api.client import build_gemini_api_client

    client = build_gemini_api_client(settings)
    yield client
    client.close()


@pytest.fixture
def genai_client(settings):
    from airflow_tuning.backends.gemini_api.client import build_gemini_api_genai_client

    return build_gemini_api_genai_client(settings)


@pytest.fixture
def gemini_api_conn(emulator, monkeypatch):
    """The default connection, pointed at the emulator, with a Gemini API key."""
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_GEMINI_TUNING_DEFAULT", emulator.connection_json(gemini_api_key=API_KEY, **FAST_RETRY)
    )
    GeminiTuningHook.forget_async_clients()
    yield emulator
    GeminiTuningHook.forget_async_clients()
