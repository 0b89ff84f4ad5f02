"""Drill 9c: ``make airflow`` as a new user runs it, opened in headless Chromium, then Ctrl-C.

The entry point starts its own stack (PostgreSQL, scheduler, dag-processor, triggerer, API server, emulator)
with the example DAGs and a DAG folder of the user's; the drill logs in with the printed login, finds both
kinds of DAG in the UI, checks that every listening socket of the stack is on 127.0.0.1, then sends SIGINT
and checks that every process is gone. ``test_make_airflow_checks_its_arguments`` is the fast smoke of the
same entry point (no servers).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.e2e.harness.processes import free_port
from tests.e2e.test_d9_ui import SHOTS, browser_page  # noqa: F401 - the fixture

REPO = Path(__file__).resolve().parents[2]
SCRIPT = [sys.executable, str(REPO / "demo" / "local_airflow.py")]
MY_DAG = '''
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG(dag_id="my_own_first_dag", schedule=None, start_date=datetime(2026, 1, 1)):
    EmptyOperator(task_id="hello")
'''


def test_make_airflow_checks_its_arguments(tmp_path: Path):
    result = subprocess.run([*SCRIPT, "--dags", str(tmp_path / "missing")], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and "no such folder" in result.stderr
    (tmp_path / "one.py").write_text("x = 1\n")
    result = subprocess.run([*SCRIPT, "--dags", str(tmp_path / "one.py")], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and "not a folder" in result.stderr
    result = subprocess.run([*SCRIPT, "--check", "--port", "8181"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "DAGS": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "UI on http://127.0.0.1:8181" in result.stdout and str(tmp_path.resolve()) in result.stdout
    makefile = (REPO / "Makefile").read_text()
    assert "demo/local_airflow.py $(if $(DAGS),--dags" in makefile


def _stack_processes(root: psutil.Process) -> list[psutil.Process]:
    procs = [root, *root.children(recursive=True)]
    return [p for p in procs if p.is_running()]


def _postgres_processes(log: str) -> list[psutil.Process]:
    folder = re.search(r"component logs in (\S+)\)", log)[1]
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(folder in part for part in proc.info["cmdline"] or []):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


@pytest.mark.local_only  # starts its own single-machine stack
@pytest.mark.drill(name="9c make airflow: UI, own DAGs, loopback, Ctrl-C")
@pytest.mark.timeout(900)
def test_make_airflow_serves_the_ui_on_loopback_and_stops_on_ctrl_c(tmp_path: Path, browser_page,  # noqa: F811
                                                                    standalone_drill):
    mine = tmp_path / "my_dags"
    mine.mkdir()
    (mine / "my_first.py").write_text(MY_DAG)
    port = free_port()
    out = tmp_path / "make-airflow.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTEST"))}
    argv = [*SCRIPT, "--dags", str(mine), "--port", str(port), "--emulator-port", str(free_port()),
            "--storage-port", str(free_port())]
    with open(out, "wb") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    root = psutil.Process(proc.pid)
    try:
        deadline = time.monotonic() + 600
        while "Ctrl-C stops everything." not in out.read_text():
            assert proc.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(1)
        text = out.read_text()
        login = re.search(r"UI:\s+(http://127\.0\.0\.1:\d+)\s+login: (\S+) / (\S+)", text)
        assert login and login[1] == f"http://127.0.0.1:{port}", text
        assert "airflow-tuning emulator upload FILE... gs://tuning-data/incoming/" in text

        # Every server the stack started listens on loopback only (PostgreSQL included).
        members = _stack_processes(root) + _postgres_processes(text)
        listening = {(c.laddr.ip, c.laddr.port) for p in members for c in _connections(p)
                     if c.status == psutil.CONN_LISTEN}
        assert listening and all(ip in ("127.0.0.1", "::1") for ip, _ in listening), listening
        assert port in {p for _, p in listening}

        page = browser_page
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.goto(f"{login[1]}/auth/login?next=%2Fdags")
        page.get_by_label("Username").fill(login[2])
        page.get_by_label("Password").fill(login[3])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/auth/login" not in url)
        for dag_id in ("gemini_scheduled_retraining", "gemini_tune_on_demand", "my_own_first_dag"):
            deadline = time.monotonic() + 240
            while not page.get_by_text(dag_id, exact=True).count():
                assert time.monotonic() < deadline, f"{dag_id} never appeared in the UI"
                page.wait_for_timeout(3000)
                page.goto(f"{login[1]}/dags")
        page.screenshot(path=str(SHOTS / "10_make_airflow_dags.png"), full_page=True)
    finally:
        pids = [p.pid for p in _stack_processes(root)]
        postgres = _postgres_processes(out.read_text()) if out.exists() else []
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    assert proc.returncode == 0, out.read_text()[-3000:]
    assert "Stopped." in out.read_text()
    _, alive = psutil.wait_procs([psutil.Process(pid) for pid in pids if psutil.pid_exists(pid)] + postgres,
                                 timeout=30)
    assert not alive, [(p.pid, p.cmdline()) for p in alive if p.is_running()]


def _connections(proc: psutil.Process) -> list:
    try:
        return proc.net_connections(kind="inet")
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []
