"""Every checkpoint compared, the best promoted as the default checkpoint, and continuation starting from it.

All through dag.test() with the real google-genai, google-cloud-aiplatform and google-cloud-storage
clients against the emulator.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.dag_results import task_state, xcom


def _short(name: str) -> str:
    return name[name.index("models/") :]


def test_six_epochs_best_checkpoint_found_promoted_and_continued_from(airflow_db, gemini_conn, checkpoint_data):
    from google.genai import types

    from airflow_tuning.hooks.tuning import GeminiTuningHook
    from tests.dags import checkpoint_selection

    emulator = gemini_conn
    test_id = uuid.uuid4().hex[:10]
    run = checkpoint_selection.dag.test(
        run_conf={"train": checkpoint_data["train"], "eval": checkpoint_data["eval"], "test_id": test_id}
    )
    assert run.state == "success", {t: task_state(run, t) for t in ("tune", "evaluate", "promote")}
    tuned = xcom(run, "tune")
    version = tuned["tuned_model"]
    model = version.split("@")[0]

    # -- evaluation: six checkpoints on the same data; the best is epoch 3, not the last
    result = xcom(run, "evaluate")
    rows = result["checkpoints"]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [r["checkpoint_id"] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert all(r["step"] > 0 for r in rows) and [r["step"] for r in rows] == sorted(r["step"] for r in rows)
    rouge = [r["metrics"]["rouge_l"] for r in rows]
    assert result["best_checkpoint"] == "3"
    assert rouge[2] == max(rouge) and rouge[2] == pytest.approx(1.0)
    assert rouge[0] < rouge[1] < rouge[2], "early epochs know only part of the data"
    assert rouge[5] < rouge[2], "the last epoch overfits"
    assert rouge[3] >= rouge[4] >= rouge[5], "overfitting degrades monotonically"
    assert result["metrics"] == rows[2]["metrics"], "the gate and the result judge the best checkpoint"
    assert result["passed"] is True and result["baseline_metrics"]["rouge_l"] < 0.4

    # -- the report: checkpoints and a curve marking the chosen one, the baseline as a line
    storage = emulator.storage_client()
    bucket, html_name = result["report_uri"][5:].split("/", 1)
    page = storage.bucket(bucket).blob(html_name).download_as_text()
    report = json.loads(storage.bucket(bucket).blob(html_name.replace("report.html", "report.json")).download_as_text())
    assert report["best_checkpoint"] == "3" and report["checkpoints"] == rows
    assert page.count('class="chosen"') == 1 and page.count('class="checkpoint"') == 5
    assert 'class="baseline"' in page and "chosen: 3" in page and "<script" not in page

    # -- promotion: checkpoint 3 became the version's default, then the alias moved
    promoted = xcom(run, "promote")
    assert promoted["model"] == version and promoted["alias"] == "champion" and promoted["changed"] is True
    assert promoted["checkpoint_id"] == "3"
    assert promoted["previous_checkpoint_id"] == "6" and promoted["checkpoint_changed"] is True
    hook = GeminiTuningHook()
    registry = hook.get_model_service_client()
    champion = registry.get_model(name=f"{model}@champion")
    assert champion.version_id == version.split("@")[1] and champion.default_checkpoint_id == "3"
    genai_model = hook.get_genai_client().models.get(model=f"{model}@champion")
    assert genai_model.default_checkpoint_id == "3"

    # ...and the version now answers like checkpoint 3 (its default), not like the overfit last one
    client = hook.get_genai_client()
    job = client.tunings.get(name=tuned["tuning_job"])
    by_checkpoint = {c.checkpoint_id: c.endpoint for c in job.tuned_model.checkpoints}
    question = json.loads(open_eval_line(emulator, checkpoint_data["eval"], 0))["contents"][:1]
    config = types.GenerateContentConfig(temperature=0)
    via_model = client.models.generate_content(model=f"{model}@champion", contents=question, config=config).text
    via_third = client.models.generate_content(model=by_checkpoint["3"], contents=question, config=config).text
    assert via_model == via_third

    # -- promoting again changes nothing
    again = checkpoint_selection.promote_dag.test(run_conf={"model_name": _short(version), "checkpoint_id": "3"})
    assert again.state == "success"
    assert xcom(again, "promote")["checkpoint_changed"] is False and xcom(again, "promote")["changed"] is False
    assert xcom(again, "promote")["previous_checkpoint_id"] == "3"

    # -- the next run continues from @champion: the job record names checkpoint 3 as its start
    cont = checkpoint_selection.continuation_dag.test(
        run_conf={"model": model, "train": checkpoint_data["more"], "test_id": test_id}
    )
    assert cont.state == "success"
    summary = xcom(cont, "continue_tuning")
    record = next(j for j in emulator.jobs(labels={"checkpoint-test": test_id}) if j["name"] == summary["tuning_job"])
    assert record["preTunedModel"]["tunedModelName"].endswith(f"{_short(model)}@champion")
    assert record["preTunedModel"]["checkpointId"] == "3"


def open_eval_line(emulator, uri: str, index: int) -> str:
    bucket, name = uri[5:].split("/", 1)
    return emulator.storage_client().bucket(bucket).blob(name).download_as_text().splitlines()[index]


def test_unknown_checkpoint_fails_the_promotion_without_changing_anything(airflow_db, gemini_conn, checkpoint_data):
    from airflow_tuning.hooks.tuning import GeminiTuningHook
    from tests.dags import checkpoint_selection

    test_id = uuid.uuid4().hex[:10]
    run = checkpoint_selection.dag.test(
        run_conf={"train": checkpoint_data["train"], "eval": checkpoint_data["eval"], "test_id": test_id,
                  "epochs": 2, "checkpoints": "['2', '7']"}
    )
    assert task_state(run, "tune") == "success"
    assert task_state(run, "evaluate") == "failed" and task_state(run, "promote") == "upstream_failed"
    version = xcom(run, "tune")["tuned_model"]
    registry = GeminiTuningHook().get_model_service_client()
    assert registry.get_model(name=version).default_checkpoint_id == "2"

    bad = checkpoint_selection.promote_dag.test(run_conf={"model_name": _short(version), "checkpoint_id": "7"})
    assert task_state(bad, "promote") == "failed"
    after = registry.get_model(name=version)
    assert after.default_checkpoint_id == "2" and "champion" not in after.version_aliases


class _StateStore(dict):
    """The two methods of Airflow's task_state_store that set_default_checkpoint uses."""

    def set(self, key, value):
        self[key] = value


