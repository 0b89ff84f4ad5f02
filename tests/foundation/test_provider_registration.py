"""The provider registers with Airflow: schema-valid info, visible to the real ``airflow providers`` CLI."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from airflow_tuning.get_provider_info import get_provider_info

AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def test_provider_info_matches_airflow_schema():
    import airflow

    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)
    assert get_provider_info()["package-name"] == "airflow-tuning"


def test_every_registered_class_and_module_imports():
    info = get_provider_info()
    sections = ("hooks", "operators", "sensors", "triggers")
    modules = [m for section in sections for item in info[section] for m in item["python-modules"]]
    classes = list(info["extra-links"]) + [c["hook-class-name"] for c in info["connection-types"]]
    for module in modules:
        importlib.import_module(module)
    for path in classes:
        module, _, name = path.rpartition(".")
        assert getattr(importlib.import_module(module), name)


def test_connection_form_declares_fields_and_secrets():
    (conn_type,) = get_provider_info()["connection-types"]
    assert conn_type["connection-type"] == "gemini_tuning"
    fields = conn_type["conn-fields"]
    expected = {"project", "location", "key_path", "keyfile_dict", "impersonation_chain", "api_endpoint",
                "storage_endpoint", "gemini_api_key"}
    assert expected <= set(fields)
    secret = {name for name, spec in fields.items() if spec["schema"].get("format") == "password"}
    assert secret == {"keyfile_dict", "gemini_api_key"}


def _airflow_cli(*args: str) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    proc = subprocess.run([AIRFLOW, *args], capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.usefixtures("airflow_db")
def test_airflow_cli_lists_provider_hook_and_connection_type():
    listed = json.loads(_airflow_cli("providers", "list", "--output", "json"))
    ours = [p for p in listed if p["package_name"] == "airflow-tuning"]
    assert ours and ours[0]["version"] == "0.1.0"

    hooks = json.loads(_airflow_cli("providers", "hooks", "--output", "json"))
    row = next(h for h in hooks if h["connection_type"] == "gemini_tuning")
    assert row["class"] == "airflow_tuning.hooks.tuning.GeminiTuningHook"
    assert row["package_name"] == "airflow-tuning"

    widgets = _airflow_cli("providers", "widgets", "--output", "json")
    assert "extra__gemini_tuning__keyfile_dict" in widgets
