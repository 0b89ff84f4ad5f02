"""Emulator test fixtures: one module-scoped emulator per test module, and real SDK clients built by the
hook's builders from the emulator's connection settings (no Airflow connection needed)."""

from __future__ import annotations

import pytest

from airflow_tuning.common.connection import ConnectionSettings
from airflow_tuning.emulator import Emulator

FAST_RETRY = {"retry_attempts": 6, "retry_initial_delay": 0.05, "retry_max_delay": 0.2, "retry_jitter": 0.01}


@pytest.fixture(scope="module")
def emu():
    with Emulator(job_duration=0.6, seed=7) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def settings(emu) -> ConnectionSettings:
    return ConnectionSettings.from_extras("emulator_tests", emu.connection_extra(**FAST_RETRY))


@pytest.fixture(scope="module")
def client(settings):
    from airflow_tuning.hooks.tuning import build_genai_client

    return build_genai_client(settings)


@pytest.fixture(scope="module")
def storage(settings):
    from airflow_tuning.hooks.tuning import build_storage_client

    return build_storage_client(settings)


@pytest.fixture(scope="module")
def model_service(settings):
    from airflow_tuning.hooks.tuning import build_model_service_client

    return build_model_service_client(settings)
