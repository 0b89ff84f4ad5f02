"""DAGs driven by tests/logical_model: continue-or-bootstrap and one champion per display name.

The display name, training data and the label isolating one test's jobs come from ``{{ params.* }}``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG

from airflow_tuning.operators.evaluation import PromoteTunedModelOperator
from airflow_tuning.operators.tuning import CreateTuningJobOperator

FAST = {"poll_interval": 0.2, "max_poll_interval": 0.5}
PARAMS: dict[str, Any] = {"model": "unset", "train": "", "test_id": "unset", "crash": False, "move_to": ""}
LABELS = {"emulator-duration-ms": "400", "lm-test": "{{ params.test_id }}"}
TUNED = "{{ ti.xcom_pull(task_ids='tune')['tuned_model'] }}"


def _record_failure(context: Any) -> None:
    """Keep the failure message where the test can read it: the task log is not stored by dag.test()."""
    context["ti"].xcom_push(key="failure", value=str(context.get("exception")))


class CrashAfterSubmitOperator(CreateTuningJobOperator):
    """On its first try: submit, then someone moves the champion (``params.move_to``), then the worker dies.

    The retry must reattach to the job it started, keeping the first try's decision.
    """

    def submit_job(self, context: Any) -> str:
        name = super().submit_job(context)
        params = context["params"]
        if context["ti"].try_number == 1 and params["crash"]:
            from airflow_tuning.evaluation.registry import promote

            promote(self.hook.get_model_service_client(), params["move_to"], "champion")
            raise RuntimeError("simulated worker crash after submitting, with the champion moved meanwhile")
        return name


with DAG(
    "logical_model_retrain",
    schedule=None,
    params=PARAMS,
    default_args={"on_failure_callback": _record_failure, "retry_delay": timedelta(seconds=0)},
) as retrain_dag:
    tune = CrashAfterSubmitOperator(
        task_id="tune",
        tuned_model_display_name="{{ params.model }}",
        base_model="gemini-2.5-flash",
        continue_from_alias="champion",
        training_dataset_uri="{{ params.train }}",
        epoch_count=1,
        labels=LABELS,
        retries=1,
        **FAST,
    )
    tune >> PromoteTunedModelOperator(task_id="promote", model_name=TUNED)


with DAG(
    "logical_model_promote",
    schedule=None,
    params={"model_name": ""},
    default_args={"on_failure_callback": _record_failure},
) as promote_dag:
    PromoteTunedModelOperator(task_id="promote", model_name="{{ params.model_name }}")
