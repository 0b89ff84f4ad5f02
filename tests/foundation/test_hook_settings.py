"""Connection settings and credentials: each bad field is named; each credential source is honoured."""

from __future__ import annotations

import json

import pytest

from airflow_tuning.common.connection import ConnectionConfigError
from airflow_tuning.hooks.tuning import GeminiTuningHook

BASE = {"project": "p1", "location": "europe-west4"}


def test_missing_project_names_the_field(set_conn):
    set_conn({"location": "us-central1", "api_endpoint": "http://127.0.0.1:1"})
    with pytest.raises(ConnectionConfigError, match="field 'project' is required"):
        GeminiTuningHook().get_genai_client()


def test_unreadable_key_file_names_the_field(set_conn, tmp_path):
    set_conn({**BASE, "key_path": str(tmp_path / "missing.json")})
    with pytest.raises(ConnectionConfigError, match="field 'key_path'.*cannot be read"):
        GeminiTuningHook().get_credentials()


def test_key_file_that_is_not_json_names_the_field(set_conn, tmp_path):
    bad = tmp_path / "sa.json"
    bad.write_text("{not json")
    set_conn({**BASE, "key_path": str(bad)})
    with pytest.raises(ConnectionConfigError, match="field 'key_path'.*not valid JSON"):
        GeminiTuningHook().get_credentials()


def test_malformed_keyfile_json_names_the_field(set_conn):
    set_conn({**BASE, "keyfile_dict": '{"type": "service_account", '})
    with pytest.raises(ConnectionConfigError, match="field 'keyfile_dict' is not valid JSON"):
        GeminiTuningHook().settings  # noqa: B018


def test_keyfile_without_private_key_names_the_field(set_conn):
    set_conn({**BASE, "keyfile_dict": json.dumps({"type": "service_account", "client_email": "a@b"})})
    with pytest.raises(ConnectionConfigError, match="field 'keyfile_dict' is not a usable service-account key"):
        GeminiTuningHook().get_credentials()


def test_endpoint_must_be_a_url(set_conn):
    set_conn({**BASE, "api_endpoint": "127.0.0.1:8765"})
    with pytest.raises(ConnectionConfigError, match="field 'api_endpoint' must be an http"):
        GeminiTuningHook().settings  # noqa: B018


def test_keyfile_dict_gives_service_account_credentials(set_conn, service_account_info):
    set_conn({**BASE, "keyfile_dict": json.dumps(service_account_info)})
    creds = GeminiTuningHook().get_credentials()
    assert creds.service_account_email == service_account_info["client_email"]
    assert "https://www.googleapis.com/auth/cloud-platform" in creds.scopes


def test_key_path_gives_service_account_credentials(set_conn, service_account_info, tmp_path):
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(service_account_info))
    set_conn({**BASE, "key_path": str(path)})
    assert GeminiTuningHook().get_credentials().service_account_email == service_account_info["client_email"]


def test_impersonation_chain_targets_the_last_account(set_conn, service_account_info):
    from google.auth import impersonated_credentials

    chain = "first@p.iam.gserviceaccount.com, last@p.iam.gserviceaccount.com"
    set_conn({**BASE, "keyfile_dict": json.dumps(service_account_info), "impersonation_chain": chain})
    creds = GeminiTuningHook().get_credentials()
    assert isinstance(creds, impersonated_credentials.Credentials)
    assert creds._target_principal == "last@p.iam.gserviceaccount.com"
    assert creds._delegates == ["first@p.iam.gserviceaccount.com"]
    assert creds._source_credentials.service_account_email == service_account_info["client_email"]


def test_no_key_means_application_default_credentials(set_conn):
    """Off Google Cloud with no key, ADC is tried (and fails clearly): the hook does not invent credentials."""
    import google.auth.exceptions

    set_conn(BASE)
    with pytest.raises(google.auth.exceptions.DefaultCredentialsError):
        GeminiTuningHook().get_credentials()


def test_retry_policy_comes_from_the_connection(set_conn):
    set_conn({**BASE, "api_endpoint": "http://127.0.0.1:1", "retry_attempts": "3", "retry_max_delay": "7"})
    client = GeminiTuningHook().get_genai_client()
    options = client._api_client._http_options.retry_options
    assert (options.attempts, options.max_delay) == (3, 7.0)
    assert {429, 503} <= set(options.http_status_codes)


def test_bad_retry_setting_names_the_field(set_conn):
    set_conn({**BASE, "retry_attempts": "many"})
    with pytest.raises(ConnectionConfigError, match="'retry_attempts' must be a number"):
        GeminiTuningHook().settings  # noqa: B018


def test_project_and_location_are_passed_explicitly(set_conn):
    set_conn({**BASE, "api_endpoint": "http://127.0.0.1:1"})
    client = GeminiTuningHook().get_genai_client()
    assert (client._api_client.project, client._api_client.location) == ("p1", "europe-west4")
    assert client._api_client.vertexai


def test_clients_are_built_once_per_hook(set_conn):
    set_conn({**BASE, "api_endpoint": "http://127.0.0.1:1", "storage_endpoint": "http://127.0.0.1:2"})
    hook = GeminiTuningHook()
    assert hook.get_genai_client() is hook.get_genai_client()
    assert hook.get_storage_client() is hook.get_storage_client()
    assert hook.get_model_service_client() is hook.get_model_service_client()
    assert hook.get_async_genai_client() is hook.get_genai_client().aio


async def test_async_client_is_shared_per_connection(set_conn):
    set_conn({**BASE, "api_endpoint": "http://127.0.0.1:1"})
    set_conn({**BASE, "project": "p2", "api_endpoint": "http://127.0.0.1:1"}, conn_id="other_conn")
    GeminiTuningHook.forget_async_clients()
    first = await GeminiTuningHook.aget_async_genai_client()
    assert await GeminiTuningHook.aget_async_genai_client() is first
    other = await GeminiTuningHook.aget_async_genai_client("other_conn")
    assert other is not first
    assert other._api_client.project == "p2"
    GeminiTuningHook.forget_async_clients()


def test_async_transport_keeps_a_large_pool_alive(set_conn):
    """Evaluation runs 32 calls at once: httpx's default of 20 idle connections would churn connections."""
    from google.genai import _api_client

    set_conn({**BASE, "api_endpoint": "http://127.0.0.1:1"})
    client = GeminiTuningHook().get_genai_client()
    args = client._api_client._http_options.async_client_args
    if _api_client.has_aiohttp:
        assert not args  # aiohttp manages its own pool; httpx arguments would not apply
    else:
        assert args["limits"].max_keepalive_connections >= 32
        pool = client._api_client._async_httpx_client._transport._pool
        assert pool._max_keepalive_connections >= 32
