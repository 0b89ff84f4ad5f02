"""The operators, sensor and trigger with ``backend="gemini_api"``, inside ``dag.test()`` on the emulator."""

from __future__ import annotations

import copy
import json
import uuid

import pytest

from airflow_tuning.jobs.summary import SUMMARY_KEYS
from airflow_tuning.links import TUNING_JOB_LINK_XCOM_KEY, TUNING_JOB_NAME_XCOM_KEY
from tests.gemini_api.number_sequence import PAIRS
from tests.gemini_api.test_backend import number_sequence_body
from tests.lifecycle.conftest import xcom

BUCKET = "gemini-api-tests"


def vertex_line(user: str, model: str) -> str:
    return json.dumps({"contents": [{"role": "user", "parts": [{"text": user}]},
                                    {"role": "model", "parts": [{"text": model}]}]})


@pytest.fixture
def data_files(emulator) -> dict[str, str]:
    """Prompts from the tutorial to evaluate on, and the same pairs as UploadDatasetOperator writes them.

    "3" is left out of the evaluation: the emulator's nearest-neighbour learner cannot tell it from "-3".
    """
    bucket = emulator.create_bucket(BUCKET)
    files = {
        "eval": "\n".join(vertex_line(i, o) for i, o in PAIRS if i != "3") + "\n",
        "train": "\n".join(vertex_line(i, o) for i, o in PAIRS) + "\n",
    }
    for name, text in files.items():
        bucket.blob(f"{name}.jsonl").upload_from_string(text)
    return {name: f"gs://{BUCKET}/{name}.jsonl" for name in files}


@pytest.mark.usefixtures("airflow_db")
def test_number_sequence_end_to_end_limits_sensor_and_delete(gemini_api_conn, client, data_files, capsys):
    from google.genai import errors

    from tests.dags import gemini_api_tuning

    bad = copy.deepcopy(number_sequence_body("fails"))
    bad["tuningTask"]["trainingData"]["examples"]["examples"][1]["output"] = "9" * 5_001
    failed_run = client.create_tuned_model(bad)["name"]  # refused by the service, not by our checks
    creates_before = gemini_api_conn.stats()["requests"].get("POST /v1beta/tunedModels", 0)

    run = gemini_api_tuning.dag.test(run_conf={
        "eval_uri": data_files["eval"], "training_uri": data_files["train"], "failed_run": failed_run,
        "test_id": uuid.uuid4().hex[:8],
    })

    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == {"tune": "success", "evaluate": "success", "delete": "success", "submit": "success",
                      "watch": "success", "delete_watched": "success", "too_long": "failed", "failed": "failed"}

    summary = xcom(run, "tune")
    assert tuple(summary) == SUMMARY_KEYS
    assert summary["state"] == "JOB_STATE_SUCCEEDED"
    model = summary["tuned_model"]
    assert model.startswith("tunedModels/tune-") and summary["endpoint"] == model
    assert summary["tuning_job"].startswith(f"{model}/operations/")
    assert summary["base_model"] == "models/gemini-1.5-flash-001-tuning"
    assert xcom(run, "tune", TUNING_JOB_NAME_XCOM_KEY) == summary["tuning_job"]
    assert not xcom(run, "tune", TUNING_JOB_LINK_XCOM_KEY)  # no console page for a Developer-API run

    evaluation = xcom(run, "evaluate")
    assert evaluation["passed"] is True
    assert evaluation["metrics"]["exact_match"] == 1.0  # "1" -> "2", "twenty two" -> "twenty three", ...
    assert evaluation["baseline_metrics"]["exact_match"] == 0.0
    assert xcom(run, "delete") == {"tuned_model": model, "deleted": True}
    with pytest.raises(errors.ClientError, match="404"):
        client.get_tuned_model(model)

    watched = xcom(run, "watch")
    assert watched["state"] == "JOB_STATE_SUCCEEDED"
    assert xcom(run, "submit")["state"] == "JOB_STATE_RUNNING"  # returned at once, the sensor waited
    assert xcom(run, "delete_watched")["deleted"] is True

    too_long = xcom(run, "too_long", "failure")
    assert "training_examples[15]: 40,001 characters of input exceed the limit of 40,000" in too_long
    # Only "tune" and "submit" reached the API: the over-long example was refused before any call.
    assert gemini_api_conn.stats()["requests"]["POST /v1beta/tunedModels"] == creates_before + 2

    failure = xcom(run, "failed", "failure")
    assert "ended FAILED: Training example 1: output has 5,001 characters; the limit is 5,000." in failure

    out = capsys.readouterr().out
    assert f"Tuning {summary['tuning_job']}: " in out and "% (" in out  # the trigger logged progress


