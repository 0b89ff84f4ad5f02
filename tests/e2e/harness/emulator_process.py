"""The emulator as its own process, so that it outlives Airflow restarts and drills can fault it over HTTP."""

from __future__ import annotations

import json
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.harness.processes import ManagedProcess, free_port

PROJECT = "emulator-project"
LOCATION = "us-central1"
# Faster client-side retries than the production defaults, so fault drills stay short.
RETRY_EXTRAS = {"retry_initial_delay": 0.3, "retry_max_delay": 3.0, "retry_attempts": 8}


class EmulatorProcess:
    def __init__(self, root: Path, env: dict[str, str], job_duration: float = 3.0, seed: int = 7,
                 ports: tuple[int, int] = (0, 0)) -> None:
        self.port = ports[0] or free_port()
        self.storage_port = ports[1] or free_port()
        self.api_url = f"http://127.0.0.1:{self.port}"
        self.storage_url = f"http://127.0.0.1:{self.storage_port}"
        argv = [
            sys.executable,
            "-m",
            "airflow_tuning.emulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage-port",
            str(self.storage_port),
            "--project",
            PROJECT,
            "--location",
            LOCATION,
            "--job-duration",
            str(job_duration),
            "--seed",
            str(seed),
        ]
        self.process = ManagedProcess("emulator", argv, env, log_dir=root, cwd=root)
        self._http = httpx.Client(base_url=f"{self.api_url}/_emulator", timeout=30)
        self._storage: Any = None

    def start(self, timeout: float = 60) -> EmulatorProcess:
        self.process.start()
        deadline = time.monotonic() + timeout
        while True:
            if not self.process.alive:
                raise RuntimeError(f"the emulator exited with {self.process.returncode}:\n{self.process.tail()}")
            try:
                if self._http.get("/health").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the emulator did not answer on {self.api_url}:\n{self.process.tail()}")
            time.sleep(0.3)

    def stop(self) -> None:
        self._http.close()
        self.process.stop()

    # -- connection -----------------------------------------------------------------------------------
    def connection_json(self, **extra: Any) -> str:
        extras = {
            "project": PROJECT,
            "location": LOCATION,
            "api_endpoint": self.api_url,
            "storage_endpoint": self.storage_url,
            **RETRY_EXTRAS,
            **extra,
        }
        return json.dumps({"conn_type": "gemini_tuning", "extra": extras})

    # -- admin ----------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._http.request(method, path, json=body)
        if response.status_code != 200:
            raise RuntimeError(f"emulator admin {method} {path}: {response.status_code} {response.text}")
        return response.json()

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/stats")

    def jobs(self, labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
        clauses = [f'labels.{k}="{v}"' for k, v in (labels or {}).items()]
        query = "?" + urllib.parse.urlencode({"filter": " AND ".join(clauses)}) if clauses else ""
        return self._call("GET", f"/jobs{query}")["tuningJobs"]

    def set_faults(self, faults: list[dict[str, Any]], seed: int | None = None) -> dict[str, Any]:
        return self._call("POST", "/faults", {"faults": faults, "seed": seed})

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def faults(self) -> dict[str, Any]:
        return self._call("GET", "/faults")

    def configure(self, **values: Any) -> dict[str, Any]:
        return self._call("POST", "/config", values)

    # -- storage --------------------------------------------------------------------------------------
    def storage_client(self) -> Any:
        if self._storage is None:
            from google.auth.credentials import AnonymousCredentials
            from google.cloud import storage

            self._storage = storage.Client(
                project=PROJECT, credentials=AnonymousCredentials(), client_options={"api_endpoint": self.storage_url}
            )
        return self._storage

    def create_bucket(self, name: str) -> Any:
        from google.api_core import exceptions

        try:
            return self.storage_client().create_bucket(name)
        except exceptions.Conflict:
            return self.storage_client().bucket(name)

    def object_names(self, bucket: str, prefix: str = "") -> list[str]:
        return sorted(blob.name for blob in self.storage_client().list_blobs(bucket, prefix=prefix))

    def upload_text(self, bucket: str, name: str, text: str) -> str:
        self.storage_client().bucket(bucket).blob(name).upload_from_string(text, content_type="application/jsonl")
        return f"gs://{bucket}/{name}"
