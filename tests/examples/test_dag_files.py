"""DAG files stay cheap to parse: module-level imports are only airflow.sdk, airflow_tuning and the stdlib,
and importing one loads no Google SDK (the parse-time figure itself comes from benchmarks/dag_parse.py)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

DAGS = sorted((Path(__file__).resolve().parents[2] / "dags").glob("*.py"))
ALLOWED = ("airflow.sdk", "airflow_tuning", "__future__", "os", "datetime")
HEAVY = ("google.genai", "google.cloud.aiplatform", "google.cloud.storage", "vertexai", "rouge_score", "sacrebleu")


def test_every_example_dag_is_checked():
    assert {p.stem for p in DAGS} >= {"gemini_scheduled_retraining", "gemini_tune_on_demand", "gemini_cancel_tuning"}


@pytest.mark.parametrize("path", DAGS, ids=lambda p: p.stem)
def test_module_level_imports(path):
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            assert name.startswith(ALLOWED), f"{path.name}:{node.lineno} imports {name} at module level"


@pytest.mark.parametrize("path", DAGS, ids=lambda p: p.stem)
def test_parsing_loads_no_google_sdk(path, tmp_path):
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('dag_under_test', {str(path)!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "assert module.dag.dag_id\n"
        f"print(','.join(sorted(m for m in sys.modules if m.startswith({HEAVY!r}))))\n"
    )
    env = {"AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1:] in ([], [""]), f"loaded at parse time: {proc.stdout.strip()}"
