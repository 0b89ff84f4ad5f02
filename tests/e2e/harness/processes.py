"""Child processes the harness owns: started in their own session, logged to a file, always stopped.

Every component runs in a new process group (``start_new_session=True``) so that stopping it also stops
what it forked (LocalExecutor workers, the triggerer's trigger runner, uvicorn workers). Stopping is
SIGTERM to the group, a grace period, then SIGKILL to the group and to any descendant that escaped it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float, proc: ManagedProcess | None = None) -> None:
    """Block until 127.0.0.1:port accepts connections; fail early if ``proc`` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive:
            raise RuntimeError(f"{proc.name} exited with {proc.returncode} before listening on {port}:\n{proc.tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants (0 if it is gone)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


class ManagedProcess:
    """One long-running child (a PostgreSQL server excepted: ``pg_ctl`` daemonises it)."""

    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str], log_dir: Path, cwd: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.cwd = cwd
        self.log_path = log_dir / f"{name}.log"
        self._popen: subprocess.Popen[bytes] | None = None
        self._members: list[psutil.Process] = []
        self.starts = 0

    def start(self) -> ManagedProcess:
        self.starts += 1
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            log.write(f"\n===== start #{self.starts}: {' '.join(self.argv)}\n".encode())
            log.flush()
            self._popen = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        return self

    @property
    def pid(self) -> int:
        if self._popen is None:
            raise RuntimeError(f"{self.name} was never started")
        return self._popen.pid

    @property
    def alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._popen is None else self._popen.poll()

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def descendants(self) -> list[psutil.Process]:
        if not self.alive:
            return []
        try:
            return psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def kill_hard(self) -> None:
        """SIGKILL the whole group at once: a crash, not a shutdown (no cleanup code runs)."""
        if self._popen is None:
            return
        survivors = self.descendants()
        try:
            os.killpg(self._popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for proc in survivors:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        self._popen.wait(timeout=10)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the group, wait ``grace`` seconds, then SIGKILL whatever is left."""
        self.terminate()
        self.wait_stopped(grace)

    def terminate(self) -> None:
        """Ask the whole group to shut down (SIGTERM); remember its members to kill any straggler later."""
        if self._popen is None or self._popen.poll() is not None:
            self._members = []
            return
        self._members = self.descendants()
        try:
            os.killpg(self._popen.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    def wait_stopped(self, grace: float = 10.0) -> None:
        """Wait for a terminated group to exit; SIGKILL the leader, the group and escaped descendants after."""
        if self._popen is None:
            return
        try:
            self._popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        members = [p for p in self._members if p.is_running()]
        _, alive = psutil.wait_procs(members, timeout=2)
        for proc in alive:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        self._reap_group()
        if self._popen.poll() is None:
            self._popen.kill()
            self._popen.wait(timeout=10)

    def _reap_group(self) -> None:
        try:
            os.killpg(self._popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
