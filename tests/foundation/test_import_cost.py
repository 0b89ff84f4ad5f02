"""Importing the provider's DAG-facing modules, or parsing an example DAG, loads no Google SDK and none of the
run-time machinery (DAG parsing stays fast). Facts about what is loaded, not timings."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import airflow_tuning

HEAVY = ("google.genai", "google.cloud.aiplatform", "google.cloud.aiplatform_v1", "google.cloud.storage", "vertexai")


def _dag_facing_modules() -> list[str]:
    names = ["airflow_tuning", "airflow_tuning.get_provider_info"]
    for package in ("operators", "sensors", "triggers", "hooks"):
        pkg = __import__(f"airflow_tuning.{package}", fromlist=["_"])
        names += [f"airflow_tuning.{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)]
    names += [f"airflow_tuning.{m.name}" for m in pkgutil.iter_modules(airflow_tuning.__path__) if m.name == "links"]
    return names


def _run_fresh(code: str, timeout: int) -> str:
    """What ``code`` prints in a fresh interpreter (nothing imported yet); fails the test if it fails."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_no_google_sdk_at_module_level():
    modules = _dag_facing_modules()
    assert "airflow_tuning.hooks.tuning" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(','.join(sorted(m for m in sys.modules if m.startswith({HEAVY!r}))))\n"
    )
    stdout = _run_fresh(code, timeout=120)
    assert stdout.strip() == "", f"imported at module level: {stdout.strip()}"


# What a DAG file must not load when it is parsed: run-time machinery that the operators, sensor and triggers
# import inside the methods that run a task (or through the packages' lazy attributes).
RUN_TIME_ONLY = (
    "airflow_tuning.dataset.pipeline",
    "airflow_tuning.dataset.validation",
    "airflow_tuning.dataset.formats",
    "airflow_tuning.backends.vertex.continuation",
    "airflow_tuning.backends.vertex.jobs",
    "airflow_tuning.backends.vertex.champion",
    "airflow_tuning.backends.vertex.submission",
    "airflow_tuning.backends.gemini_api.service",
    "airflow_tuning.backends.gemini_api.jobs",
    "airflow_tuning.backends.gemini_api.submission",
    "airflow_tuning.evaluation.approval_body",
    "airflow_tuning.evaluation.gate",
    "airflow_tuning.evaluation.generation",
    "airflow_tuning.evaluation.classification",
    "airflow_tuning.evaluation.promotion_log",
    "airflow_tuning.evaluation.run",
    "airflow_tuning.jobs.watch",
    "airflow_tuning.jobs.outage",
    "airflow_tuning.jobs.summary",
    "airflow_tuning.jobs.cost",
    "airflow_tuning.jobs.identity",
    "airflow_tuning.tasks.budget",
    "airflow_tuning.tasks.lineage",
    "airflow_tuning.common.connection",
    "airflow_tuning.common.google_cloud",
    "airflow_tuning.common.watermark",
)
DAG_FILES = sorted(p.name for p in (Path(__file__).resolve().parents[2] / "dags").glob("*.py"))


@pytest.mark.parametrize("dag_file", DAG_FILES)
def test_parsing_an_example_dag_loads_no_run_time_machinery(dag_file):
    """Parsing a DAG pays for what defining its tasks needs: the chosen service's thin adapter module, the
    argument checks; never the data pipeline, the other service, the wait loops or any Google SDK."""
    path = Path(__file__).resolve().parents[2] / "dags" / dag_file
    code = (
        "import importlib.util, sys\n"
        "import airflow.sdk\n"
        f"spec = importlib.util.spec_from_file_location('parsed_dag', {str(path)!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "assert any(isinstance(v, airflow.sdk.DAG) for v in vars(module).values()), 'no DAG defined'\n"
        # Namespace packages (``google``, ``google.cloud``: no code, found while Airflow probes providers) aside.
        "code = lambda m: getattr(getattr(sys.modules[m], '__spec__', None), 'origin', None)"
        " not in (None, 'namespace')\n"
        "loaded = sorted(m for m in list(sys.modules) if m.startswith('airflow_tuning')"
        " or (m.split('.')[0] in ('google', 'vertexai') and code(m)))\n"
        "print('\\n'.join(loaded))\n"
    )
    stdout = _run_fresh(code, timeout=300)
    loaded = set(stdout.split())
    assert "airflow_tuning.operators" in {m.rsplit(".", 1)[0] for m in loaded}  # the probe saw our modules
    assert sorted(loaded & set(RUN_TIME_ONLY)) == []
    assert sorted(m for m in loaded if m.split(".")[0] in ("google", "vertexai")) == []


def test_lazy_package_names_still_import():
    """The packages' public names (README and docs paths) resolve, each to the object its module defines."""
    code = (
        "import sys\n"
        "import airflow_tuning.dataset as d, airflow_tuning.evaluation as e, airflow_tuning.backends as b\n"
        "assert 'airflow_tuning.dataset.pipeline' not in sys.modules\n"
        "assert 'airflow_tuning.evaluation.metrics' not in sys.modules\n"
        "assert 'airflow_tuning.backends.vertex.service' not in sys.modules\n"
        "from airflow_tuning.dataset import prepare, validate, Limits, PRESETS, DatasetValidationError\n"
        "from airflow_tuning.dataset.pipeline import prepare as p2\n"
        "from airflow_tuning.evaluation import score, resolve_metrics, evaluate_gate, parse_eval_lines\n"
        "from airflow_tuning.evaluation.metrics import score as s2\n"
        "assert prepare is p2 and score is s2 and set(d.__all__) <= set(dir(d)) and set(e.__all__) <= set(dir(e))\n"
        "from airflow_tuning.backends import DEFAULT_SERVICE, SERVICES, tuning_service\n"
        "assert DEFAULT_SERVICE is SERVICES['vertex'] is tuning_service('vertex') and len(SERVICES) == 2\n"
        "try:\n"
        "    d.no_such_name\n"
        "except AttributeError as err:\n"
        "    assert 'no_such_name' in str(err)\n"
        "else:\n"
        "    raise AssertionError('missing names must raise AttributeError')\n"
    )
    _run_fresh(code, timeout=120)


def test_choosing_a_service_imports_that_adapter_only():
    """``backend="vertex"`` at task definition imports the Vertex adapter's service module, not the other one."""
    code = (
        "import sys\n"
        "from airflow_tuning.operators.tuning import CreateTuningJobOperator\n"
        "op = CreateTuningJobOperator(task_id='t', base_model='gemini-2.5-flash',"
        " training_dataset_uri='gs://b/t.jsonl', backend='vertex')\n"
        "print(type(op.service).__name__)\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith('airflow_tuning.backends.'))))\n"
    )
    stdout = _run_fresh(code, timeout=120)
    kind, modules = stdout.split()
    assert kind == "VertexTuningService"
    assert "airflow_tuning.backends.vertex.service" in modules.split(",")
    assert not [m for m in modules.split(",") if "gemini_api" in m]
