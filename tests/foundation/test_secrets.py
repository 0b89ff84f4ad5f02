"""Secrets from a connection never show in reprs or logs."""

from __future__ import annotations

import json
import logging

from airflow_tuning.hooks.tuning import GeminiTuningHook

API_KEY = "AIzaSy-very-secret-api-key-000"


def test_reprs_hide_keys(set_conn, service_account_info):
    set_conn({"project": "p", "keyfile_dict": json.dumps(service_account_info), "gemini_api_key": API_KEY})
    hook = GeminiTuningHook()
    settings = hook.settings
    assert settings.gemini_api_key == API_KEY
    for text in (repr(hook), repr(settings), str(settings)):
        assert API_KEY not in text
        assert "PRIVATE KEY" not in text
        assert service_account_info["private_key_id"] not in text


def test_building_clients_logs_no_secret(set_conn, service_account_info, caplog, capsys):
    set_conn({"project": "p", "keyfile_dict": json.dumps(service_account_info), "gemini_api_key": API_KEY,
              "api_endpoint": "https://127.0.0.1:1", "retry_attempts": 1})
    with caplog.at_level(logging.DEBUG):
        hook = GeminiTuningHook()
        hook.get_genai_client()
        hook.get_model_service_client()
        hook.test_connection()
    out = capsys.readouterr()
    for text in (caplog.text, out.out, out.err):
        assert API_KEY not in text
        assert "BEGIN PRIVATE KEY" not in text
