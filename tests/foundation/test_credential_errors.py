"""Errors about credentials name the field and the problem, never a value (the UI shows test_connection())."""

from __future__ import annotations

import json

import pytest

from airflow_tuning.common.connection import ConnectionConfigError
from airflow_tuning.hooks.tuning import GeminiTuningHook


def pem_lines(info: dict) -> list[str]:
    return [line for line in info["private_key"].splitlines() if len(line) > 20]


def bad_keys(info: dict) -> dict[str, tuple[dict, str]]:
    return {
        "key as a list of lines": ({**info, "private_key": info["private_key"].splitlines()},
                                   "field 'private_key' must be a string, got a list"),
        "key not PEM": ({**info, "private_key": info["private_key"].replace("-----BEGIN", "")},
                        "field 'private_key' is not a PEM private key"),
        "garbled PEM body": ({**info, "private_key": info["private_key"].replace("M", "x", 40)},
                             "while loading it; check its 'private_key'"),
        "no client_email": ({k: v for k, v in info.items() if k != "client_email"}, "'client_email' is missing"),
    }


@pytest.mark.parametrize("case", ["key as a list of lines", "key not PEM", "garbled PEM body", "no client_email"])
def test_a_bad_service_account_key_is_named_not_quoted(set_conn, service_account_info, case):
    key, expected = bad_keys(service_account_info)[case]
    set_conn({"project": "p", "keyfile_dict": json.dumps(key), "api_endpoint": "http://127.0.0.1:1"})
    hook = GeminiTuningHook()
    with pytest.raises(ConnectionConfigError) as raised:
        hook.get_genai_client()
    ok, message = hook.test_connection()
    assert not ok
    for text in (str(raised.value), message):
        assert "field 'keyfile_dict'" in text and expected in text, text
        for line in pem_lines(service_account_info):
            assert line not in text
        assert "PRIVATE KEY-----" not in text


def test_a_key_file_with_a_list_key_is_named_not_quoted(set_conn, service_account_info, tmp_path):
    path = tmp_path / "key.json"
    lines = service_account_info["private_key"].split("\n")
    path.write_text(json.dumps({**service_account_info, "private_key": lines}))
    set_conn({"project": "p", "key_path": str(path), "api_endpoint": "http://127.0.0.1:1"})
    ok, message = GeminiTuningHook().test_connection()
    assert not ok and "field 'key_path'" in message and "'private_key' must be a string" in message
    assert not any(line in message for line in pem_lines(service_account_info))


def test_scrub_removes_each_secret_line_raw_or_escaped():
    from airflow_tuning.common.credentials import scrub

    key = {"private_key": "-----BEGIN-----\nAAAAsecretline1\nBBBBsecretline2\n-----END-----\n"}
    text = f"ValueError: {key['private_key'].splitlines()!r} and {key['private_key']!r} could not be converted"
    cleaned = scrub(text, [key])
    assert "secretline" not in cleaned and "***" in cleaned
