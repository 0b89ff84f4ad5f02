"""The ``gemini_preference_tuning`` example DAG end to end in ``dag.test()`` against the emulator."""

from __future__ import annotations

import csv
import io

import pytest

from tests.examples.conftest import BUCKET, fresh_dag, states, xcom

TOPICS = ["router", "printer", "invoice", "password", "backup", "laptop", "vpn", "email", "refund", "shipping",
          "warranty", "license"]


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


# Answers share no words across topics, so a model that never saw a topic is no closer to either answer.
def _chosen(topic: str) -> str:
    return f"{topic}fix {topic}settings {topic}reset {topic}guide"


def _rejected(topic: str) -> str:
    return f"{topic}nope {topic}ignore {topic}later"


@pytest.fixture
def preference_data(bucket, gemini_conn):
    storage = gemini_conn.storage_client().bucket(BUCKET)
    pairs = [["prompt", "chosen", "rejected"]]
    for topic in TOPICS:
        for phrasing in (f"{topic} broken?", f"{topic} stopped", f"{topic} problem"):
            pairs.append([phrasing, _chosen(topic), _rejected(topic)])
    storage.blob("preference/verdicts.csv").upload_from_string(_csv(pairs))
    demos = [["prompt", "chosen"]] + [[f"{t} broken?", _chosen(t)] for t in TOPICS[:3]]
    storage.blob("demonstrations/curated.csv").upload_from_string(_csv(demos))
    return storage


def test_supervised_then_preference_then_evaluate_and_promote(preference_data, gemini_conn):
    dag = fresh_dag("gemini_preference_tuning")
    run = dag.test()
    assert states(run) == {t: "success" for t in (
        "upload_demonstrations", "upload_pairs", "tune_supervised", "tune_preference", "evaluate", "promote")}
    sft, preference = xcom(run, "tune_supervised"), xcom(run, "tune_preference")
    assert (sft["tuning_method"], preference["tuning_method"]) == ("supervised", "preference")
    assert preference["continued_from"] == sft["tuned_model"]
    report = xcom(run, "evaluate")
    assert report["passed"] is True, report
    assert report["metrics"]["preference_accuracy"] >= report["baseline_metrics"]["preference_accuracy"] + 0.01
    assert xcom(run, "promote")
    jobs = [j for j in gemini_conn.jobs() if j.get("preferenceOptimizationSpec")]
    assert jobs and jobs[-1]["preferenceOptimizationSpec"]["hyperParameters"]["beta"] == 0.1
