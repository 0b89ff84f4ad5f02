"""A triage model judged as a classifier through dag.test(): per-label gate, confusion matrix, worst examples."""

from __future__ import annotations

import json
import time

import pytest

from tests.dag_results import task_state, xcom

BUCKET = "classification-tests"
CATEGORIES = ("billing", "outage", "access")


def _line(ticket: str, category: str) -> str:
    turns = [{"role": "user", "parts": [{"text": ticket}]},
             {"role": "model", "parts": [{"text": f"category: {category}; priority: p2"}]}]
    return json.dumps({"contents": turns})


def _ticket(category: str, i: int, *, paraphrase: bool) -> str:
    subject = {"billing": f"invoice inv{i}", "outage": f"cluster clu{i}", "access": f"account acc{i}"}[category]
    return f"Please look at {subject}, it is wrong" if paraphrase else f"Problem with {subject} since this morning"


@pytest.fixture(scope="module")
def triage(emulator):
    from google.genai import types

    from airflow_tuning.hooks.tuning import GeminiTuningHook

    bucket = emulator.create_bucket(BUCKET)
    train = [_line(_ticket(c, i, paraphrase=False), c) for c in CATEGORIES for i in range(4)]
    evaluation = [_line(_ticket(c, i, paraphrase=True), c) for c in CATEGORIES for i in range(3)]
    # an outage ticket that mentions an invoice: the tuned model calls it billing
    evaluation.append(_line("Please look at invoice inv1 page, the whole cluster is down", "outage"))
    bucket.blob("train.jsonl").upload_from_string("\n".join(train) + "\n")
    bucket.blob("eval.jsonl").upload_from_string("\n".join(evaluation) + "\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_CONN_GEMINI_TUNING_DEFAULT", emulator.connection_json())
        client = GeminiTuningHook().get_genai_client()
        job = client.tunings.tune(
            base_model="gemini-2.5-flash",
            training_dataset=types.TuningDataset(gcs_uri=f"gs://{BUCKET}/train.jsonl"),
            config=types.CreateTuningJobConfig(epoch_count=1, labels={"emulator-duration-ms": "500"}),
        )
        while not job.has_ended:
            time.sleep(0.1)
            job = client.tunings.get(name=job.name)
    return {"model": job.tuned_model.model, "eval": f"gs://{BUCKET}/eval.jsonl"}


def test_triage_gate_on_macro_f1_and_per_label_with_confusion_matrix(airflow_db, gemini_conn, triage):
    from tests.dags import classification_gate

    run = classification_gate.dag.test(run_conf=triage)
    assert task_state(run, "evaluate") == "success"
    result = xcom(run, "evaluate")
    assert result["metrics"]["accuracy"] == pytest.approx(9 / 10)
    # billing: 3 right + 1 outage called billing -> precision 3/4, recall 1; outage recall 3/4; access perfect
    assert result["metrics"]["macro_f1"] == pytest.approx((2 * 0.75 / 1.75 + 2 * 0.75 / 1.75 + 1.0) / 3)
    assert result["baseline_metrics"]["accuracy"] == 0.0 and result["baseline_metrics"]["macro_f1"] == 0.0

    storage = gemini_conn.storage_client()
    html_name = result["report_uri"][5:].split("/", 1)[1]
    page = storage.bucket(BUCKET).blob(html_name).download_as_text()
    report = json.loads(storage.bucket(BUCKET).blob(html_name.replace("report.html", "report.json")).download_as_text())
    matrix = report["classification"]
    assert matrix["labels"] == ["access", "billing", "outage"]
    assert matrix["confusion_matrix"] == [[3, 0, 0], [0, 3, 0], [0, 1, 3]]
    base = report["baseline_classification"]
    assert base["labels"] == ["access", "billing", "outage", "unknown"]
    assert [row[-1] for row in base["confusion_matrix"][:3]] == [3, 3, 4], "generic replies are 'unknown'"
    assert "Confusion matrix (challenger)" in page and "Confusion matrix (baseline)" in page
    assert "Per label" in page and "baseline F1" in page
    # only the one misclassified example lost something against... itself; every perfect one is left out
    lost = [w for w in report["worst_examples"] if w["scores"]["macro_f1"] < 1.0]
    assert len(lost) == 1 and "cluster is down" in lost[0]["input"]
    assert all(w["scores"]["macro_f1"] < 1.0 or w["scores"]["macro_f1"] < w["baseline_scores"]["macro_f1"]
               for w in report["worst_examples"])

    assert task_state(run, "evaluate_strict_label") == "failed"
    failed = xcom(run, "evaluate_strict_label", key="evaluation_result")
    assert failed["passed"] is False
    strict = json.loads(storage.bucket(BUCKET).blob(
        failed["report_uri"][5:].split("/", 1)[1].replace("report.html", "report.json")).download_as_text())
    assert strict["failures"] == ["recall:outage = 0.7500 is below the threshold 0.9900"]
    strict_page = storage.bucket(BUCKET).blob(failed["report_uri"][5:].split("/", 1)[1]).download_as_text()
    assert "<td>recall:outage</td><td class='num'>0.7500</td>" in strict_page