def test_a_retry_reports_the_default_checkpoint_from_before_the_first_attempt(gemini_conn, checkpoint_data):
    from google.genai import types

    from airflow_tuning.evaluation.default_checkpoint import set_default_checkpoint
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    hook = GeminiTuningHook()
    client, registry = hook.get_genai_client(), hook.get_model_service_client()
    job = client.tunings.tune(
        base_model="gemini-2.5-flash", training_dataset=types.TuningDataset(gcs_uri=checkpoint_data["train"]),
        config=types.CreateTuningJobConfig(epoch_count=4, labels={"emulator-duration-ms": "300"}),
    )
    while not job.has_ended:
        job = client.tunings.get(name=job.name)
    version = job.tuned_model.model
    state = _StateStore()
    first = set_default_checkpoint(registry, version, "2", state=state)
    assert (first.previous_checkpoint_id, first.checkpoint_changed) == ("4", True)
    retried = set_default_checkpoint(registry, version, "2", state=state)  # the alias move had failed
    assert (retried.previous_checkpoint_id, retried.checkpoint_changed) == ("4", True)
    fresh = set_default_checkpoint(registry, version, "2")  # another task, later: nothing to change
    assert (fresh.previous_checkpoint_id, fresh.checkpoint_changed) == ("2", False)
    assert registry.get_model(name=version).default_checkpoint_id == "2"
