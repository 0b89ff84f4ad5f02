"""The reference documentation is generated from the code and cannot rot.

``mkdocs build --strict`` (mkdocstrings + griffe) fails on any warning: a documented parameter that is not
in the signature, a broken link, a CLI marker naming no command. What griffe does not check is checked
here: every parameter of every public operator, sensor, trigger and the hook is documented, every templated
field is named on the page, and every operator says what it returns to XCom.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MKDOCS = Path(sys.executable).with_name("mkdocs")
CLASSES = {
    "operators": [
        "airflow_tuning.operators.dataset.UploadDatasetOperator",
        "airflow_tuning.operators.tuning.CreateTuningJobOperator",
        "airflow_tuning.operators.tuning.ContinueTuningOperator",
        "airflow_tuning.operators.cancel.CancelTuningJobOperator",
        "airflow_tuning.operators.evaluation.EvaluateTunedModelOperator",
        "airflow_tuning.operators.evaluation.PromoteTunedModelOperator",
        "airflow_tuning.operators.approval.PromotionApprovalOperator",
        "airflow_tuning.operators.promotion.RollbackChampionOperator",
        "airflow_tuning.operators.gemini_api.DeleteTunedModelOperator",
        "airflow_tuning.tasks.job_task.TuningJobTask",
    ],
    "sensors": ["airflow_tuning.sensors.tuning.TuningJobSensor"],
    "triggers": ["airflow_tuning.triggers.tuning.TuningJobTrigger",
                 "airflow_tuning.triggers.gcs_objects.GCSNewObjectsTrigger"],
    "hooks": ["airflow_tuning.hooks.tuning.GeminiTuningHook"],
}
ALL = [path for paths in CLASSES.values() for path in paths]


def _load(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run([str(MKDOCS), "build", "--strict", "--site-dir", str(out)], cwd=REPO,
                            capture_output=True, text=True, timeout=600,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return out


def _text(page: Path) -> str:
    return re.sub(r"<[^>]+>", " ", page.read_text())


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.rsplit(".", 1)[-1])
def test_every_parameter_is_documented(path: str):
    cls = _load(path)
    doc = inspect.getdoc(cls) or ""
    own = [p for p in inspect.signature(cls.__init__).parameters.values()
           if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    missing = [p.name for p in own if f":param {p.name}:" not in doc]
    assert not missing, f"{path}: parameters without ':param NAME:' in the class docstring: {missing}"


@pytest.mark.parametrize("path", CLASSES["operators"][:-1] + CLASSES["sensors"], ids=lambda p: p.rsplit(".", 1)[-1])
def test_every_operator_says_what_it_returns_to_xcom(path: str):
    doc = inspect.getdoc(_load(path)) or ""
    assert re.search(r"Returns \(XCom", doc), f"{path}: no 'Returns (XCom ...)' paragraph naming the result keys"


def test_the_pages_hold_every_class_parameter_and_templated_field(site: Path):
    for page, paths in CLASSES.items():
        text = _text(site / "reference" / page / "index.html")
        for path in paths:
            cls = _load(path)
            assert path in text, f"{path} missing from reference/{page}"
            for name in inspect.signature(cls.__init__).parameters:
                if name not in ("self", "kwargs", "args"):
                    assert name in text, f"{path}: parameter {name} missing from reference/{page}"
            fields = getattr(cls, "template_fields", ())
            if fields:
                line = re.search(r"Templated fields[^:]*:\s*" + r"\W+".join(map(re.escape, fields)) + r"\s*\.", text)
                assert line, f"{path}: templated fields {fields} not listed on reference/{page}"


def test_the_cli_page_is_the_commands_own_help(site: Path):
    text = _text(site / "reference" / "cli" / "index.html")
    for flag in ("--input-column", "--output-column", "--format", "--bucket", "--storage-port", "--storage-url",
                 "--dags", "emulator upload", "usage: airflow-tuning {emulator,validate}"):
        assert flag in text, flag
    links = _text(site / "reference" / "links" / "index.html")
    for key in ("tuning_job_name", "tuning_job_link", "evaluation_report", "evaluation_result"):
        assert key in links


def test_readme_links_the_docs():
    readme = (REPO / "README.md").read_text()
    assert "make docs" in readme and "docs/reference/operators.md" in readme
