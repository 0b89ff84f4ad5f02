"""DAGs for the API-outage tests: the tuning API stops answering while a task waits on its job.

The emulator's fault plan is set by the test; ``params.emulator`` is the emulator's base URL, so that a retry
callback can change the plan at a deterministic point (between a task's first try and its retry).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG

from airflow_tuning.operators.tuning import CreateTuningJobOperator
from airflow_tuning.sensors.tuning import TuningJobSensor

FAST = {"poll_interval": 0.2, "max_poll_interval": 0.5, "max_transient_errors": 1}
PARAMS: dict[str, Any] = {"train": "", "test_id": "unset", "duration_ms": "3000", "job": "", "emulator": "",
                          "faults_on_retry": []}  # fmt: skip
LABELS = {"emulator-duration-ms": "{{ params.duration_ms }}", "lifecycle-test": "{{ params.test_id }}"}


def _record_failure(context: Any) -> None:
    context["ti"].xcom_push(key="failure", value=str(context.get("exception")))


def _set_faults_for_retry(context: Any) -> None:
    """Between the first try and the retry: replace the emulator's fault plan with the test's next one."""
    import httpx

    params = context["params"]
    httpx.post(f"{params['emulator']}/_emulator/faults", json={"faults": params["faults_on_retry"]}, timeout=10)
    context["ti"].xcom_push(key="first_try_failure", value=str(context.get("exception")))


def _tune(dag_id: str, **kwargs: Any) -> DAG:
    with DAG(dag_id, schedule=None, params=PARAMS) as dag:
        CreateTuningJobOperator(
            task_id="tune",
            base_model="gemini-2.5-flash",
            training_dataset_uri="{{ params.train }}",
            labels=LABELS,
            on_failure_callback=_record_failure,
            **{**FAST, **kwargs},
        )
    return dag


deferred_dag = _tune("outage_deferred")
sync_dag = _tune("outage_sync", deferrable=False)
sync_timeout_dag = _tune("outage_sync_timeout", deferrable=False, timeout=1.0, max_poll_interval=2.0)
retry_dag = _tune(
    "outage_retry", retries=1, retry_delay=timedelta(seconds=0), on_retry_callback=_set_faults_for_retry
)


def _sensor(mode: str) -> DAG:
    with DAG(f"outage_sensor_{mode}", schedule=None, params=PARAMS) as dag:
        TuningJobSensor(
            task_id="sensor", tuning_job_name="{{ params.job }}", deferrable=mode == "deferred",
            mode="poke" if mode == "deferred" else mode, on_failure_callback=_record_failure, **FAST,
        )  # fmt: skip
    return dag


sensor_dags = {mode: _sensor(mode) for mode in ("poke", "reschedule", "deferred")}
