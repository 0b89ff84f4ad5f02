"""Airflow as production runs it: PostgreSQL, scheduler (LocalExecutor), dag-processor, triggerer, api-server.

Each component is a separate process so that a drill can kill exactly one of them. All of them share one
fresh ``AIRFLOW_HOME``, one JWT secret and one Fernet key (set through the environment, so no component
generates its own), and reach the emulator through ``AIRFLOW_CONN_GEMINI_TUNING_DEFAULT``.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from tests.e2e.harness.emulator_process import EmulatorProcess
from tests.e2e.harness.postgres import TempPostgres
from tests.e2e.harness.processes import ManagedProcess, free_port, wait_for_port
from tests.e2e.harness.rest import AirflowRest

REPO = Path(__file__).resolve().parents[3]
E2E_DAGS = REPO / "tests" / "e2e" / "dags"
USERNAME = "admin"
PASSWORD = "e2e-admin-password"  # noqa: S105 - a throw-away local login for a loopback-only test stack
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def base_env(extra_path: str | None = None) -> dict[str, str]:
    """The parent environment without any Airflow setting of the test process, venv ``bin`` first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTEST"))}
    path = [os.path.dirname(sys.executable)]
    if extra_path:
        path.append(extra_path)
    env["PATH"] = os.pathsep.join([*path, env.get("PATH", "")])
    env["PYTHONUNBUFFERED"] = "1"
    env["NO_GCE_CHECK"] = "True"
    env.pop("GOOGLE_CLOUD_PROJECT", None)
    return env


EXAMPLE_BUCKET = "e2e-example-pipeline"


