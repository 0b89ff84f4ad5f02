"""Importing the provider's DAG-facing modules must not import any Google SDK (DAG parsing stays fast)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import airflow_tuning

HEAVY = ("google.genai", "google.cloud.aiplatform", "google.cloud.aiplatform_v1", "google.cloud.storage", "vertexai")


def _dag_facing_modules() -> list[str]:
    names = ["airflow_tuning", "airflow_tuning.get_provider_info"]
    for package in ("operators", "sensors", "triggers", "hooks"):
        pkg = __import__(f"airflow_tuning.{package}", fromlist=["_"])
        names += [f"airflow_tuning.{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)]
    names += [f"airflow_tuning.{m.name}" for m in pkgutil.iter_modules(airflow_tuning.__path__) if m.name == "links"]
    return names


def test_no_google_sdk_at_module_level():
    modules = _dag_facing_modules()
    assert "airflow_tuning.hooks.tuning" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(','.join(sorted(m for m in sys.modules if m.startswith({HEAVY!r}))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "", f"imported at module level: {proc.stdout.strip()}"
