"""DAGs driven by tests/lifecycle: the tuning-job operators and sensor, configured through run_conf Params.

Every value a test varies (datasets, models, job names, labels that isolate one test's jobs, the emulated job
duration) comes from ``{{ params.* }}``, so one DAG serves several tests. Polls are fast for the emulator.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, task

from airflow_tuning.operators.tuning import (
    CancelTuningJobOperator,
    ContinueTuningOperator,
    CreateTuningJobOperator,
)
from airflow_tuning.sensors.tuning import TuningJobSensor

FAST = {"poll_interval": 0.2, "max_poll_interval": 0.5}
LABELS = {"emulator-duration-ms": "{{ params.duration_ms }}", "lifecycle-test": "{{ params.test_id }}"}
PARAMS: dict[str, Any] = {
    "base_model": "gemini-2.5-flash",
    "train": "",
    "validation": "",
    "epochs": 2,
    "duration_ms": "1500",
    "test_id": "unset",
}


def _record_failure(context: Any) -> None:
    """Keep the failure message where the test can read it: the task log is not stored by dag.test()."""
    context["ti"].xcom_push(key="failure", value=str(context.get("exception")))


with DAG("lifecycle_create", schedule=None, params=PARAMS) as create_dag:
    CreateTuningJobOperator(
        task_id="tune",
        base_model="{{ params.base_model }}",
        training_dataset_uri="{{ params.train }}",
        validation_dataset_uri="{{ params.validation }}",
        epoch_count="{{ params.epochs }}",
        adapter_size=4,
        tuned_model_display_name="lifecycle-{{ params.test_id }}",
        labels=LABELS,
        on_failure_callback=_record_failure,
        **FAST,
    )


with DAG(
    "lifecycle_continue",
    schedule=None,
    params={**PARAMS, "pre_tuned_model": "", "checkpoint_id": ""},
) as continue_dag:
    ContinueTuningOperator(
        task_id="continue_tuning",
        pre_tuned_model="{{ params.pre_tuned_model }}",
        checkpoint_id="{{ params.checkpoint_id }}",
        training_dataset_uri="{{ params.train }}",
        epoch_count=1,
        labels=LABELS,
        **FAST,
    )


class CrashOnceTuningOperator(CreateTuningJobOperator):
    """Dies on its first try at a chosen point, as a worker killed mid-task would; the retry must reattach.

    ``crash_at="submit"``: right after the job was created, before its name reached task_state_store, so only
    the retry-identity label can find it. ``crash_at="wait"``: after the name was stored, while waiting.
    ``crash_at="resume"``: after the trigger saw the job succeed, so the retry finds a finished job.
    """

    def _crash(self, context: Any, point: str) -> None:
        if context["ti"].try_number == 1 and context["params"]["crash_at"] == point:
            raise RuntimeError(f"simulated worker crash at {point}")

    def submit_job(self, context: Any) -> str:
        name = super().submit_job(context)
        self._crash(context, "submit")
        return name

    def poll_until_complete(self, external_id: Any, context: Any) -> Any:
        self._crash(context, "wait")
        return super().poll_until_complete(external_id, context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        self._crash(context, "resume")
        return super().execute_complete(context, event)


def _crash_dag(dag_id: str, deferrable: bool) -> DAG:
    with DAG(dag_id, schedule=None, params={**PARAMS, "crash_at": "submit"}) as dag:
        CrashOnceTuningOperator(
            task_id="tune",
            base_model="{{ params.base_model }}",
            training_dataset_uri="{{ params.train }}",
            epoch_count="{{ params.epochs }}",
            labels=LABELS,
            deferrable=deferrable,
            retries=1,
            retry_delay=timedelta(seconds=0),
            **FAST,
        )
    return dag


crash_dag = _crash_dag("lifecycle_crash", deferrable=True)
crash_sync_dag = _crash_dag("lifecycle_crash_sync", deferrable=False)


with DAG(
    "lifecycle_timeout",
    schedule=None,
    params=PARAMS,
    default_args={"on_failure_callback": _record_failure, **FAST},
) as timeout_dag:
    # The trigger's own deadline: it cancels the job, then the task fails.
    CreateTuningJobOperator(
        task_id="deferred_timeout",
        base_model="{{ params.base_model }}",
        training_dataset_uri="{{ params.train }}",
        labels=LABELS,
        timeout=1.5,
    )
    # Airflow's execution_timeout on a worker-side wait: the task runner calls on_kill, which cancels.
    CreateTuningJobOperator(
        task_id="killed_on_worker",
        base_model="{{ params.base_model }}",
        training_dataset_uri="{{ params.train }}",
        labels=LABELS,
        deferrable=False,
        execution_timeout=timedelta(seconds=2),
    )


with DAG(
    "lifecycle_cancel",
    schedule=None,
    params={"running_job": "", "ended_job": "", "group": "unset"},
) as cancel_dag:
    CancelTuningJobOperator(task_id="cancel_running", tuning_job_name="{{ params.running_job }}", **FAST)
    CancelTuningJobOperator(task_id="cancel_ended", tuning_job_name="{{ params.ended_job }}", **FAST)
    CancelTuningJobOperator(
        task_id="cancel_group", labels={"lifecycle-group": "{{ params.group }}"}, deferrable=False, **FAST
    )


EXTERNAL_JOB = "{{{{ ti.xcom_pull(task_ids='start_external_jobs')[{}] }}}}"


@task
def start_external_jobs(params: dict[str, Any] | None = None) -> list[str]:
    """Start jobs the way a user in the console would: straight through the API, not via an operator."""
    from airflow_tuning.backends.vertex.jobs import start_tuning_job
    from airflow_tuning.hooks.tuning import GeminiTuningHook
    from airflow_tuning.jobs.request import TuningRequest

    assert params is not None
    client = GeminiTuningHook().get_genai_client()
    names = []
    for duration_ms in params["durations_ms"]:
        labels = {"emulator-duration-ms": str(duration_ms), "lifecycle-test": params["test_id"]}
        request = TuningRequest.build(
            base_model="gemini-2.5-flash", training_dataset_uri=params["train"], labels=labels
        )
        names.append(start_tuning_job(client, request).name)
    return names


with DAG(
    "lifecycle_sensor",
    schedule=None,
    params={"train": "", "test_id": "unset", "durations_ms": [1500, 3000, 4500]},
    default_args={"on_failure_callback": _record_failure, "timeout": 60, "trigger_rule": "all_done", **FAST},
) as sensor_dag:
    # Chained after the jobs start, each on a longer job, so that every sensor finds its job still running;
    # all_done so that a failing sensor does not stop the next one from being tested.
    (
        start_external_jobs()
        >> TuningJobSensor(task_id="wait_deferred", tuning_job_name=EXTERNAL_JOB.format(0))
        >> TuningJobSensor(
            task_id="wait_poke",
            tuning_job_name=EXTERNAL_JOB.format(1).replace("] }}", "].rsplit('/', 1)[1] }}"),  # a bare id
            deferrable=False,
        )
        >> TuningJobSensor(
            task_id="wait_reschedule",
            tuning_job_name=EXTERNAL_JOB.format(2),
            deferrable=False,
            mode="reschedule",
        )
    )


with DAG(
    "lifecycle_sensor_transient",
    schedule=None,
    params={"train": "", "test_id": "unset", "durations_ms": [120_000]},
    default_args={"on_failure_callback": _record_failure, "timeout": 60, **FAST},
) as sensor_transient_dag:
    # Reschedule mode rebuilds the sensor for every poke: the count of errors in a row must hold across pokes.
    start_external_jobs() >> TuningJobSensor(
        task_id="wait_reschedule",
        tuning_job_name=EXTERNAL_JOB.format(0),
        deferrable=False,
        mode="reschedule",
        max_transient_errors=2,
    )
