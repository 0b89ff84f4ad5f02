"""Worker-slot seconds for one tuning job: deferrable (this provider's default) vs ``deferrable=False``.

``deferrable=False`` is the synchronous way of waiting that peer operators use: the task polls the job from
the worker and holds its slot for the whole job. Deferred, the task holds a slot only to submit the job and
again to read the trigger's event; the wait runs in the triggerer. Target: deferrable slot time below 5 % of
the synchronous one.

One DAG with one ``CreateTuningJobOperator`` on an emulated job of ``--job-seconds`` (default 120, real time,
not compressed) runs twice in the same process with ``dag.test()``, once per mode, both with the operator's
default poll policy (10 s growing to 150 s). ``dag.test()`` runs each worker-side segment of a task (the
first try until it defers or ends, then the resumption after the trigger fired) through Airflow's
``run_task_in_process``; the benchmark times each such call, which is the slot time: task start-up
(context from the execution API), the operator's code, XCom and state updates. The trigger runs inline
between the segments and is not counted, as in a deployment, where it runs in the triggerer. The time
inside the operator's own ``execute``/``execute_complete`` is reported too. The execution API is started
and both modes are run once on a 1 s job before the measured runs, so one-off start-up costs (first
imports, caches) are in neither figure.

The synchronous figure includes the poll overshoot (the job is seen done at the next poll, up to one poll
interval after it ended): that is how long its slot is really held.

Left out of both sides: what a real worker adds per segment (starting the task process and parsing the DAG
file, about a second or two). The deferrable task has two segments and the synchronous one has one, so
with that included the deferrable figure would grow by roughly one such start-up.

    python -m benchmarks.worker_slots [--job-seconds 120] [--poll-interval 10] [--max-poll-interval 150]

Prints JSON lines {"name", "value", "unit", "target", "baseline"}.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.common import (
    emit,
    emulator_process,
    isolated_airflow_home,
    load_average,
    note,
    stdout_to_stderr,
    upload_training_data,
)

TARGET_RATIO = 0.05
MODES = {"deferrable": True, "synchronous": False}

# The DAG file dag.test() needs inside the DAGs folder; the operator comes from this module.
DAG_FILE = '''"""Benchmark DAGs: one tuning job, waited on deferred or on the worker."""
from datetime import datetime

from airflow.sdk import DAG

from benchmarks.worker_slots import TimedCreateTuningJobOperator

POLICY = {policy!r}
for mode, deferrable in {modes!r}.items():
    with DAG(dag_id=f"bench_worker_slots_{{mode}}", schedule=None, start_date=datetime(2026, 1, 1),
             catchup=False, params={{"train": "", "duration_ms": "1000"}}) as dag:
        TimedCreateTuningJobOperator(
            task_id="tune", base_model="gemini-2.5-flash", training_dataset_uri="{{{{ params.train }}}}",
            labels={{"emulator-duration-ms": "{{{{ params.duration_ms }}}}", "benchmark": "worker-slots"}},
            deferrable=deferrable, **POLICY,
        )
    globals()[dag.dag_id] = dag
'''

#: Seconds spent in each timed call, by kind, in call order: filled while the DAGs run.
TIMINGS: list[tuple[str, float]] = []


@contextlib.contextmanager
def _timed(kind: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        TIMINGS.append((kind, time.perf_counter() - started))


def _operator_class() -> type:
    from airflow_tuning.operators.tuning import CreateTuningJobOperator

    class TimedCreateTuningJobOperator(CreateTuningJobOperator):
        """``CreateTuningJobOperator`` that notes the time spent in its own code."""

        def execute(self, context: Any) -> Any:
            with _timed("operator"):
                return super().execute(context)

        def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
            with _timed("operator"):
                return super().execute_complete(context, event)

    return TimedCreateTuningJobOperator


def __getattr__(name: str) -> Any:
    # Built on first use: importing this module must not import Airflow before main() has pointed
    # AIRFLOW_HOME at a private directory.
    if name == "TimedCreateTuningJobOperator":
        cls = _operator_class()
        globals()[name] = cls
        return cls
    raise AttributeError(name)


@contextlib.contextmanager
def timed_task_segments() -> Iterator[None]:
    """Time every worker-side segment ``dag.test()`` runs (it looks ``run_task_in_process`` up per call)."""
    from airflow.sdk.execution_time import supervisor

    original = supervisor.run_task_in_process

    def timed(*args: Any, **kwargs: Any) -> Any:
        with _timed("segment"):
            return original(*args, **kwargs)

    supervisor.run_task_in_process = timed
    try:
        yield
    finally:
        supervisor.run_task_in_process = original


def load_dags(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location("bench_worker_slots_dags", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_mode(dag: Any, conf: dict[str, str]) -> dict[str, Any]:
    start = len(TIMINGS)
    started = time.perf_counter()
    with stdout_to_stderr(), timed_task_segments():
        run = dag.test(run_conf=conf)
    wall = time.perf_counter() - started
    mine = TIMINGS[start:]
    if run.state != "success":
        raise RuntimeError(f"{dag.dag_id} ended {run.state}; see the log above")
    segments = [s for kind, s in mine if kind == "segment"]
    return {"wall": wall, "segments": segments, "slot": sum(segments),
            "operator": sum(s for kind, s in mine if kind == "operator")}


def main(argv: list[str] | None = None) -> int:
    from airflow_tuning.jobs.polling import DEFAULT_MAX_POLL_INTERVAL, DEFAULT_POLL_INTERVAL

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--job-seconds", type=float, default=120.0, help="emulated job duration (real seconds)")
    parser.add_argument("--poll-interval", type=float, default=DEFAULT_POLL_INTERVAL)
    parser.add_argument("--max-poll-interval", type=float, default=DEFAULT_MAX_POLL_INTERVAL)
    parser.add_argument("--warm-up", action=argparse.BooleanOptionalAction, default=True,
                        help="run both modes once on a 1 s job first, not counted (default: yes)")
    args = parser.parse_args(argv)
    policy = {"poll_interval": args.poll_interval, "max_poll_interval": max(args.poll_interval,
                                                                           args.max_poll_interval)}

    home = isolated_airflow_home()
    dags = home / "dags"
    dags.mkdir()
    (dags / "bench_worker_slots.py").write_text(DAG_FILE.format(policy=policy, modes=MODES), encoding="utf-8")
    with emulator_process() as emu:
        os.environ["AIRFLOW_CONN_GEMINI_TUNING_DEFAULT"] = emu.connection_json()
        conf = {"train": upload_training_data(emu), "duration_ms": str(int(args.job_seconds * 1000))}
        with stdout_to_stderr():
            from airflow.sdk.execution_time.supervisor import in_process_api_server
            from airflow.utils import db

            db.resetdb()
            in_process_api_server()  # the execution API's one-off start-up, outside both measurements
        module = load_dags(dags / "bench_worker_slots.py")
        for mode in MODES if args.warm_up else ():
            note(f"warm-up: {mode} on a 1 s job (first-use imports and caches), not counted")
            run_mode(getattr(module, f"bench_worker_slots_{mode}"), {**conf, "duration_ms": "1000"})
        results, loads = {}, []
        for mode in MODES:
            note(f"{mode}: one {args.job_seconds:g} s tuning job")
            results[mode] = run_mode(getattr(module, f"bench_worker_slots_{mode}"), conf)
            loads.append(load_average())
            note(f"{mode}: slot {results[mode]['slot']:.2f} s in {len(results[mode]['segments'])} segment(s), "
                 f"run {results[mode]['wall']:.1f} s")

    deferred, sync = results["deferrable"], results["synchronous"]
    ratio = deferred["slot"] / sync["slot"]
    common = {"job_seconds": args.job_seconds, "poll_policy": policy, "load_average_1m": max(loads)}
    emit("worker_slot_seconds_deferrable", deferred["slot"], "s", None, sync["slot"],
         segments=deferred["segments"], operator_code_seconds=deferred["operator"], run_wall_seconds=deferred["wall"],
         **common)
    emit("worker_slot_seconds_synchronous", sync["slot"], "s", None, None,
         segments=sync["segments"], operator_code_seconds=sync["operator"], run_wall_seconds=sync["wall"], **common)
    emit("worker_slot_ratio_deferrable_to_synchronous", 100 * ratio, "%", f"< {100 * TARGET_RATIO:g}", 100.0,
         note="slot seconds deferrable / deferrable=False, same job length and poll policy, same run", **common)
    return 0 if ratio < TARGET_RATIO else 1


if __name__ == "__main__":
    # Run as the importable module, not as __main__: the DAG file's operator records into that module.
    raise SystemExit(importlib.import_module("benchmarks.worker_slots").main())
