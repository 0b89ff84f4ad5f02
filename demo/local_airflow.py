"""``make airflow [DAGS=path] [PORT=8080]``: the real Airflow stack on loopback, with the emulator.

PostgreSQL, the scheduler (LocalExecutor), the dag-processor, the triggerer and the API server (UI) run as
separate processes, as in production, plus the offline emulator of Vertex AI and Cloud Storage on its
default ports (8765 and 9023, so the README's connection line works). The DAGs folder holds the example
DAGs (``examples/``) and, with ``--dags`` / ``DAGS=path``, your own folder (``mine/``). The example DAGs'
bucket (``$AIRFLOW_TUNING_BUCKET``, default ``tuning-data``) is created and seeded with the demo's history
file, so ``gemini_scheduled_retraining`` runs as it is.

Every server binds 127.0.0.1. Airflow 3.3's log servers cannot (``serve-logs`` binds every interface and
has no host setting), so they are not started: with the LocalExecutor the API server reads task and
trigger logs from the shared local folder. Ctrl-C stops everything. The processes come from the same
harness the real-stack drills use (``tests/e2e/harness``).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "demo" / "data"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="make airflow",
        description="The real Airflow stack on 127.0.0.1 (PostgreSQL, scheduler, dag-processor, triggerer, "
                    "API server) with the offline emulator, the example DAGs and your own DAG folder. "
                    "Ctrl-C stops everything. From make: `make airflow DAGS=path PORT=8080`.",
    )
    parser.add_argument("--dags", default=os.environ.get("DAGS") or None, metavar="PATH",
                        help="your DAG folder, added next to the example DAGs (make: DAGS=path)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8080),
                        help="UI / API server port (default 8080; make: PORT=...)")
    parser.add_argument("--emulator-port", type=int, default=8765, help="emulator Vertex AI port (default 8765)")
    parser.add_argument("--storage-port", type=int, default=9023, help="emulator Cloud Storage port (default 9023)")
    parser.add_argument("--bucket", default=os.environ.get("AIRFLOW_TUNING_BUCKET") or "tuning-data",
                        help="the bucket the example DAGs read and write ($AIRFLOW_TUNING_BUCKET, "
                             "default tuning-data); created and seeded with demo/data/history.jsonl")
    parser.add_argument("--job-duration", type=float, default=30.0,
                        help="seconds an emulated tuning job takes (default 30)")
    parser.add_argument("--check", action="store_true",
                        help="check the arguments and the tools (PostgreSQL) and print the plan, start nothing")
    return parser


def dags_folder(root: Path, own: str | None) -> Path:
    """``root/dags`` holding ``examples`` (this repository's dags/) and ``mine`` (the user's folder)."""
    folder = root / "dags"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "examples").symlink_to(REPO / "dags")
    if own:
        (folder / "mine").symlink_to(Path(own).resolve())
    return folder


def check_dags(own: str | None) -> str | None:
    """An error message for a DAGS path that is not a readable folder, else None."""
    if own is None:
        return None
    path = Path(own).expanduser()
    if not path.exists():
        return f"DAGS={own}: no such folder (give the folder holding your DAG files)"
    if not path.is_dir():
        return f"DAGS={own}: not a folder (give the folder holding your DAG files, not one file)"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    problem = check_dags(args.dags)
    if problem:
        print(f"make airflow: {problem}", file=sys.stderr)
        return 2
    sys.path.insert(0, str(REPO))
    from tests.e2e.harness.requirements import MissingTool, ensure_postgres

    try:
        extra_path = ensure_postgres()
    except MissingTool as err:
        print(f"make airflow: {err}", file=sys.stderr)
        return 2
    plan = (f"UI on http://127.0.0.1:{args.port}; emulator on 127.0.0.1:{args.emulator_port} (Vertex AI) and "
            f"127.0.0.1:{args.storage_port} (Cloud Storage); example DAGs"
            + (f" + {Path(args.dags).resolve()}" if args.dags else "") + f"; bucket {args.bucket}")
    if args.check:
        print(f"make airflow would start: {plan}")
        return 0
    return run(args, extra_path, plan)


def run(args: argparse.Namespace, extra_path: str | None, plan: str) -> int:
    from tests.e2e.harness.airflow_stack import USERNAME, AirflowStack

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    root = Path(tempfile.mkdtemp(prefix="airflow-tuning-local-"))
    password = secrets.token_urlsafe(9)
    stack = AirflowStack(root, extra_path, dags_folder=dags_folder(root, args.dags), api_port=args.port,
                         emulator_ports=(args.emulator_port, args.storage_port), bucket=args.bucket,
                         poll_interval="5", job_duration=args.job_duration, password=password)
    print(f"Starting {plan}\n(about a minute; component logs in {root})", flush=True)
    try:
        stack.start()
        stack.emulator.upload_text(args.bucket, "history/history.jsonl", (DATA / "history.jsonl").read_text())
        conn = stack.emulator.connection_json()
        print(
            "\nAirflow is up.\n"
            f"  UI:          {stack.api_url}   login: {USERNAME} / {password}\n"
            f"  DAGs:        examples/ (gemini_scheduled_retraining, gemini_tune_on_demand, gemini_cancel_tuning)"
            + (f", mine/ -> {Path(args.dags).resolve()}" if args.dags else "") + "\n"
            f"  Emulator:    {stack.emulator.api_url} (Vertex AI), {stack.emulator.storage_url} (Cloud Storage); "
            f"tuning jobs at {stack.emulator.api_url}/_emulator/ui/\n"
            f"  Bucket:      gs://{args.bucket} (seeded with history/history.jsonl); add files with\n"
            f"               airflow-tuning emulator upload FILE... gs://{args.bucket}/incoming/\n"
            f"  Connection:  AIRFLOW_CONN_GEMINI_TUNING_DEFAULT='{conn}'\n"
            f"  Logs:        {root}\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        while not stop.wait(0.5):
            dead = [name for name, proc in stack.components.items() if not proc.alive]
            if dead:
                print(f"make airflow: {', '.join(dead)} exited; see {root}/{dead[0]}.log", file=sys.stderr)
                return 1
    except (RuntimeError, TimeoutError, OSError) as err:
        print(f"make airflow: could not start: {err}\nComponent logs: {root}", file=sys.stderr)
        return 1
    finally:
        print("\nStopping Airflow, the emulator and PostgreSQL ...", flush=True)
        stack.stop()
    print("Stopped.")
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
