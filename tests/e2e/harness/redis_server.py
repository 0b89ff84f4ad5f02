"""A throw-away Redis (Debian's ``redis-server``) on a loopback port: the Celery broker of the distributed stack.

Nothing is persisted (no RDB snapshots, no append-only file): the broker lives for one test session. It runs
as a ``ManagedProcess`` so that a drill can kill or restart it like any other component.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.e2e.harness.processes import ManagedProcess, free_port, wait_for_port


class TempRedis:
    def __init__(self, root: Path, env: dict[str, str], binary: str = "redis-server") -> None:
        self.root = root
        self.port = free_port()
        argv = [
            binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--protected-mode", "yes",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(root),
            "--loglevel", "warning",
        ]
        self.process = ManagedProcess("redis", argv, env, log_dir=root, cwd=root)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30) -> TempRedis:
        self.process.start()
        wait_for_port(self.port, timeout, self.process)
        time.sleep(0.2)
        return self

    def stop(self) -> None:
        self.process.stop(grace=5)
