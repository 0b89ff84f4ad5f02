"""Tuning with a widened crash window on the first try: the DAG behind the worker-crash drill.

A real worker can die at any instant; the dangerous instants are right after the job was submitted, before
the job name was saved anywhere (``after_submit``), and after it was saved in ``task_state_store`` but
before the task deferred (``after_save``). On try 1 this operator holds still at the chosen instant for
``hold_seconds`` so that the drill can SIGKILL the task process exactly there; later tries never hold.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Param

from airflow_tuning.operators.tuning import CreateTuningJobOperator


class HoldOnFirstTryOperator(CreateTuningJobOperator):
    """``CreateTuningJobOperator`` that pauses on its first try at ``params.hold_point``."""

    def _hold(self, context: Any, point: str) -> None:
        params = context["params"]
        if context["ti"].try_number == 1 and params["hold_point"] == point:
            self.log.info("Holding %ss at %s so the worker can be killed here", params["hold_seconds"], point)
            time.sleep(float(params["hold_seconds"]))

    def submit_job(self, context: Any) -> str:
        name = super().submit_job(context)
        self._hold(context, "after_submit")
        return name

    def poll_until_complete(self, external_id: Any, context: Any) -> Any:
        self._hold(context, "after_save")
        return super().poll_until_complete(external_id, context)


with DAG(
    dag_id="e2e_worker_crash",
    schedule=None,
    catchup=False,
    max_active_runs=10,
    tags=["e2e"],
    params={
        "training_dataset_uri": Param("gs://e2e-data/train.jsonl", type="string"),
        "label": Param("manual", type="string", pattern="^[a-z0-9_-]{1,63}$"),
        "duration_ms": Param(8000, type="integer", minimum=100),
        "hold_point": Param("after_submit", enum=["after_submit", "after_save", "none"]),
        "hold_seconds": Param(120, type="integer", minimum=0),
    },
) as dag:
    HoldOnFirstTryOperator(
        task_id="tune",
        base_model="gemini-2.5-flash",
        training_dataset_uri="{{ params.training_dataset_uri }}",
        epoch_count=2,
        labels={"e2e_drill": "{{ params.label }}", "emulator-duration-ms": "{{ params.duration_ms }}"},
        deferrable=True,
        poll_interval=1.0,
        max_poll_interval=3.0,
        retries=2,
        retry_delay=timedelta(seconds=2),
    )