def test_a_repeated_submission_reattaches_and_a_failed_run_is_replaced(client):
    import logging

    from airflow_tuning.backends.gemini_api.jobs import tuned_model_id_prefix
    from airflow_tuning.backends.gemini_api.submission import GeminiApiSubmission
    from airflow_tuning.jobs.watch import cancel_job

    log = logging.getLogger("test")
    prefix = tuned_model_id_prefix("retry", uuid.uuid4().hex, "fingerprint")
    submission = GeminiApiSubmission(number_sequence_body("retry"), prefix, 15, "in-line examples")
    first = submission.submit(client, log)
    assert first.tuned_model_name == f"tunedModels/{prefix}-1" and submission.owns(first)
    again = submission.submit(client, log)  # a retry after the worker died: same run, no second create
    assert again.name == first.name
    cancel_job(client, first.name, log)
    replaced = submission.submit(client, log)  # the earlier run was cancelled: a new one is created
    assert replaced.tuned_model_name == f"tunedModels/{prefix}-2"
    for job in (first, replaced):
        client.delete_tuned_model(job.tuned_model_name)


async def test_the_trigger_waits_logs_progress_and_cancels_on_kill(gemini_api_conn, client, capsys):
    from airflow_tuning.triggers.tuning import TuningJobTrigger
    from tests.gemini_api.conftest import API_KEY

    name = client.create_tuned_model(number_sequence_body("trigger"))["name"]
    trigger = TuningJobTrigger(name, backend="gemini_api", poll_interval=0.2, max_poll_interval=0.3)
    classpath, kwargs = trigger.serialize()
    assert kwargs["backend"] == "gemini_api" and API_KEY not in json.dumps(kwargs) + repr(trigger)
    assert TuningJobTrigger(**json.loads(json.dumps(kwargs))).serialize() == (classpath, kwargs)

    event = (await trigger.run().asend(None)).payload
    assert event["status"] == "success"
    assert event["summary"]["tuning_job"] == name and event["summary"]["state"] == "JOB_STATE_SUCCEEDED"
    assert f"Tuning {name}: " in capsys.readouterr().out

    killed = client.create_tuned_model(number_sequence_body("killed"))["name"]
    await TuningJobTrigger(killed, backend="gemini_api").on_kill()
    assert client.get(name=killed).state == "JOB_STATE_CANCELLED"
    for run in (name, killed):
        client.delete_tuned_model(client.get(name=run).tuned_model_name)


def test_backend_arguments_are_checked_when_the_dag_is_parsed():
    from airflow_tuning.operators.tuning import CreateTuningJobOperator

    with pytest.raises(ValueError, match="backend must be one of 'vertex', 'gemini_api'"):
        CreateTuningJobOperator(task_id="t", backend="ai_studio", training_examples=PAIRS)
    with pytest.raises(ValueError, match="need backend='gemini_api'"):
        CreateTuningJobOperator(task_id="t", training_dataset_uri="gs://b/t.jsonl", batch_size=4)
    with pytest.raises(TypeError, match="needs training_dataset_uri"):
        CreateTuningJobOperator(task_id="t")
