"""The emulator as a new user starts and seeds it: ``airflow-tuning emulator`` and ``... emulator upload``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from airflow_tuning.emulator.__main__ import parse_args

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "airflow_tuning.cli", "emulator"]


def test_default_ports_and_bucket_match_the_readme(monkeypatch):
    monkeypatch.delenv("AIRFLOW_TUNING_BUCKET", raising=False)
    args = parse_args([])
    assert (args.host, args.port, args.storage_port) == ("127.0.0.1", 8765, 9023)
    readme = (REPO / "README.md").read_text()
    assert '"api_endpoint": "http://127.0.0.1:8765", "storage_endpoint": "http://127.0.0.1:9023"' in readme
    assert "--bucket" in readme and "tuning-data" in readme
    from airflow_tuning.emulator.__main__ import default_bucket

    assert default_bucket() == "tuning-data"
    monkeypatch.setenv("AIRFLOW_TUNING_BUCKET", "my-team-data")
    assert default_bucket() == "my-team-data"


@pytest.fixture
def running_emulator(tmp_path: Path):
    """``airflow-tuning emulator`` as a user runs it (free ports here: other test runs may hold the defaults)."""
    unset = ("AIRFLOW_TUNING_BUCKET", "AIRFLOW_CONN_GEMINI_TUNING_DEFAULT")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    log = tmp_path / "emulator.out"
    with open(log, "wb") as out:
        proc = subprocess.Popen([*CLI, "--port", "0", "--storage-port", "0"], stdout=out, stderr=subprocess.STDOUT,
                                env=env)
    try:
        deadline = time.monotonic() + 90
        while "Serving until Ctrl-C." not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        text = log.read_text()
        api = re.search(r"Vertex AI API: (\S+)", text)[1]
        storage = re.search(r"Cloud Storage: (\S+)", text)[1]
        yield {"api": api, "storage": storage, "text": text, "env": env}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _upload(*argv: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "upload", *argv], capture_output=True, text=True, timeout=120, env=env)


def _objects(storage_url: str, bucket: str) -> dict[str, bytes]:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project="p", credentials=AnonymousCredentials(),
                            client_options={"api_endpoint": storage_url})
    if client.lookup_bucket(bucket) is None:
        return {}
    return {b.name: b.download_as_bytes() for b in client.list_blobs(bucket)}


def test_start_with_the_example_bucket_then_upload_files_and_folders(running_emulator, tmp_path: Path):
    emu = running_emulator
    assert "127.0.0.1" in emu["api"] and "127.0.0.1" in emu["storage"]
    assert "Buckets: tuning-data" in emu["text"] and "export AIRFLOW_CONN_GEMINI_TUNING_DEFAULT=" in emu["text"]
    assert _objects(emu["storage"], "tuning-data") == {}  # the example DAGs' bucket exists, empty

    (tmp_path / "week1.jsonl").write_text('{"a": 1}\n')
    folder = tmp_path / "exports"
    (folder / "2026").mkdir(parents=True)
    (folder / "2026" / "tickets.csv").write_text("input,output\nq,a\n")
    env = emu["env"]
    result = _upload(str(tmp_path / "week1.jsonl"), str(folder), "gs://tuning-data/history/",
                     "--storage-url", emu["storage"], env=env)
    assert result.returncode == 0, result.stderr
    assert _objects(emu["storage"], "tuning-data") == {
        "history/week1.jsonl": b'{"a": 1}\n', "history/2026/tickets.csv": b"input,output\nq,a\n"}
    assert "gs://tuning-data/history/week1.jsonl (9 bytes)" in result.stdout

    # One file to an exact object name; a new bucket is created; the URL comes from the connection.
    conn = json.dumps({"conn_type": "gemini_tuning", "extra": {"storage_endpoint": emu["storage"]}})
    result = _upload(str(tmp_path / "week1.jsonl"), "gs://fresh-bucket/data/train.jsonl",
                     env={**env, "AIRFLOW_CONN_GEMINI_TUNING_DEFAULT": conn})
    assert result.returncode == 0, result.stderr
    assert "created bucket gs://fresh-bucket" in result.stdout
    assert set(_objects(emu["storage"], "fresh-bucket")) == {"data/train.jsonl"}

    # Mistakes upload nothing and say why.
    missing = _upload(str(tmp_path / "week1.jsonl"), str(tmp_path / "nope.csv"), "gs://tuning-data/x/",
                      "--storage-url", emu["storage"], env=env)
    assert missing.returncode == 2 and "nope.csv: no such file or directory; nothing was uploaded" in missing.stderr
    assert not any(name.startswith("x/") for name in _objects(emu["storage"], "tuning-data"))
    for bad, reason in (("tuning-data/x/", "is not a Cloud Storage prefix"),
                        ("gs://Bad_Bucket/x/", "is not a valid bucket name")):
        result = _upload(str(tmp_path / "week1.jsonl"), bad, "--storage-url", emu["storage"], env=env)
        assert result.returncode == 2 and reason in result.stderr, result.stderr
    real = _upload(str(tmp_path / "week1.jsonl"), "gs://b/x/", "--storage-url", "https://storage.googleapis.com",
                   env=env)
    assert real.returncode == 2 and "gcloud storage cp" in real.stderr


def test_upload_says_when_no_emulator_runs(tmp_path: Path):
    from tests.e2e.harness.processes import free_port

    (tmp_path / "a.jsonl").write_text("{}\n")
    result = _upload(str(tmp_path / "a.jsonl"), "gs://tuning-data/", "--storage-url",
                     f"http://127.0.0.1:{free_port()}", env=dict(os.environ))
    assert result.returncode == 1
    assert "no emulator answers at" in result.stderr and "airflow-tuning emulator" in result.stderr


def test_job_pages_list_and_show_jobs(gemini_conn):
    from google.genai import types

    from airflow_tuning.hooks.tuning import GeminiTuningHook

    emulator = gemini_conn

    emulator.create_bucket("pages-i20").blob("d/train.jsonl").upload_from_string(
        '{"contents": [{"role": "user", "parts": [{"text": "q"}]}, {"role": "model", "parts": [{"text": "a"}]}]}\n')
    client = GeminiTuningHook().get_genai_client()
    job = client.tunings.tune(base_model="gemini-2.5-flash",
                              training_dataset=types.TuningDataset(gcs_uri="gs://pages-i20/d/train.jsonl"),
                              config=types.CreateTuningJobConfig(tuned_model_display_name="page-check",
                                                                 labels={"emulator-duration-ms": "60000"}))
    index = httpx.get(f"{emulator.api_url}/_emulator/ui/", timeout=30)
    assert index.status_code == 200 and job.name in index.text
    page = httpx.get(f"{emulator.api_url}/_emulator/ui/{job.name}", timeout=30)
    assert page.status_code == 200 and "page-check" in page.text and "gs://pages-i20/d/train.jsonl" in page.text
    assert 'http-equiv="refresh"' in page.text  # still running: the page refreshes itself
    client.tunings.cancel(name=job.name)
    missing = httpx.get(f"{emulator.api_url}/_emulator/ui/projects/p/locations/l/tuningJobs/1", timeout=30)
    assert missing.status_code == 404 and "No tuning job" in missing.text
    no_report = httpx.get(f"{emulator.api_url}/_emulator/ui/report", params={"uri": "gs://pages-i20/none.html"})
    assert no_report.status_code == 404
