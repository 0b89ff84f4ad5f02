"""Without apache-airflow-providers-openlineage the provider runs the same; the lineage methods say None."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# A worker where neither the OpenLineage provider nor its client is installed: their modules cannot be
# imported and their distributions (so the provider's entry point) are not found.
WITHOUT_OPENLINEAGE = """
import importlib.abc, importlib.metadata, json, sys
import importlib_metadata

def hide(distributions):
    def visible(*args, **kwargs):
        return [d for d in distributions(*args, **kwargs) if "openlineage" not in (d.metadata["Name"] or "").lower()]
    return visible

importlib_metadata.distributions = hide(importlib_metadata.distributions)
importlib.metadata.distributions = hide(importlib.metadata.distributions)

class NoOpenLineage(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "openlineage" or name.startswith(("openlineage.", "airflow.providers.openlineage")):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoOpenLineage())
try:
    import airflow.providers.openlineage  # noqa: F401
    raise SystemExit("the OpenLineage provider is still importable")
except ImportError:
    pass

from tests.dags import dataset_upload
run = dataset_upload.dag.test(run_conf=json.loads(sys.argv[1]))
task = dataset_upload.dag.get_task("upload")
print("RESULT " + json.dumps({
    "state": str(run.state),
    "complete": repr(task.get_openlineage_facets_on_complete(None)),
    "failure": repr(task.get_openlineage_facets_on_failure(None)),
    "loaded": sorted(m for m in sys.modules if m.split(".")[0] == "openlineage"
                     or m.startswith("airflow.providers.openlineage")),
}))
"""


def test_tasks_run_and_lineage_is_none_without_the_provider(gemini_conn, airflow_db, tmp_path):
    storage = gemini_conn.storage_client()
    bucket = storage.lookup_bucket("no-lineage") or gemini_conn.create_bucket("no-lineage")
    pairs = [{"text_input": f"question {i}", "output": f"answer {i}"} for i in range(30)]
    bucket.blob("in/pairs.jsonl").upload_from_string("\n".join(json.dumps(p) for p in pairs))
    conf = {"sources": ["gs://no-lineage/in/pairs.jsonl"], "feedback": [], "destination": "gs://no-lineage/out"}
    proc = subprocess.run(
        [sys.executable, "-c", WITHOUT_OPENLINEAGE, json.dumps(conf)], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO, timeout=300,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, (proc.stdout[-3000:], proc.stderr[-6000:])
    result = json.loads(lines[-1][len("RESULT "):])
    assert result == {"state": "success", "complete": "None", "failure": "None", "loaded": []}
    assert list(bucket.list_blobs(prefix="out/"))  # the upload really happened


def test_every_task_returns_none_without_openlineage_and_lineage_with_it(monkeypatch):
    """The same task objects: OperatorLineage when the provider imports, None when it does not."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_tuning.operators.dataset import UploadDatasetOperator
    from airflow_tuning.operators.evaluation import EvaluateTunedModelOperator, PromoteTunedModelOperator
    from airflow_tuning.operators.gemini_api import DeleteTunedModelOperator
    from airflow_tuning.operators.promotion import RollbackChampionOperator
    from airflow_tuning.operators.tuning import (
        CancelTuningJobOperator,
        ContinueTuningOperator,
        CreateTuningJobOperator,
    )
    from airflow_tuning.sensors.tuning import TuningJobSensor

    model = "projects/p/locations/us-central1/models/1@2"
    tasks = [
        UploadDatasetOperator(task_id="upload", destination="gs://b/d", sources=["gs://b/in/a.jsonl"]),
        CreateTuningJobOperator(task_id="tune", base_model="gemini-2.5-flash", training_dataset_uri="gs://b/t.jsonl"),
        ContinueTuningOperator(task_id="more", pre_tuned_model=model, training_dataset_uri="gs://b/t.jsonl"),
        TuningJobSensor(task_id="wait", tuning_job_name="projects/p/locations/us-central1/tuningJobs/1"),
        CancelTuningJobOperator(task_id="cancel", tuning_job_name="projects/p/locations/us-central1/tuningJobs/1"),
        EvaluateTunedModelOperator(task_id="evaluate", model=model, eval_dataset_uri="gs://b/v.jsonl"),
        PromoteTunedModelOperator(task_id="promote", model_name=model),
        DeleteTunedModelOperator(task_id="delete", tuned_model_name="tunedModels/x"),
        RollbackChampionOperator(task_id="rollback", model_name=model.split("@")[0]),
    ]
    for task in tasks:
        assert isinstance(task.get_openlineage_facets_on_complete(None), OperatorLineage), task.task_id
    more = tasks[2].get_openlineage_facets_on_complete(None)
    assert {(d.namespace, d.name) for d in more.inputs} == {("gs://b", "t.jsonl"), ("vertexai", model)}

    for name in ("openlineage", "openlineage.client", "openlineage.client.event_v2", "openlineage.client.facet_v2",
                 "airflow.providers.openlineage", "airflow.providers.openlineage.extractors"):
        monkeypatch.setitem(sys.modules, name, None)  # an import of it now raises ImportError
    for task in tasks:
        assert task.get_openlineage_facets_on_complete(None) is None, task.task_id
        failure = getattr(task, "get_openlineage_facets_on_failure", None)
        assert failure is None or failure(None) is None, task.task_id
