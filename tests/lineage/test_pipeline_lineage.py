"""The retraining pipeline, run with the OpenLineage provider and its file transport: what trained what.

The DAG runs in a subprocess so that the OpenLineage plugin is configured from the environment from the
start, as on a real worker (the provider decides once per process whether it is enabled). A fresh emulator
runs here (no champion, no earlier data of other tests); the subprocess reaches it over loopback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BUCKET = "tuning-data"

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "demo" / "data"

RUN_DAG = """
import importlib, json
module = importlib.import_module("dags.gemini_scheduled_retraining")
run = module.dag.test()
print("RESULT " + json.dumps({"state": str(run.state), "run_id": run.run_id}))
"""


def _run_pipeline(tmp_path: Path, **env: str) -> tuple[dict, list[dict]]:
    events_file = tmp_path / "events.jsonl"
    environ = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "tuning-tests",
        **env,
    }
    proc = subprocess.run(
        [sys.executable, "-c", RUN_DAG], capture_output=True, text=True, env=environ, cwd=REPO, timeout=540
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, (proc.stdout[-3000:], proc.stderr[-6000:])
    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    return json.loads(lines[-1][len("RESULT "):]), events


def _task_event(events: list[dict], task_id: str) -> dict:
    """The COMPLETE event of one task of the retraining DAG."""
    name = f"gemini_scheduled_retraining.{task_id}"
    found = [e for e in events if e["job"]["name"] == name and e["eventType"] == "COMPLETE"]
    assert len(found) == 1, [(e["job"]["name"], e["eventType"]) for e in events]
    return found[0]


def _names(datasets: list[dict]) -> set[tuple[str, str]]:
    return {(d["namespace"], d["name"]) for d in datasets}


@pytest.fixture
def fresh_emulator(airflow_db):
    from airflow_tuning.emulator import Emulator

    with Emulator(job_duration=2.0) as emu:
        emu.create_bucket(BUCKET).blob("history/history.jsonl").upload_from_filename(str(DATA / "history.jsonl"))
        yield emu


def test_retraining_pipeline_emits_what_trained_what(fresh_emulator, tmp_path):
    gemini_conn = fresh_emulator
    result, events = _run_pipeline(
        tmp_path, AIRFLOW_CONN_GEMINI_TUNING_DEFAULT=gemini_conn.connection_json(),
        AIRFLOW_TUNING_BUCKET=BUCKET, AIRFLOW_TUNING_POLL_INTERVAL="0.3",
    )
    assert result["state"] == "success", result
    assert {e["job"]["namespace"] for e in events} == {"tuning-tests"}
    gs = f"gs://{BUCKET}"

    upload = _task_event(events, "upload_dataset")
    assert _names(upload["inputs"]) == {(gs, "history/history.jsonl")}
    outputs = _names(upload["outputs"])
    assert len(outputs) == 2 and all(ns == gs and name.startswith("datasets/support-triage/") for ns, name in outputs)
    train = next(name for _, name in outputs if name.endswith("/train.jsonl"))
    validation = next(name for _, name in outputs if name.endswith("/validation.jsonl"))
    facet = upload["run"]["facets"]["gemini_tuning_dataset"]
    assert facet["changed"] is True and facet["examples"] > 0 and len(facet["sha256"]) == 64

    tune = _task_event(events, "tune")  # submitted without waiting: no model yet, the request is known
    assert _names(tune["inputs"]) == {(gs, train), (gs, validation)}
    assert tune["outputs"] == []
    run_facet = tune["run"]["facets"]["gemini_tuning"]
    assert run_facet["method"] == "supervised"
    assert run_facet["base_model"].endswith("gemini-2.5-flash")
    assert run_facet["hyperparameters"] == {"epoch_count": 3, "adapter_size": 4, "learning_rate_multiplier": 1.0}
    job_name = run_facet["tuning_job"]
    assert job_name.startswith(f"projects/{gemini_conn.project}/locations/")

    wait = _task_event(events, "wait_for_tuning")  # the sensor saw the job end: the tuned model version
    (model,) = wait["outputs"]
    assert model["namespace"] == "vertexai"
    assert model["name"].startswith(f"projects/{gemini_conn.project}/locations/") and "/models/" in model["name"]
    assert "@" in model["name"]
    assert model["facets"]["datasetType"]["datasetType"] == "MODEL"
    assert _names(wait["inputs"]) == {(gs, train), (gs, validation)}
    sensor_facet = wait["run"]["facets"]["gemini_tuning"]
    assert sensor_facet["tuning_job"] == job_name and sensor_facet["state"] == "JOB_STATE_SUCCEEDED"
    assert sensor_facet["billable_tokens"] > 0

    evaluate = _task_event(events, "evaluate")
    inputs = _names(evaluate["inputs"])
    assert (gs, validation) in inputs and ("vertexai", model["name"]) in inputs
    assert any(ns == "vertexai" and name.endswith("/publishers/google/models/gemini-2.5-flash") for ns, name in inputs)
    reports = _names(evaluate["outputs"])
    assert {name.rsplit("/", 1)[1] for _, name in reports} == {"report.json", "report.html"}
    metrics = evaluate["run"]["facets"]["gemini_evaluation"]
    assert metrics["passed"] is True and 0 <= metrics["metrics"]["rouge_l"] <= 1 and metrics["examples"] > 0

    promote = _task_event(events, "promote")
    assert _names(promote["inputs"]) == {("vertexai", model["name"])}
    champion = model["name"].split("@")[0] + "@champion"
    assert _names(promote["outputs"]) == {("vertexai", champion)}
    assert promote["run"]["facets"]["gemini_model_alias"]["changed"] is True
