"""Drill selection, the session's real Airflow stack, and the drill table.

Selection:
- ``pytest tests/`` (and ``make test``) runs only drills marked ``fast_drill``;
- ``pytest tests/e2e -m drill`` (``make drills``) or ``E2E_ALL=1`` runs every drill;
- ``pytest -m fast_drill`` runs only the fast ones; ``E2E_SKIP=1`` skips every drill (quick unit loops).

The stack (PostgreSQL, emulator, scheduler, dag-processor, triggerer, api-server) starts once per session
on the first drill that needs it and is stopped at the end of the session, also when a drill fails.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from tests.e2e.harness.report import DrillRecord, format_table, write_report

E2E_DIR = Path(__file__).resolve().parent
ARTIFACTS = E2E_DIR.parents[1] / "artifacts" / "e2e"
BUCKETS = ("e2e-data", "e2e-watched")
SLOW_REASON = "slow drill: run `make drills` (pytest tests/e2e -m drill) or set E2E_ALL=1"

_records: list[DrillRecord] = []
_stack_timings: dict[str, float] = {}
_record_key = pytest.StashKey[DrillRecord]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "drill(name): an end-to-end drill on the real Airflow stack")
    config.addinivalue_line("markers", "fast_drill: a drill cheap enough for every default test run")


def _run_all_drills(config: pytest.Config) -> bool:
    if os.environ.get("E2E_ALL") == "1":
        return True
    return re.search(r"(?<![\w])drill\b", config.getoption("markexpr") or "") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_all = os.environ.get("E2E_SKIP") == "1"
    run_all = _run_all_drills(config)
    for item in items:
        if E2E_DIR not in Path(str(item.path)).parents:
            continue
        if skip_all:
            item.add_marker(pytest.mark.skip(reason="E2E_SKIP=1"))
        elif item.get_closest_marker("drill") and not item.get_closest_marker("fast_drill") and not run_all:
            item.add_marker(pytest.mark.skip(reason=SLOW_REASON))


# -- the stack --------------------------------------------------------------------------------------------
def _keep_logs(root: Path) -> None:
    """Copy component logs to artifacts/e2e/logs so a failed run can be read after the temp dir is gone."""
    target = ARTIFACTS / "logs"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    for log in root.glob("*.log"):
        shutil.copy2(log, target / log.name)
    task_logs = root / "airflow_home" / "logs"
    if task_logs.exists():
        shutil.copytree(task_logs, target / "airflow", ignore=shutil.ignore_patterns("dag_processor*"))


@pytest.fixture(scope="session")
def e2e_stack():
    from tests.e2e.harness.airflow_stack import AirflowStack
    from tests.e2e.harness.requirements import MissingTool, ensure_postgres

    try:
        extra_path = ensure_postgres()
    except MissingTool as err:
        pytest.fail(str(err), pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="airflow-tuning-e2e-"))
    stack = AirflowStack(root, extra_path)
    atexit.register(stack.stop)  # belt and braces: an interpreter exit without teardown still stops it
    try:
        stack.start(buckets=BUCKETS)
        _stack_timings.update(stack.timings)
        yield stack
    finally:
        stack.stop()
        try:
            _keep_logs(root)
        finally:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def drill(request: pytest.FixtureRequest, e2e_stack):
    """The drill's table row; jobs created are counted from the emulator unless the drill sets them."""
    marker = request.node.get_closest_marker("drill")
    name = (marker.kwargs.get("name") if marker else None) or request.node.name
    record = DrillRecord(drill=name, test=request.node.nodeid)
    request.node.stash[_record_key] = record
    _records.append(record)
    before = e2e_stack.emulator.stats()["jobs_created"]
    started = time.monotonic()
    try:
        yield record
    finally:
        record.duration_s = time.monotonic() - started
        try:
            e2e_stack.emulator.clear_faults()
            if record.jobs_created is None:
                record.jobs_created = e2e_stack.emulator.stats()["jobs_created"] - before
        except Exception as err:  # the emulator itself may be what failed
            record.note(emulator_error=str(err))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    record = item.stash.get(_record_key, None)
    if record is not None and (report.when == "call" or report.failed):
        if report.when == "call" or record.result == "not run":
            record.result = report.outcome if report.when == "call" else f"error ({report.when})"
    return report


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _records:
        return
    records = sorted(_records, key=lambda r: r.drill)
    terminalreporter.write_sep("=", "e2e drills")
    terminalreporter.write_line(format_table(records, _stack_timings))
    path = write_report(records, _stack_timings)
    terminalreporter.write_line(f"(written to {path})")
