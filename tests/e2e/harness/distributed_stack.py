"""Airflow as teams scale it: CeleryExecutor with a Redis broker, two Celery workers and two triggerers.

Beside the single-machine stack (``airflow_stack.AirflowStack``): the same PostgreSQL (metadata and Celery
results), emulator, scheduler, dag-processor and API server, plus Redis on a loopback port and, each its own
killable process, ``worker-1`` / ``worker-2`` (``airflow celery worker``) and ``triggerer-1`` /
``triggerer-2``. Kept lean for a shared 2-core machine: each worker runs at most ``WORKER_CONCURRENCY``
tasks at once. Every component reports its own name as its host name (``harness/hostname.py``), so the task
instance history says which worker ran each try and the ``job`` table which triggerer owns a trigger.
"""

from __future__ import annotations

import time
from pathlib import Path

import psutil

from tests.e2e.harness.airflow_stack import REPO, AirflowStack
from tests.e2e.harness.processes import ManagedProcess, tree_rss_bytes
from tests.e2e.harness.redis_server import TempRedis

WORKERS = ("worker-1", "worker-2")
TRIGGERERS = ("triggerer-1", "triggerer-2")
WORKER_CONCURRENCY = 2
# A dead worker's task is retried once its heartbeats have been missing this long.
TASK_HEARTBEAT_TIMEOUT_S = 30


class DistributedStack(AirflowStack):
    topology = "distributed"
    component_names = ("api-server", "scheduler", "dag-processor", *TRIGGERERS, *WORKERS)

    def __init__(self, root: Path, extra_path: str | None = None, redis_binary: str = "redis-server") -> None:
        super().__init__(root, extra_path)
        self.redis = TempRedis(root, self.base, redis_binary)

    def airflow_env(self) -> dict[str, str]:
        env = super().airflow_env()
        pg = self.postgres
        env.update(
            {
                "AIRFLOW__CORE__EXECUTOR": "airflow.providers.celery.executors.celery_executor.CeleryExecutor",
                "AIRFLOW__CELERY__BROKER_URL": self.redis.url,
                "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://airflow@127.0.0.1:{pg.port}/airflow",
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
                "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
                "AIRFLOW__CELERY__SYNC_PARALLELISM": "1",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(TASK_HEARTBEAT_TIMEOUT_S),
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.e2e.harness.hostname.component_hostname",
                "PYTHONPATH": str(REPO),
            }
        )
        return env

    def start(self, buckets: tuple[str, ...] = ()) -> DistributedStack:
        t0 = time.monotonic()
        self.root.mkdir(parents=True, exist_ok=True)
        self.redis.start()
        self.timings["redis"] = time.monotonic() - t0
        super().start(buckets)
        return self

    def _component(self, name: str, env: dict[str, str]) -> ManagedProcess:
        env = {**env, "E2E_COMPONENT_HOSTNAME": name}
        if name in WORKERS:
            argv = [
                "airflow", "celery", "worker",
                "--concurrency", str(WORKER_CONCURRENCY),
                "--celery-hostname", f"{name}@%h",
                "--skip-serve-logs",
                "--without-mingle",
                "--without-gossip",
            ]
            return ManagedProcess(name, argv, env, log_dir=self.root, cwd=self.root)
        if name in TRIGGERERS:
            argv = ["airflow", "triggerer", "--skip-serve-logs"]
            return ManagedProcess(name, argv, env, log_dir=self.root, cwd=self.root)
        return super()._component(name, env)

    def _ready(self) -> bool:
        """Both Celery workers connected to the broker (Celery logs ``<name>@<host> ready.``)."""
        return all(
            f"{name}@" in log and " ready." in log
            for name in WORKERS
            for log in [self._log_since_last_start(name)]
        )

    def _log_since_last_start(self, name: str) -> str:
        proc = self.components.get(name)
        if proc is None:
            return ""
        try:
            text = proc.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return text.rsplit("===== start #", 1)[-1]

    def _extra_stoppers(self) -> tuple:
        return (self.redis.stop,)

    # -- drills ---------------------------------------------------------------------------------------
    def triggerer_rss(self, name: str | None = None) -> int:
        """Resident memory of one triggerer (``name``) or of both, each with its trigger-runner subprocess."""
        names = TRIGGERERS if name is None else (name,)
        return sum(tree_rss_bytes(self.components[n].pid) for n in names if self.components[n].alive)

    def task_processes(self, ti_id: str) -> dict[str, psutil.Process]:
        """The processes running one task instance, found in the Celery workers' process trees, by worker."""
        found: dict[str, psutil.Process] = {}
        for name in WORKERS:
            for proc in self.components[name].descendants():
                try:
                    if ti_id in " ".join(proc.cmdline()):
                        found[name] = proc
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
        return found

    def restore(self, timeout: float = 120) -> None:
        """Start again every component that is not running (after a drill killed one), then wait until healthy."""
        for proc in self.components.values():
            if not proc.alive:
                proc.start()
        self.wait_healthy(timeout=timeout)
