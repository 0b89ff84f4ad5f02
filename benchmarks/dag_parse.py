"""DAG parse cost: what each example DAG adds to the parse of an empty DAG (target <= 50 ms).

Every measurement runs in a fresh ``python`` process, as a DAG processor imports a changed file: the process
first imports what is already loaded when the file is read, untimed, then the time of the DAG file's import
alone is taken. The empty DAG (no task, written to a temp dir) is measured the same way, in the same rounds;
each example's figure is its median minus the empty DAG's median. Files are measured round-robin, so load
from other work on the machine falls on all of them alike.

Two set-ups, one line each per DAG:

- ``dag_parse_<dag>``: only ``import airflow.sdk`` before (about 1.8 s, paid by every DAG file). Airflow
  machinery that the DAG's constructs load lazily (Asset URI normalisation, which discovers every
  installed provider's asset handlers; cron timetables) counts against the DAG.
- ``dag_parse_<dag>_in_dag_processor``: ``import airflow.dag_processing.processor`` before, which is what
  Airflow's DAG-processor child has loaded when it imports a file (the child is forked from the processor
  with that module's entry point), then ``gc.freeze()``, as ``DagFileProcessorManager`` does before it forks
  its parsing children: without it a full collection of the whole Airflow heap (about 100 ms) lands inside
  whichever DAG import happens to cross the collector's threshold. This is the cost a deployment pays.

Garbage-collection time inside the timed import is measured with ``gc.callbacks`` and reported as context
(``gc_ms``, ``empty_gc_ms``) in both set-ups; it is part of the timed figure, not subtracted.

With the retraining DAG, ``dag_parse_bench_airflow_twin`` is measured too: the same DAG task for task (its
Asset and watcher, schedule, params, default_args, decorators, Airflow's HITL ``ApprovalOperator`` and the
teardown) with Airflow's ``EmptyOperator`` and a bare trigger in place of this provider's. Its figure is
Airflow's own, unavoidable cost of that DAG; the retraining figure minus the twin's is this provider's share.

Bytecode is cached (in a private ``PYTHONPYCACHEPREFIX``, filled by an untimed warm-up round) even when
``PYTHONDONTWRITEBYTECODE`` is set, as it is for an installed package: otherwise every run would compile
the provider's modules from source and measure the compiler.

One extra ``python -X importtime`` import per DAG splits the cost into this provider's modules and the rest
(indicative only: a single run, and importtime has its own overhead).

    python -m benchmarks.dag_parse [--runs 5] [--dags dags/a.py dags/b.py]

Prints JSON lines {"name", "value", "unit", "target", "baseline"}; ``baseline`` is the empty DAG's median
import time in the same set-up.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import REPO, emit, isolated_airflow_home, load_average, median, note

TARGET_MS = 50.0

EMPTY_DAG = '''"""An empty DAG: the floor every DAG file pays."""
from datetime import datetime

from airflow.sdk import DAG

with DAG(dag_id="bench_empty", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    pass
'''

# The Airflow constructs the retraining DAG uses (an Asset with a URI and a watcher, a cron-or-asset schedule,
# its nine params, default_args, @task, @task.short_circuit and @task.branch, Airflow's HITL ApprovalOperator,
# which PromotionApprovalOperator extends, and a teardown), task for task, with Airflow's EmptyOperator and a bare
# trigger in place of this provider's: what Airflow itself costs that DAG, which no change to this provider can
# remove.
AIRFLOW_TWIN_DAG = '''"""The retraining DAG's Airflow constructs, none of this provider's code."""
from datetime import datetime, timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import DAG, Asset, AssetOrTimeSchedule, AssetWatcher, CronTriggerTimetable, Param, task
from airflow.triggers.base import BaseEventTrigger


class BareTrigger(BaseEventTrigger):
    def serialize(self):
        return ("bench_airflow_twin.BareTrigger", {})

    async def run(self):
        yield


incoming = Asset(name="incoming", uri="gs://bucket/incoming/",
                 watchers=[AssetWatcher(name="incoming_watcher", trigger=BareTrigger())])
with DAG(dag_id="bench_airflow_twin", start_date=datetime(2026, 1, 1), catchup=False, max_active_runs=1,
         schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 3 * * 1", timezone="UTC"),
                                      assets=[incoming]),
         render_template_as_native_obj=True, default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
         params={
             "base_model": Param("gemini-2.5-flash", enum=["gemini-2.5-flash", "gemini-2.5-pro"], description="d"),
             "epoch_count": Param(3, type="integer", minimum=1, maximum=20, description="d"),
             "adapter_size": Param(4, type="integer", enum=[1, 2, 4, 8, 16], description="d"),
             "learning_rate_multiplier": Param(1.0, type="number", exclusiveMinimum=0, maximum=10, description="d"),
             "min_rouge_l": Param(0.5, type="number", minimum=0, maximum=1, description="d"),
             "min_improvement": Param(0.0, type="number", minimum=-1, maximum=1, description="d"),
             "force_retrain": Param(False, type="boolean", description="d"),
             "max_cost_usd": Param(50.0, type=["null", "number"], minimum=0, description="d"),
             "require_approval": Param(False, type="boolean", description="d"),
         }) as dag:
    upload = EmptyOperator(task_id="upload_dataset")

    @task.short_circuit(ignore_downstream_trigger_rules=True)
    def data_changed(uploaded) -> bool:
        return True

    tune, wait = EmptyOperator(task_id="tune"), EmptyOperator(task_id="wait_for_tuning")
    evaluate = EmptyOperator(task_id="evaluate")

    @task.branch
    def approval_gate() -> str:
        return "approve"

    approve = ApprovalOperator(task_id="approve", subject="Promote?", retries=0)

    @task
    def automatic_gate() -> str:
        return "automatic gate"

    promote = EmptyOperator(task_id="promote", trigger_rule="none_failed_min_one_success")
    cancel = EmptyOperator(task_id="cancel_unfinished_job")
    auto = automatic_gate()
    data_changed(upload.output) >> tune >> wait >> evaluate >> approval_gate() >> [approve, auto]
    [approve, auto] >> promote
    promote >> cancel.as_teardown(setups=tune)
'''

#: Set-up name -> (suffix of the figure's name, module imported untimed before the DAG file).
SETUPS = {"sdk": ("", "airflow.sdk"), "dag_processor": ("_in_dag_processor", "airflow.dag_processing.processor")}
#: Set-ups whose heap is frozen (``gc.freeze()``) before the DAG file is read: ``DagFileProcessorManager`` freezes
#: it before forking its parsing children, so a full collection of Airflow's own objects never lands in a parse.
GC_FROZEN = {"airflow.dag_processing.processor"}

# Runs in the fresh process: import the set-up's module untimed, then time the import of the DAG file only.
PROBE = """
import gc, importlib, importlib.util, json, sys, time
import airflow.sdk
importlib.import_module(sys.argv[2])
if sys.argv[3] == "freeze":
    gc.freeze()  # as DagFileProcessorManager does before it forks its parsing children
