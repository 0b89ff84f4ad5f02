"""``airflow-tuning emulator`` (or ``python -m airflow_tuning.emulator``): run the emulator until interrupted.

``airflow-tuning emulator upload FILE... gs://BUCKET/PREFIX/`` puts local files into a running emulator's
Cloud Storage (see :mod:`airflow_tuning.emulator.upload`).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading
from collections.abc import Sequence

API_PORT = 8765
STORAGE_PORT = 9023
EXAMPLE_BUCKET_ENV = "AIRFLOW_TUNING_BUCKET"
EXAMPLE_BUCKET = "tuning-data"


def default_bucket() -> str:
    """The bucket the example DAGs read: ``$AIRFLOW_TUNING_BUCKET``, else ``tuning-data``."""
    return os.environ.get(EXAMPLE_BUCKET_ENV) or EXAMPLE_BUCKET


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="airflow-tuning emulator",
        description="Offline Vertex AI (tuning, serving, Model Registry) and Cloud Storage on loopback. "
                    "`airflow-tuning emulator upload FILE... gs://BUCKET/PREFIX/` copies local files into a "
                    "running emulator's storage.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=API_PORT,
                        help=f"Vertex AI API port (default {API_PORT}; 0 = any free port)")
    parser.add_argument("--storage-port", type=int, default=STORAGE_PORT,
                        help=f"Cloud Storage port (default {STORAGE_PORT}; 0 = any free port)")
    parser.add_argument("--project", default="emulator-project")
    parser.add_argument("--location", default="us-central1")
    parser.add_argument("--job-duration", type=float, default=10.0, help="seconds a tuning job takes")
    parser.add_argument("--detailed-job-states", action="store_true",
                        help="jobs report JOB_STATE_QUEUED, tuningJobState sub-states and epoch/step progress "
                             "(per job: label emulator-job-states=detailed|simple)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every API call")
    parser.add_argument("--state-file", default=None, help="keep jobs and models in this JSON file")
    parser.add_argument("--seed", type=int, default=0, help="seed for ids and injected faults")
    parser.add_argument("--bucket", action="append", default=None, metavar="NAME",
                        help="create this bucket at start (repeatable); default: the example DAGs' bucket, "
                             f"${EXAMPLE_BUCKET_ENV} or {EXAMPLE_BUCKET!r}")
    parser.add_argument("--faults", default=None,
                        help='fault plan as JSON, e.g. \'[{"route": "GET .*tuningJobs", "rate": 0.2, '
                             '"status": 503}]\'')
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["upload"]:
        from airflow_tuning.emulator.upload import main as upload_main

        return upload_main(argv[1:])
    args = parse_args(argv)
    faults = None
    if args.faults:
        try:
            faults = json.loads(args.faults)
        except ValueError as err:
            print(f"--faults is not valid JSON: {err}", file=sys.stderr)
            return 2
    from airflow_tuning.emulator.runner import Emulator

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    emulator = Emulator(job_duration=args.job_duration, latency=args.latency, seed=args.seed,
                        state_file=args.state_file, host=args.host, port=args.port,
                        storage_port=args.storage_port, project=args.project, location=args.location,
                        faults=faults, detailed_job_states=args.detailed_job_states)
    try:
        emulator.start()
    except (OSError, ValueError, RuntimeError) as err:
        print(f"The emulator could not start: {err} (another emulator on ports {args.port} / {args.storage_port}? "
              "stop it, or pass --port 0 --storage-port 0 for free ports)", file=sys.stderr)
        return 1
    try:
        for bucket in args.bucket or [default_bucket()]:
            if emulator.storage_client().lookup_bucket(bucket) is None:
                emulator.create_bucket(bucket)
        print(f"Vertex AI API: {emulator.api_url}")
        print(f"Cloud Storage: {emulator.storage_url}")
        print(f"Buckets: {', '.join(args.bucket or [default_bucket()])}")
        print(f"Tuning job pages: {emulator.api_url}/_emulator/ui/")
        print(f"export AIRFLOW_CONN_GEMINI_TUNING_DEFAULT={shlex.quote(emulator.connection_json())}")
        print("Serving until Ctrl-C.", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
