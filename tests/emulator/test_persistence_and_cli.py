"""A state file carries jobs, models and learning across restarts; the CLI prints a usable connection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from google.genai import types

from airflow_tuning.common.connection import ConnectionSettings
from airflow_tuning.emulator import Emulator
from airflow_tuning.hooks.tuning import build_genai_client, build_storage_client
from tests.conftest import REPO
from tests.emulator.helpers import fact, jsonl, upload, wait_ended


def clients(emu):
    settings = ConnectionSettings.from_extras("restart", emu.connection_extra(retry_initial_delay=0.05))
    return build_genai_client(settings), build_storage_client(settings)


def test_restart_with_state_file_keeps_jobs_models_and_learning(tmp_path):
    state = str(tmp_path / "state.json")
    with Emulator(state_file=state, job_duration=0.5) as emu:
        client, storage = clients(emu)
        uri = upload(storage, "persist", "train.jsonl", jsonl(range(6)))
        done = wait_ended(client, client.tunings.tune(
            base_model="gemini-2.5-flash", training_dataset=types.TuningDataset(gcs_uri=uri)).name)
        running = client.tunings.tune(base_model="gemini-2.5-flash", training_dataset=types.TuningDataset(gcs_uri=uri),
                                      config=types.CreateTuningJobConfig(labels={"emulator-duration-ms": "1500"}))
    assert json.load(open(state))["jobs"]
    with Emulator(state_file=state, job_duration=0.5) as emu:
        client, storage = clients(emu)
        again = client.tunings.get(name=done.name)
        assert again.state == types.JobState.JOB_STATE_SUCCEEDED
        assert again.tuned_model.model == done.tuned_model.model
        answer = client.models.generate_content(model=again.tuned_model.endpoint, contents=fact(4)[0]).text
        assert answer == fact(4)[1]
        finished = wait_ended(client, running.name)  # its lifecycle kept going across the restart
        assert finished.state == types.JobState.JOB_STATE_SUCCEEDED
        assert storage.bucket("persist").blob("train.jsonl").exists()
        fresh = client.tunings.tune(base_model="gemini-2.5-flash", training_dataset=types.TuningDataset(gcs_uri=uri))
        assert fresh.name not in (done.name, running.name)
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_cli_prints_the_connection_line_and_stops_on_sigterm():
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_tuning.emulator", "--port", "0", "--storage-port", "0", "--job-duration", "1",
         "--seed", "3"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines, deadline = [], time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, process.stderr.read()
            lines.append(line.strip())
            if line.startswith("Serving"):
                break
        export = next(line for line in lines if line.startswith("export AIRFLOW_CONN_GEMINI_TUNING_DEFAULT="))
        conn = json.loads(export.split("=", 1)[1].strip("'"))
        assert conn["conn_type"] == "gemini_tuning"
        api = conn["extra"]["api_endpoint"]
        assert api.startswith("http://127.0.0.1:") and any(api in line for line in lines)
        client = build_genai_client(ConnectionSettings.from_extras("cli", conn["extra"]))
        assert list(client.tunings.list()) == []
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0


def test_main_is_importable_without_side_effects():
    from airflow_tuning.emulator import __main__ as cli

    assert callable(cli.main)
    assert cli.parse_args(["--port", "0", "--faults", "[]"]).faults == "[]"


def test_connection_uri_round_trips_through_airflow(emulator):
    from airflow.models.connection import Connection

    conn = Connection(conn_id="x", uri=emulator.connection_uri())
    assert conn.conn_type == "gemini_tuning"
    assert conn.extra_dejson["api_endpoint"] == emulator.api_url
    assert json.loads(emulator.connection_json())["extra"]["storage_endpoint"] == emulator.storage_url
