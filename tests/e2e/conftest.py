"""Drill selection, the session's real Airflow stack, and the drill table.

Selection:
- ``pytest tests/`` (and ``make test``) runs only drills marked ``fast_drill``;
- ``pytest tests/e2e -m drill`` (``make drills``) or ``E2E_ALL=1`` runs every drill;
- ``pytest -m fast_drill`` runs only the fast ones; ``E2E_SKIP=1`` skips every drill (quick unit loops).

Topologies:
- ``local``: PostgreSQL, emulator, scheduler (LocalExecutor), dag-processor, triggerer, api-server;
- ``distributed``: the same with the CeleryExecutor, Redis, two Celery workers and two triggerers.
Drills marked ``distributed`` run only there, drills marked ``local_only`` only on ``local``; every other drill
runs on the topology ``E2E_TOPOLOGY`` names (``local`` by default, ``distributed``, or ``both``). ``make
drills`` sets ``both``. Local drills run first; at most one stack runs at a time (each starts on the first
drill that needs it, the other is stopped then), and the last one is stopped at the end of the session, also
when a drill fails.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.e2e.harness.report import DrillRecord, format_table, write_report
from tests.e2e.harness.topology import TOPOLOGIES, StackPool, topologies_for

E2E_DIR = Path(__file__).resolve().parent
ARTIFACTS = E2E_DIR.parents[1] / "artifacts" / "e2e"
BUCKETS = ("e2e-data", "e2e-watched")
SLOW_REASON = "slow drill: run `make drills` (pytest tests/e2e -m drill) or set E2E_ALL=1"

_records: list[DrillRecord] = []
_stack_timings: dict[str, dict[str, float]] = {}
_record_key = pytest.StashKey[DrillRecord]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "drill(name): an end-to-end drill on the real Airflow stack")
    config.addinivalue_line("markers", "fast_drill: a drill cheap enough for every default test run")
    config.addinivalue_line("markers", "distributed: a drill that needs the CeleryExecutor / two-triggerer topology")
    config.addinivalue_line("markers", "local_only: a drill that relies on the single-machine LocalExecutor topology")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every drill runs once per topology it is selected for (``[local]`` / ``[distributed]`` in its id)."""
    if "e2e_topology" in metafunc.fixturenames:
        marks = {m.name for m in metafunc.definition.iter_markers()}
        chosen = topologies_for(marks, os.environ.get("E2E_TOPOLOGY"))
        metafunc.parametrize("e2e_topology", chosen, ids=chosen)


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
        if skip_all and item.get_closest_marker("drill"):
            item.add_marker(pytest.mark.skip(reason="E2E_SKIP=1"))
        elif item.get_closest_marker("drill") and not item.get_closest_marker("fast_drill") and not run_all:
            item.add_marker(pytest.mark.skip(reason=SLOW_REASON))
    # Local drills first, then distributed ones: one stack switch per session at most.
    items.sort(key=lambda item: TOPOLOGIES.index(_topology_of(item)) if _topology_of(item) else 0)


def _topology_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("e2e_topology") if callspec is not None else None


# -- the stack --------------------------------------------------------------------------------------------
def _keep_logs(root: Path, topology: str) -> None:
    """Copy component logs to artifacts/e2e/logs/<topology> so a failed run can be read after the temp dir is gone."""
    target = ARTIFACTS / "logs" / topology
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    for log in root.glob("*.log"):
        shutil.copy2(log, target / log.name)
    task_logs = root / "airflow_home" / "logs"
    if task_logs.exists():
        shutil.copytree(task_logs, target / "airflow", ignore=shutil.ignore_patterns("dag_processor*"))


@pytest.fixture(scope="session")
def _stack_pool():
    pool = StackPool(BUCKETS, on_stop=_keep_logs)
    atexit.register(pool.stop)  # belt and braces: an interpreter exit without teardown still stops it
    try:
        yield pool
    finally:
        pool.stop()
        _stack_timings.update(pool.timings)


@pytest.fixture
def e2e_stack(e2e_topology: str, _stack_pool: StackPool):
    """The running stack of this drill's topology (started on first use, shared by the session)."""
    try:
        return _stack_pool.get(e2e_topology)
    except Exception as err:  # a missing tool or a stack that does not start fails the drill with its reason
        pytest.fail(f"the {e2e_topology} stack did not start: {err}", pytrace=False)


@pytest.fixture
def drill(request: pytest.FixtureRequest, e2e_stack):
    """The drill's table row; jobs created are counted from the emulator unless the drill sets them."""
    record = _new_record(request, e2e_stack.topology)
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


@pytest.fixture
def standalone_drill(request: pytest.FixtureRequest):
    """The table row of a drill that starts its own single-machine stack (jobs created: "-")."""
    record = _new_record(request, "local")
    started = time.monotonic()
    try:
        yield record
    finally:
        record.duration_s = time.monotonic() - started


def _new_record(request: pytest.FixtureRequest, topology: str) -> DrillRecord:
    marker = request.node.get_closest_marker("drill")
    name = (marker.kwargs.get("name") if marker else None) or request.node.name
    record = DrillRecord(drill=name, test=request.node.nodeid, topology=topology)
    request.node.stash[_record_key] = record
    _records.append(record)
    return record


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    record = item.stash.get(_record_key, None)
    if record is not None and (report.when == "call" or report.failed):
        if report.when == "call" or record.result == "not run":
            record.result = report.outcome if report.when == "call" else f"error ({report.when})"
    return report


def _drill_order(record: DrillRecord) -> tuple:
    """Drills in number order (2 before 10), then by name and topology."""
    number = re.match(r"\d+", record.drill)
    return (int(number.group()) if number else 10**6, record.drill, record.topology)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _records:
        return
    records = sorted(_records, key=_drill_order)
    terminalreporter.write_sep("=", "e2e drills")
    terminalreporter.write_line(format_table(records, _stack_timings))
    path = write_report(records, _stack_timings)
    terminalreporter.write_line(f"(written to {path})")