class AirflowStack:
    """PostgreSQL + emulator + four Airflow components, started once, stopped always."""

    topology = "local"
    component_names: tuple[str, ...] = COMPONENTS

    def __init__(self, root: Path, extra_path: str | None = None, *, dags_folder: Path = E2E_DAGS,
                 api_port: int = 0, emulator_ports: tuple[int, int] = (0, 0), bucket: str = EXAMPLE_BUCKET,
                 poll_interval: str = "1", job_duration: float = 3.0, password: str = PASSWORD) -> None:
        self.root = root
        self.password = password
        self.home = root / "airflow_home"
        self.logs = self.home / "logs"
        self.dags_folder = dags_folder
        self.bucket = bucket
        self.poll_interval = poll_interval
        self.api_port = api_port or free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.base = base_env(extra_path)
        self.base["GOOGLE_APPLICATION_CREDENTIALS"] = str(root / "no-adc.json")
        self.postgres = TempPostgres(root)
        self.emulator = EmulatorProcess(root, self.base, job_duration=job_duration, ports=emulator_ports)
        self.components: dict[str, ManagedProcess] = {}
        self.rest: AirflowRest | None = None
        self.timings: dict[str, float] = {}

    # -- environment ----------------------------------------------------------------------------------
    def airflow_env(self) -> dict[str, str]:
        passwords = self.home / "passwords.json"
        env = dict(self.base)
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "16",
                "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
                "AIRFLOW__CORE__DAG_FILE_PROCESSOR_TIMEOUT": "180",
                "AIRFLOW__CORE__FERNET_KEY": self._fernet,
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
                "AIRFLOW__CORE__AUTH_MANAGER": (
                    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.postgres.sqlalchemy_url,
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__BASE_URL": self.api_url,
                "AIRFLOW__API__SECRET_KEY": self._api_secret,
                "AIRFLOW__API__WORKERS": "2",
                "AIRFLOW__API_AUTH__JWT_SECRET": self._jwt_secret,
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
                "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "2",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
                "AIRFLOW__SCHEDULER__TRIGGER_TIMEOUT_CHECK_INTERVAL": "5",
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
                # Task starts on a loaded 2-core machine can keep the API server busy for more than the default
                # 5 s; a start that times out is reported failed before the task ran (a drill failure that says
                # nothing about the product).
                "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
                "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
                "AIRFLOW_CONN_GEMINI_TUNING_DEFAULT": self.emulator.connection_json(),
                # Read by the example DAGs (dags/, linked into the e2e DAGs folder) when they are parsed.
                "AIRFLOW_TUNING_BUCKET": self.bucket,
                "AIRFLOW_TUNING_POLL_INTERVAL": self.poll_interval,
            }
        )
        return env

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self, buckets: tuple[str, ...] = ()) -> AirflowStack:
        """Start everything; ``buckets`` are created in the emulated GCS before any DAG is parsed."""
        t0 = time.monotonic()
        self.home.mkdir(parents=True)
        self._fernet = _fernet_key()
        self._jwt_secret = secrets.token_urlsafe(32)
        self._api_secret = secrets.token_urlsafe(32)
        (self.home / "passwords.json").write_text(json.dumps({USERNAME: self.password}))
        self.postgres.start()
        self.timings["postgres"] = time.monotonic() - t0
        self.emulator.start()
        for bucket in (*buckets, self.bucket):
            self.emulator.create_bucket(bucket)
        self.timings["emulator"] = time.monotonic() - t0
        env = self.airflow_env()
        self._migrate(env)
        self.timings["db_migrate"] = time.monotonic() - t0
        for name in self.component_names:
            self.components[name] = self._component(name, env).start()
        wait_for_port(self.api_port, 120, self.components["api-server"])
        self.rest = AirflowRest(self.api_url, USERNAME, self.password)
        self.wait_healthy(timeout=120)
        self.timings["ready"] = time.monotonic() - t0
        return self

    def _migrate(self, env: dict[str, str]) -> None:
        result = subprocess.run(
            ["airflow", "db", "migrate"], env=env, cwd=self.root, capture_output=True, text=True, timeout=600
        )
        (self.root / "db-migrate.log").write_text(result.stdout + result.stderr)
        if result.returncode:
            raise RuntimeError(f"airflow db migrate failed ({result.returncode}):\n{result.stderr[-4000:]}")

    def _component(self, name: str, env: dict[str, str]) -> ManagedProcess:
        # No log servers: Airflow 3.3's serve-logs binds every interface and has no host setting; with the
        # LocalExecutor the API server reads task and trigger logs from the shared local folder instead.
        argv = {
            "api-server": ["airflow", "api-server", "--host", "127.0.0.1", "--port", str(self.api_port)],
            "scheduler": ["airflow", "scheduler", "--skip-serve-logs"],
            "dag-processor": ["airflow", "dag-processor"],
            "triggerer": ["airflow", "triggerer", "--skip-serve-logs"],
        }[name]
        return ManagedProcess(name, argv, env, log_dir=self.root, cwd=self.root)

    def wait_healthy(self, timeout: float = 90, components: tuple[str, ...] | None = None) -> dict:
        """Wait until /monitor/health reports every started component healthy; fail early if one died."""
        assert self.rest is not None
        components = self.component_names if components is None else components
        deadline = time.monotonic() + timeout
        health: dict = {}
        while time.monotonic() < deadline:
            for name in components:
                proc = self.components.get(name)
                if proc is not None and not proc.alive:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{proc.tail()}")
            try:
                health = self.rest.health()
            except httpx.HTTPError:
                time.sleep(1)
                continue
            wanted = {"scheduler", "triggerer", "dag_processor", "metadatabase"}
            if all(health.get(key, {}).get("status") == "healthy" for key in wanted) and self._ready():
                return health
            time.sleep(1)
        raise TimeoutError(f"Airflow components not healthy after {timeout:.0f}s: {health}")

    def _ready(self) -> bool:
        """Readiness beyond /monitor/health (the distributed stack waits for its Celery workers here)."""
        return True

    def stop(self) -> None:
        """Stop everything this stack started, in reverse order; never raises."""
        errors = []
        if self.rest is not None:
            self.rest.close()
        # Ask every component at once, then wait: shutdowns overlap instead of adding up.
        for name, proc in self.components.items():
            try:
                proc.terminate()
            except Exception as err:  # keep stopping the rest
                errors.append(f"{name}: {err}")
        for name, proc in self.components.items():
            try:
                proc.wait_stopped(grace=15)
            except Exception as err:
                errors.append(f"{name}: {err}")
        for stopper in (*self._extra_stoppers(), self.emulator.stop, self.postgres.stop):
            try:
                stopper()
            except Exception as err:
                errors.append(str(err))
        if errors:
            print(f"e2e stack teardown problems: {errors}", file=sys.stderr)

    def _extra_stoppers(self) -> tuple:
        return ()

    # -- drills ---------------------------------------------------------------------------------------
    def kill_component(self, name: str) -> None:
        self.components[name].kill_hard()

    def restart_component(self, name: str) -> ManagedProcess:
        proc = self.components[name]
        if proc.alive:
            proc.stop()
        return proc.start()

    def task_processes(self, ti_id: str) -> dict[str, psutil.Process]:
        """The processes running one task instance under the LocalExecutor, by role.

        ``supervisor``: the executor worker supervising the task (title ``airflow worker -- LocalExecutor:
        <ti>``); ``task``: the task runner it forked, where operator code runs (title ``airflow worker --
        <ti id>``).
        """
        found: dict[str, psutil.Process] = {}
        for proc in self.components["scheduler"].descendants():
            try:
                title = " ".join(proc.cmdline())
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if "LocalExecutor" in title and ti_id in title:
                found["supervisor"] = proc
            elif title.strip() == f"airflow worker -- {ti_id}":
                found["task"] = proc
        return found

    def triggerer_rss(self) -> int:
        """Resident memory of the triggerer and its trigger-runner subprocess, in bytes."""
        from tests.e2e.harness.processes import tree_rss_bytes

        proc = self.components["triggerer"]
        return tree_rss_bytes(proc.pid) if proc.alive else 0

    def trigger_logs(self, dag_id: str, run_id: str, task_id: str) -> list[Path]:
        folder = self.logs / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        return sorted(folder.glob("*.trigger.*.log")) if folder.exists() else []

    def task_logs(self, dag_id: str, run_id: str, task_id: str) -> list[Path]:
        folder = self.logs / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        return sorted(p for p in folder.glob("*.log") if ".trigger." not in p.name) if folder.exists() else []
