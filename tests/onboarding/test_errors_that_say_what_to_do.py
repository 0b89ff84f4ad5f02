"""Errors and warnings a new user meets first: each names the thing, the reason and what to do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_tuning.common.storage_errors import BucketNotFoundError
from tests.dataset.conftest import jsonl, many, objects, vertex

CLI = [sys.executable, "-m", "airflow_tuning.cli"]


def _run(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *argv], capture_output=True, text=True, timeout=120, **kwargs)


@pytest.fixture
def upload_dag(airflow_db, gemini_conn):
    from tests.dags import dataset_upload

    return dataset_upload.dag


def test_missing_bucket_names_it_and_how_to_create_it_on_the_emulator(upload_dag, write, gemini_conn, capfd):
    data = write("ok.jsonl", jsonl(*many(20)))
    run = upload_dag.test(run_conf={"sources": [data], "destination": "gs://no-such-bucket-i20/datasets"})
    assert run.state == "failed"
    logged = "".join(capfd.readouterr())
    assert "Bucket gs://no-such-bucket-i20 does not exist; nothing was written." in logged
    assert "airflow-tuning emulator --bucket no-such-bucket-i20" in logged  # the connection is the emulator's
    assert "airflow-tuning emulator upload FILE... gs://no-such-bucket-i20/PREFIX/" in logged
    assert "404 POST" not in logged.split("does not exist")[0][-300:]
    assert gemini_conn.storage_client().lookup_bucket("no-such-bucket-i20") is None


def test_missing_bucket_advice_on_google_cloud():
    text = BucketNotFoundError("my-bucket").advice(emulated=False)
    assert "gs://my-bucket does not exist" in text
    assert "gcloud storage buckets create gs://my-bucket --location=REGION" in text
    assert "emulator" not in text
    both = str(BucketNotFoundError("my-bucket"))
    assert "gcloud storage buckets create" in both and "airflow-tuning emulator --bucket my-bucket" in both


def test_already_published_names_the_dataset_folder(upload_dag, write, gemini_conn, caplog):
    name = "published-log-i20"
    gemini_conn.create_bucket(name)
    data = write("ok.jsonl", jsonl(*many(20)))
    conf = {"sources": [data], "destination": f"gs://{name}/datasets/email-intent"}
    assert upload_dag.test(run_conf=conf).state == "success"
    caplog.clear()
    assert upload_dag.test(run_conf=conf).state == "success"
    logged = caplog.text
    [folder] = {n.split("/")[2] for n in objects(gemini_conn.storage_client(), name)}
    assert f"is already published at gs://{name}/datasets/email-intent/{folder}: nothing uploaded" in logged


def test_csv_column_error_names_the_flags_and_the_operator_arguments(tmp_path: Path):
    data = tmp_path / "export.csv"
    data.write_text("subject,body,intent\nhi,please help,support\n")
    result = _run("validate", "--format", "csv", str(data))
    assert result.returncode == 2, result
    assert f"{data}: the CSV header has no column 'input' or 'text_input'" in result.stderr
    assert "columns: subject, body, intent" in result.stderr
    assert "--input-column NAME --output-column NAME" in result.stderr
    assert "UploadDatasetOperator(input_column=..., output_column=...)" in result.stderr
    fixed = _run("validate", "--format", "csv", "--input-column", "body", "--output-column", "intent", str(data))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr


def _records(n: int) -> list[str]:
    return [json.dumps(vertex(f"Question number {i} about the weekly export?", f"Answer {i}.")) for i in range(n)]


def test_a_record_far_longer_than_the_rest_is_a_warning_with_its_line(tmp_path: Path):
    lines = _records(200)
    lines.insert(56, json.dumps(vertex("x" * 200_000, "a very long one")))  # line 57
    data = tmp_path / "weekly.jsonl"
    data.write_text("\n".join(lines) + "\n")
    result = _run("validate", str(data))
    assert result.returncode == 0, result.stdout + result.stderr  # valid data: a warning, not an error
    warnings = [line for line in result.stdout.splitlines() if line.startswith("warning:")]
    [long_one] = [w for w in warnings if "median" in w]
    assert f"{data}:57: record of 200," in long_one and "over 20x the file's median" in long_one

    report = json.loads(_run("validate", "--json", str(data)).stdout)
    assert any(w.startswith(f"{data}:57:") for w in report["warnings"])


@pytest.mark.parametrize(
    "lines",
    [
        _records(50) + [json.dumps(vertex("y" * 5_000, "long but under the floor"))],  # 20x+ but small
        [json.dumps(vertex(f"{i} " + "z" * 30_000, "all long")) for i in range(30)],  # long, like the rest
    ],
    ids=["under-the-floor", "like-the-rest"],
)
def test_no_warning_for_ordinary_lengths(tmp_path: Path, lines: list[str]):
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join(lines) + "\n")
    result = _run("validate", str(data))
    assert result.returncode == 0 and "median" not in result.stdout, result.stdout


def test_long_record_rule_in_a_csv_names_the_physical_line(tmp_path: Path):
    rows = ["input,output"] + [f"prompt {i},answer {i}" for i in range(100)]
    rows.insert(31, '"' + "long\n" * 10 + "q" * 100_000 + '",answer')  # a quoted field over 11 lines, at 32
    data = tmp_path / "export.csv"
    data.write_text("\n".join(rows) + "\n")
    result = _run("validate", str(data))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{data}:32: record of" in result.stdout
