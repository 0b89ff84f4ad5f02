"""System tools the real stack needs, installed with apt-get when missing (as root), else named clearly."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

CHROMIUM = "/usr/bin/chromium"


class MissingTool(RuntimeError):
    """A system tool is missing and could not be installed; the message says what to install."""


def _apt_install(*packages: str) -> bool:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=900)
    result = subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", *packages], env=env, capture_output=True, timeout=900
    )
    return result.returncode == 0


def _postgres_bin_dir() -> str | None:
    if shutil.which("initdb") and shutil.which("pg_ctl"):
        return None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def ensure_postgres() -> str | None:
    """Make initdb/pg_ctl/postgres available; return a bin dir to prepend to PATH, if one is needed."""
    if shutil.which("initdb") and shutil.which("pg_ctl"):
        return None
    extra = _postgres_bin_dir()
    if extra:
        return extra
    if _apt_install("postgresql"):
        extra = _postgres_bin_dir()
        if shutil.which("initdb") or extra:
            return extra
    raise MissingTool(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) are not on PATH and could not be installed: "
        "run `apt-get install postgresql` (Debian/Ubuntu) as root, or put a PostgreSQL >= 13 bin directory on PATH"
    )


def ensure_chromium() -> str:
    """Path of Debian's chromium, installing it with apt-get as root if missing (Playwright never downloads)."""
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    if _apt_install("chromium") and os.path.exists(CHROMIUM):
        return CHROMIUM
    raise MissingTool(
        f"{CHROMIUM} is missing and could not be installed: run `apt-get install chromium` as root "
        "(the UI drill drives Debian's chromium through Playwright; it never runs `playwright install`)"
    )


def ensure_redis() -> str:
    """Path of ``redis-server`` (the Celery broker of the distributed drills), installing Debian's package as
    root when it is missing."""
    found = shutil.which("redis-server")
    if found:
        return found
    if _apt_install("redis-server") and (found := shutil.which("redis-server")):
        return found
    raise MissingTool(
        "redis-server is not on PATH and could not be installed: run `apt-get install redis-server` as root "
        "(the distributed drills use it as the Celery broker on a loopback port)"
    )


def ensure_celery_executor() -> None:
    """The CeleryExecutor must import (the Celery provider and the installed celery must fit each other)."""
    import sys

    probe = "from airflow.providers.celery.executors.celery_executor import CeleryExecutor"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    if result.returncode:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise MissingTool(
            f"the CeleryExecutor does not import ({last}): install apache-airflow-providers-celery with a celery "
            "release it supports (pip show apache-airflow-providers-celery celery), e.g. from constraints.txt"
        )
