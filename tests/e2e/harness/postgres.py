"""A throw-away PostgreSQL server from the binaries on PATH, on a loopback port, in a temp directory.

PostgreSQL refuses to run as root, so when the harness runs as root the cluster is created and started as
an unprivileged account (``postgres`` if it exists, else ``nobody``) that owns the directory. Durability
is switched off (fsync, synchronous_commit): the database lives for one test session.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

from tests.e2e.harness.processes import free_port

DB_USER = "airflow"
DB_NAME = "airflow"


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return user
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' account exists to run PostgreSQL")


class TempPostgres:
    def __init__(self, root: Path) -> None:
        self.root = root / "pg"
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.user = _run_as()
        self.started = False

    @property
    def sqlalchemy_url(self) -> str:
        return f"postgresql+psycopg2://{DB_USER}@127.0.0.1:{self.port}/{DB_NAME}"

    def _cmd(self, *argv: str) -> list[str]:
        if self.user is None:
            return list(argv)
        return ["runuser", "-u", self.user, "--", *argv]

    def _check(self, *argv: str, timeout: float = 120) -> None:
        result = subprocess.run(self._cmd(*argv), capture_output=True, text=True, timeout=timeout)
        if result.returncode:
            raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def start(self) -> TempPostgres:
        self.root.mkdir(parents=True)
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            self.root.chmod(0o700)
            # the account must be able to reach its directory through the session temp dir
            for parent in (self.root.parent, self.root.parent.parent):
                parent.chmod(parent.stat().st_mode | 0o011)
        self._check("initdb", "-D", str(self.data), "-U", DB_USER, "--auth=trust", "-E", "UTF8", "--no-locale")
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=300",
            ]
        )
        self._check("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "60", "start")
        self.started = True
        self._create_database()
        return self

    def _create_database(self) -> None:
        import psycopg2

        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=DB_USER, dbname="postgres")
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {DB_NAME}")
        conn.close()

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is cut, the server is back with the same options."""
        # -l: the new server must not inherit our pipes (pg_ctl -w would wait for them to close).
        self._check("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "-t", "60", "restart")

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Read the metadata database directly (facts the REST API does not expose, e.g. trigger owners)."""
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=DB_USER, dbname=DB_NAME)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        finally:
            conn.close()

    def stop(self) -> None:
        if self.started:
            subprocess.run(
                self._cmd("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop"),
                capture_output=True,
                timeout=60,
            )
            self.started = False

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