gc_time, gc_runs, started = [0.0], [0], [0.0]
def on_gc(phase, info):
    if phase == "start":
        started[0] = time.perf_counter()
    else:
        gc_time[0] += time.perf_counter() - started[0]
        gc_runs[0] += 1
path = sys.argv[1]
print("=== DAG import starts", file=sys.stderr, flush=True)
gc.callbacks.append(on_gc)
wall, cpu = time.perf_counter(), time.process_time()
spec = importlib.util.spec_from_file_location("bench_dag_module", path)
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
gc.callbacks.remove(on_gc)
dags = [v for v in vars(module).values() if isinstance(v, airflow.sdk.DAG)]
print(json.dumps({"wall": wall, "cpu": cpu, "gc": gc_time[0], "gc_runs": gc_runs[0], "dags": len(dags),
                  "tasks": sum(len(d.task_dict) for d in dags)}))
"""


def probe(path: Path, preload: str, env: dict[str, str], importtime: bool = False) -> dict:
    """Import ``path`` in a fresh interpreter after ``preload``; return its wall and CPU import seconds
    (and, with ``importtime``, the self time of the modules it imported, split by owner)."""
    flags = ["-X", "importtime"] if importtime else []
    freeze = "freeze" if preload in GC_FROZEN else "no-freeze"
    proc = subprocess.run([sys.executable, *flags, "-c", PROBE, str(path), preload, freeze], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"importing {path} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["dags"] < 1:
        raise RuntimeError(f"{path} defines no DAG")
    if importtime:
        result["breakdown"] = _breakdown(proc.stderr)
    return result


def _breakdown(stderr: str) -> dict[str, float]:
    """Milliseconds of module self time after the marker, by owner: this provider, or anything else."""
    owners = {"airflow_tuning": 0.0, "other": 0.0}
    lines = stderr.split("=== DAG import starts", 1)[-1].splitlines()
    for line in lines:
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, module = (part.strip() for part in line.removeprefix("import time:").split("|"))
        owner = "airflow_tuning" if module.split(".")[0] == "airflow_tuning" else "other"
        owners[owner] += int(self_us) / 1000
    return {k: round(v, 1) for k, v in owners.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per DAG file and set-up (>= 5)")
    parser.add_argument("--dags", nargs="*", type=Path, default=None,
                        help="DAG files to measure (default: every dags/*.py)")
    parser.add_argument("--setup", choices=[*SETUPS, "both"], default="both", help="which set-up(s) to measure")
    parser.add_argument("--warm-up", action=argparse.BooleanOptionalAction, default=True,
                        help="one untimed import of every file first, to fill the bytecode cache (default: yes)")
    parser.add_argument("--breakdown", action=argparse.BooleanOptionalAction, default=True,
                        help="one extra -X importtime import per DAG, to split the cost by owner")
    args = parser.parse_args(argv)
    setups = {k: v for k, v in SETUPS.items() if args.setup in (k, "both")}
    files = args.dags or sorted((REPO / "dags").glob("*.py"))
    files = [f.resolve() for f in files if f.name != "__init__.py"]
    if not files:
        parser.error("no DAG files to measure")

    isolated_airflow_home()
    with tempfile.TemporaryDirectory(prefix="dag-parse-") as tmp:
        empty = Path(tmp) / "bench_empty_dag.py"
        empty.write_text(EMPTY_DAG, encoding="utf-8")
        if any(path.stem == "gemini_scheduled_retraining" for path in files):  # with its Airflow-only twin
            twin = Path(tmp) / "bench_airflow_twin.py"
            twin.write_text(AIRFLOW_TWIN_DAG, encoding="utf-8")
            files = [*files, twin]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = os.path.join(tmp, "pycache")
        subjects = [(path, preload) for _, preload in setups.values() for path in (empty, *files)]
        for path, preload in subjects if args.warm_up else ():
            note(f"warm-up import of {path.name} after {preload}")
            probe(path, preload, env)
        samples: dict[tuple[Path, str], list[dict]] = {subject: [] for subject in subjects}
        loads = []
        for run in range(args.runs):
            for subject in subjects:
                samples[subject].append(probe(*subject, env))
            loads.append(load_average())
            note(f"round {run + 1}/{args.runs} done (load average {loads[-1]})")
        breakdowns = {subject: probe(*subject, env, importtime=True)["breakdown"] if args.breakdown else None
                      for subject in subjects}

    def med(subject: tuple[Path, str], key: str) -> float:
        return 1000 * median([s[key] for s in samples[subject]])

    met = True
    for suffix, preload in setups.values():
        base = (empty, preload)
        empty_wall, empty_cpu = med(base, "wall"), med(base, "cpu")
        for path in files:
            subject = (path, preload)
            delta = med(subject, "wall") - empty_wall
            is_twin = path.stem == "bench_airflow_twin"
            met &= is_twin or delta <= TARGET_MS
            emit(
                f"dag_parse_{path.stem}{suffix}", delta, "ms", None if is_twin else f"<= {TARGET_MS:g}", empty_wall,
                median_import_ms=med(subject, "wall"), cpu_delta_ms=med(subject, "cpu") - empty_cpu,
                empty_cpu_ms=empty_cpu, gc_ms=med(subject, "gc"), empty_gc_ms=med(base, "gc"),
                gc_frozen=preload in GC_FROZEN, preloaded=preload, runs=args.runs, tasks=samples[subject][0]["tasks"],
                import_self_ms=breakdowns[subject], empty_import_self_ms=breakdowns[base],
                load_average_1m=median(loads), file=None if is_twin else os.path.relpath(path, REPO),
                note=(("Airflow's own, unavoidable share of gemini_scheduled_retraining (the same DAG with "
                       "Airflow's operators in place of this provider's; retraining minus this is the provider's "
                       "share): " if is_twin else "")
                      + f"median import time in a fresh process after `import {preload}`"
                      + (" and gc.freeze(), as the DAG processor does," if preload in GC_FROZEN else "")
                      + " minus the empty DAG's; gc_ms is the garbage collection inside the timed import"),
            )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
