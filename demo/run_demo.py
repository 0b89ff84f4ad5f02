"""``make demo``: the weekly retraining pipeline, end to end, on the offline emulator.

1. Starts the emulator (Vertex AI + Cloud Storage) in this process and points the default connection at it.
2. Seeds the bucket with the shipped sample data (``demo/data/history.jsonl``).
3. Runs ``gemini_scheduled_retraining`` with ``dag.test()``: bootstrap from the base model, evaluate against
   it, promote the first champion.
4. New tickets arrive (``demo/data/new_tickets.csv`` lands in ``incoming/``); runs the DAG again: continue
   tuning from the champion, evaluate challenger vs champion, promote when better.
5. Prints a summary table; exits non-zero if anything failed.

Quiet by default: the terminal gets the story and the summary, Airflow's task logs go to
``artifacts/demo/demo.log`` (named at the start and the end). ``--verbose`` (or ``VERBOSE=1``) prints
everything to the terminal instead.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
BUCKET = "tuning-data"
LOG = REPO / "artifacts" / "demo" / "demo.log"
console = sys.stdout  # the story; in quiet mode everything else (fd 1 and 2) goes to LOG


def quiet(log: Path) -> None:
    """Send this process's stdout and stderr (Airflow's task logs included) to ``log``; keep the terminal
    for :func:`tell`. Works at the file-descriptor level, so loggers set up later are caught too."""
    global console
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    console = os.fdopen(os.dup(1), "w", buffering=1)
    target = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(target, 1)
    os.dup2(target, 2)
    os.close(target)


def tell(message: str = "") -> None:
    """A line of the story: on the terminal, and in the log for context."""
    print(message, file=console, flush=True)
    if console is not sys.stdout:
        print(message, flush=True)


def prepare_environment(home: Path) -> None:
    """A private Airflow home (SQLite) whose DAGs folder holds the example DAGs."""
    dags = home / "dags"
    dags.mkdir(parents=True, exist_ok=True)
    link = dags / "examples"
    if not link.exists():
        link.symlink_to(REPO / "dags")
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW_TUNING_BUCKET": BUCKET,
            "AIRFLOW_TUNING_POLL_INTERVAL": os.environ.get("AIRFLOW_TUNING_POLL_INTERVAL", "1"),
        }
    )
    sys.path.insert(0, str(REPO))


def say(message: str) -> None:
    tell(f"\n==> {message}")


def xcom(run: Any, task_id: str, key: str = "return_value") -> Any:
    ti = run.get_task_instance(task_id)
    if ti is None:
        return None
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=run.dag_id, run_id=run.run_id, task_id=task_id, key=key, map_index=-1)
            .one_or_none()
        )
        return XComModel.deserialize_value(row) if row is not None else None


def job_seconds(job: dict[str, Any]) -> float | None:
    from datetime import datetime

    if not (job.get("create_time") and job.get("end_time")):
        return None
    start, end = (datetime.fromisoformat(job[k].replace("Z", "+00:00")) for k in ("create_time", "end_time"))
    return round((end - start).total_seconds(), 1)


def save_report(storage: Any, gs_uri: str | None, target: Path) -> str | None:
    """Copy an evaluation report out of the emulated bucket, which goes away with the demo."""
    if not gs_uri:
        return None
    bucket, _, name = gs_uri.removeprefix("gs://").partition("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    storage.bucket(bucket).blob(name).download_to_filename(str(target))
    return str(target)


def run_summary(label: str, run: Any, seconds: float) -> dict[str, Any]:
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    job = xcom(run, "wait_for_tuning") or {}
    evaluation = xcom(run, "evaluate") or xcom(run, "evaluate", "evaluation_result") or {}
    promoted = xcom(run, "promote")
    return {
        "run": label,
        "state": str(run.state),
        "seconds": round(seconds, 1),
        "started_from": job.get("continued_from") or "base model",
        "tuning_job": (job.get("tuning_job") or "").rsplit("/", 1)[-1],
        "job_seconds": job_seconds(job),
        "job_state": (job.get("state") or "-").removeprefix("JOB_STATE_"),
        "tuned_model": (job.get("tuned_model") or "-").split("/models/")[-1],
        "challenger_rouge_l": (evaluation.get("metrics") or {}).get("rouge_l"),
        "baseline_rouge_l": (evaluation.get("baseline_metrics") or {}).get("rouge_l"),
        "checkpoint": f"{evaluation.get('best_checkpoint') or '-'} of {len(evaluation.get('checkpoints') or [])}",
        "passed": evaluation.get("passed"),
        "promoted": bool(promoted and states.get("promote") == "success"),
        "report": evaluation.get("report_uri"),
        "tasks": states,
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    columns = ["run", "state", "seconds", "tuning_job", "job_state", "job_seconds", "tuned_model",
               "checkpoint", "challenger_rouge_l", "baseline_rouge_l", "promoted"]
    def cell(value: Any) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)
    widths = {c: max(len(c), *(len(cell(r[c])) for r in rows)) for c in columns}
    tell("\n" + "  ".join(c.ljust(widths[c]) for c in columns))
    tell("  ".join("-" * widths[c] for c in columns))
    for row in rows:
        tell("  ".join(cell(row[c]).ljust(widths[c]) for c in columns))
    for row in rows:
        if row["report"]:
            tell(f"{row['run']}: evaluation report {row['report']}")
        failed = [task for task, state in row["tasks"].items() if state == "failed"]
        if failed:
            tell(f"{row['run']}: failed task(s) {', '.join(failed)}; their logs are in {LOG}")


def run_demo(home: Path, reports: Path, job_duration: float = 6.0) -> list[dict[str, Any]]:
    """Run the two pipeline runs and return one summary row per run."""
    prepare_environment(home)
    from airflow.utils import db

    from airflow_tuning.emulator import Emulator

    say("Creating the Airflow metadata database")
    db.resetdb()
    rows = []
    with Emulator(job_duration=job_duration) as emulator:
        os.environ["AIRFLOW_CONN_GEMINI_TUNING_DEFAULT"] = emulator.connection_json()
        say(f"Emulator up: Vertex AI at {emulator.api_url}, Cloud Storage at {emulator.storage_url}")
        bucket = emulator.create_bucket(BUCKET)
        bucket.blob("history/history.jsonl").upload_from_filename(str(DATA / "history.jsonl"))
        tell(f"Seeded gs://{BUCKET}/history/history.jsonl (180 past tickets)")

        import importlib

        # Parsed anew for each run, as a worker would: dag.test() renders templates onto the task objects.
        def pipeline() -> Any:
            return importlib.reload(importlib.import_module("dags.gemini_scheduled_retraining")).dag

        say("Run 1: no champion yet - bootstrap from the base model")
        started = time.monotonic()
        run = pipeline().test()
        rows.append(run_summary("1 bootstrap", run, time.monotonic() - started))
        rows[-1]["report"] = save_report(emulator.storage_client(), rows[-1]["report"], reports / "run1.html")

        say("New tickets land in incoming/ - run 2 continues tuning from the champion")
        bucket.blob("incoming/new_tickets.csv").upload_from_filename(str(DATA / "new_tickets.csv"))
        started = time.monotonic()
        run = pipeline().test()
        rows.append(run_summary("2 new data", run, time.monotonic() - started))
        rows[-1]["report"] = save_report(emulator.storage_client(), rows[-1]["report"], reports / "run2.html")
        stats = emulator.stats()
        tell(f"\nEmulator: {stats['jobs_created']} tuning job(s) created, "
             f"{sum(stats['requests'].values())} API requests")
    return rows


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    verbose = "--verbose" in args or os.environ.get("VERBOSE", "") not in ("", "0")
    sys.stdout.reconfigure(line_buffering=True)  # our lines interleave with Airflow's task logs in order
    home = Path(tempfile.mkdtemp(prefix="airflow-tuning-demo-"))
    if not verbose:
        tell(f"Airflow's task logs go to {LOG.relative_to(REPO)} (make demo VERBOSE=1 prints them here).")
        quiet(LOG)
    rows = run_demo(home, REPO / "artifacts" / "demo")
    say("Summary")
    print_table(rows)
    ok = all(r["state"] == "success" for r in rows) and rows[-1]["promoted"]
    tell("\nDemo " + ("succeeded" if ok else "FAILED") + f" (Airflow home: {home}"
         + ("" if verbose else f"; task logs: {LOG.relative_to(REPO)}") + ")")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
