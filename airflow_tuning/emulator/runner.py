"""``Emulator``: Vertex AI (uvicorn, background thread) and Cloud Storage (gcp-storage-emulator) on loopback.

Used as a context manager by tests and by the CLI. Both servers bind 127.0.0.1 on free ports by default;
the API socket is bound before the server starts, so ``api_url`` is final as soon as ``start()`` returns.
Everything that inspects or changes the running emulator goes through its admin HTTP routes, so the same
calls work against an emulator in another process.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_tuning.emulator.server_thread import ServerThread

DEFAULT_PROJECT = "emulator-project"
DEFAULT_LOCATION = "us-central1"


class Emulator:
    """Offline Vertex AI tuning, serving and Model Registry, plus Cloud Storage.

    :param job_duration: seconds from create to SUCCEEDED (label ``emulator-duration-ms`` overrides per job).
    :param latency: seconds added to every API call.
    :param seed: makes ids and injected faults reproducible.
    :param state_file: JSON file keeping jobs, models, endpoints and learned examples across restarts
        (the emulated bucket contents are kept next to it, in ``<state_file>.gcs``).
    :param faults: initial fault plan, as for :meth:`set_faults`.
    :param detailed_job_states: every job reports JOB_STATE_QUEUED, ``tuningJobState`` sub-states and
        ``tuningJobMetadata`` progress (label ``emulator-job-states: detailed|simple`` decides per job).
    """

    def __init__(self, job_duration: float = 2.0, latency: float = 0.0, seed: int = 0,
                 state_file: str | None = None, host: str = "127.0.0.1", port: int = 0, storage_port: int = 0,
                 project: str = DEFAULT_PROJECT, location: str = DEFAULT_LOCATION,
                 faults: list[dict[str, Any]] | None = None, detailed_job_states: bool = False) -> None:
        self.job_duration = job_duration
        self.detailed_job_states = detailed_job_states
        self.latency = latency
        self.seed = seed
        self.state_file = state_file
        self.host = host
        self.port = port
        self.storage_port = storage_port
        self.project = project
        self.location = location
        self.initial_faults = faults
        self.api_url = ""
        self.storage_url = ""
        self._server: ServerThread | None = None
        self._storage_server: ServerThread | None = None
        self._gcs: Any = None
        self._storage_client: Any = None

    def __repr__(self) -> str:
        return f"Emulator(api_url={self.api_url!r}, storage_url={self.storage_url!r})"

    # -- lifecycle ------------------------------------------------------------------------------------
    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> Emulator:
        from gcp_storage_emulator.server import create_server

        from airflow_tuning.emulator import gcs_backend, proto_check
        from airflow_tuning.emulator.app import build_context, create_app
        from airflow_tuning.emulator.server_thread import ServerThread, bind
        from airflow_tuning.emulator.state import Config, Store
        from airflow_tuning.emulator.storage_front import StorageFront

        proto_check.load()
        gcs_backend.patch()
        # gcp-storage-emulator logs every request at INFO; its errors still show.
        logging.getLogger("gcp_storage_emulator").setLevel(logging.WARNING)
        # The backend listens on a private loopback port; clients reach it through the storage front.
        if self.state_file:
            self._gcs = create_server("127.0.0.1", 0, in_memory=False, data_dir=f"{self.state_file}.gcs")
        else:
            self._gcs = create_server("127.0.0.1", 0, in_memory=True)
        self._gcs.start()
        backend_port = self._gcs._api._httpd.server_address[1]
        try:
            storage_sock = bind(self.host, self.storage_port)
            self._storage_server = ServerThread(StorageFront(f"http://127.0.0.1:{backend_port}"), storage_sock,
                                                "emulator-storage").start()
            self.storage_url = f"http://{self.host}:{storage_sock.getsockname()[1]}"
            sock = bind(self.host, self.port)
        except (OSError, RuntimeError):
            self.stop()
            raise
        self.api_url = f"http://{self.host}:{sock.getsockname()[1]}"

        ctx = build_context(store=Store(self.state_file, self.seed),
                            config=Config(job_duration=self.job_duration, latency=self.latency,
                                          detailed_job_states=self.detailed_job_states),
                            storage_url=self.storage_url, faults=self.initial_faults, seed=self.seed)
        try:
            self._server = ServerThread(create_app(ctx), sock, "emulator-api").start()
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in (self._server, self._storage_server):
            if server is not None:
                server.stop()
        if self._gcs is not None:
            self._gcs.stop()
        self._server = self._storage_server = self._gcs = None

    # -- connection -----------------------------------------------------------------------------------
    def connection_extra(self, **extra: Any) -> dict[str, Any]:
        return {"project": self.project, "location": self.location, "api_endpoint": self.api_url,
                "storage_endpoint": self.storage_url, **extra}

    def connection_json(self, **extra: Any) -> str:
        """JSON for ``AIRFLOW_CONN_GEMINI_TUNING_DEFAULT``; ``extra`` adds or overrides connection extras."""
        return json.dumps({"conn_type": "gemini_tuning", "extra": self.connection_extra(**extra)})

    def connection_uri(self, **extra: Any) -> str:
        """The same connection as an Airflow URI."""
        query = urllib.parse.urlencode({"__extra__": json.dumps(self.connection_extra(**extra))})
        return f"gemini-tuning://?{query}"

    # -- admin ----------------------------------------------------------------------------------------
    def _admin(self, method: str, path: str, body: Any = None, *, storage: bool = False) -> Any:
        """One call to the API's admin routes, or with ``storage`` to the storage front's (its own port)."""
        import httpx

        base = self.storage_url if storage else self.api_url
        response = httpx.request(method, f"{base}/_emulator{path}", json=body, timeout=30)
        if response.status_code != 200:
            raise RuntimeError(f"Emulator admin call {method} {path} failed: {response.status_code} {response.text}")
        return response.json()

    def stats(self) -> dict[str, Any]:
        """Request counts per route template, jobs created, jobs by state, faults injected."""
        return self._admin("GET", "/stats")

    def reset_stats(self) -> None:
        self._admin("DELETE", "/stats")

    def jobs(self, labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Every tuning job (API shape, oldest first), optionally only those carrying all ``labels``."""
        clauses = [f'labels.{k}="{v}"' for k, v in (labels or {}).items()]
        query = "?" + urllib.parse.urlencode({"filter": " AND ".join(clauses)}) if clauses else ""
        return self._admin("GET", f"/jobs{query}")["tuningJobs"]

    def set_faults(self, faults: list[dict[str, Any]], seed: int | None = None) -> dict[str, Any]:
        """Replace the fault plan: ``[{"route", "rate", "status", "latency_ms", "drop", "count"}, ...]``."""
        return self._admin("POST", "/faults", {"faults": faults, "seed": seed})

    def clear_faults(self) -> None:
        self._admin("DELETE", "/faults")

    def configure(self, job_duration: float | None = None, latency: float | None = None,
                  detailed_job_states: bool | None = None) -> dict[str, Any]:
        values = {k: v for k, v in (("job_duration", job_duration), ("latency", latency),
                                    ("detailed_job_states", detailed_job_states)) if v is not None}
        return self._admin("POST", "/config", values)

    # -- storage --------------------------------------------------------------------------------------
    def uploads(self) -> list[dict[str, Any]]:
        """Every resumable upload session the storage front saw: bucket, object name and state
        (``open``, ``finalized`` or ``cancelled``)."""
        return self._admin("GET", "/uploads", storage=True)["uploads"]

    def set_storage_faults(self, faults: list[dict[str, Any]], seed: int | None = None) -> None:
        """Replace storage's own fault plan (routes ``"METHOD /storage/v1/..."``); API faults never touch storage."""
        self._admin("POST", "/faults", {"faults": faults, "seed": seed}, storage=True)

    def clear_storage_faults(self) -> None:
        self._admin("DELETE", "/faults", storage=True)

    def downloads(self) -> dict[str, int]:
        """How many times the storage front served each object's bytes (``"bucket/object"`` -> reads)."""
        return dict(self._admin("GET", "/downloads", storage=True)["downloads"])

    def storage_client(self) -> Any:
        """A google-cloud-storage client on the emulated GCS."""
        if self._storage_client is None:
            from google.auth.credentials import AnonymousCredentials
            from google.cloud import storage

            self._storage_client = storage.Client(project=self.project, credentials=AnonymousCredentials(),
                                                  client_options={"api_endpoint": self.storage_url})
        return self._storage_client

    def create_bucket(self, name: str) -> Any:
        """Create (or return the existing) bucket ``name`` in the emulated GCS."""
        from google.api_core import exceptions

        client = self.storage_client()
        try:
            return client.create_bucket(name)
        except exceptions.Conflict:
            return client.bucket(name)
