"""Fixtures for connection and hook tests: a throwaway service-account key that no server ever sees."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="session")
def service_account_info() -> dict:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": "keyfile-project",
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": "tuner@keyfile-project.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": "http://127.0.0.1:9/token",  # loopback: a refresh attempt never leaves the machine
    }


@pytest.fixture
def set_conn(monkeypatch):
    """Install a ``gemini_tuning`` connection from extras, the way users do: an env var holding JSON."""

    def _set(extra: dict, conn_id: str = "gemini_tuning_default", **fields) -> str:
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "gemini_tuning", "extra": extra, **fields})
        )
        return conn_id

    return _set
