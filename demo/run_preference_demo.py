"""``make demo-preference``: supervised tuning, then preference tuning from it, on the offline emulator.

Seeds reviewer verdicts (``prompt,chosen,rejected``) and a few curated demonstrations, runs the
``gemini_preference_tuning`` example DAG with ``dag.test()`` and prints which tasks ran, the two jobs'
methods and the ``preference_accuracy`` of both models. Exits non-zero unless the preference-tuned model
was promoted.
"""

from __future__ import annotations

import csv
import importlib
import io
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demo.run_demo import BUCKET, prepare_environment, say, xcom  # noqa: E402

TOPICS = ["router", "printer", "invoice", "password", "backup", "laptop", "vpn", "email", "refund", "shipping",
          "warranty", "license"]


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def seed(bucket) -> None:
    """Verdicts on three phrasings per topic; demonstrations for a few topics only."""
    def chosen(t: str) -> str:
        return f"{t}fix {t}settings {t}reset {t}guide"

    def rejected(t: str) -> str:
        return f"{t}nope {t}ignore {t}later"

    pairs = [["prompt", "chosen", "rejected"]] + [
        [phrasing, chosen(t), rejected(t)] for t in TOPICS for phrasing in (f"{t} broken?", f"{t} stopped",
                                                                               f"{t} problem")
    ]
    bucket.blob("preference/verdicts.csv").upload_from_string(_csv(pairs))
    demos = [["prompt", "chosen"]] + [[f"{t} broken?", chosen(t)] for t in TOPICS[:3]]
    bucket.blob("demonstrations/curated.csv").upload_from_string(_csv(demos))
    print(f"Seeded gs://{BUCKET}/preference/verdicts.csv ({len(pairs) - 1} pairs) and demonstrations")


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)
    home = Path(tempfile.mkdtemp(prefix="airflow-tuning-preference-demo-"))
    prepare_environment(home)
    os.environ.setdefault("AIRFLOW_TUNING_POLL_INTERVAL", "0.5")
    from airflow.utils import db

    from airflow_tuning.emulator import Emulator

    db.resetdb()
    with Emulator(job_duration=3.0) as emulator:
        os.environ["AIRFLOW_CONN_GEMINI_TUNING_DEFAULT"] = emulator.connection_json()
        seed(emulator.create_bucket(BUCKET))
        say("Running gemini_preference_tuning: supervised -> preference -> evaluate -> promote")
        run = importlib.import_module("dags.gemini_preference_tuning").dag.test()
        say("Summary")
        for task_id, state in _states(run).items():
            print(f"  {task_id:24} {state}")
        for task_id in ("tune_supervised", "tune_preference"):
            summary = xcom(run, task_id) or {}
            print(f"  {task_id}: method={summary.get('tuning_method')} model={summary.get('tuned_model')}")
        report = xcom(run, "evaluate") or {}
        if report:
            print(f"  preference_accuracy: {report['metrics']['preference_accuracy']:.2f} (preference-tuned) vs "
                  f"{report['baseline_metrics']['preference_accuracy']:.2f} (supervised)")
    ok = _states(run).get("promote") == "success"
    print("\nPreference demo " + ("succeeded" if ok else "FAILED"))
    return 0 if ok else 1


def _states(run: Any) -> dict[str, str]:
    """Task id -> final state of a ``dag.test()`` run."""
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


if __name__ == "__main__":
    sys.exit(main())
