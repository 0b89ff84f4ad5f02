"""The "Vertex AI Tuning Job" extra link shown on tuning tasks.

The operators push the finished console URL as a plain string under ``TuningJobLink.xcom_key`` right after
the job is submitted (before deferring), because while a task is deferred the UI shows whatever string
already sits in that XCom: the link works during the hours the job runs, not only after it ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

from airflow_tuning.console import tuning_job_console_url

if TYPE_CHECKING:
    from airflow.sdk import Context

TUNING_JOB_NAME_XCOM_KEY = "tuning_job_name"
TUNING_JOB_LINK_XCOM_KEY = "tuning_job_link"


class TuningJobLink(BaseOperatorLink):
    """Console page of the task's Vertex AI tuning job."""

    name = "Vertex AI Tuning Job"
    xcom_key = TUNING_JOB_LINK_XCOM_KEY

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        return XCom.get_value(ti_key=ti_key, key=self.xcom_key) or ""

    @staticmethod
    def persist(context: Context, tuning_job_name: str) -> str:
        """Push the job name and its console URL to XCom; return the URL (also logged by callers)."""
        url = tuning_job_console_url(tuning_job_name)
        ti = context["ti"]
        ti.xcom_push(key=TUNING_JOB_NAME_XCOM_KEY, value=tuning_job_name)
        ti.xcom_push(key=TUNING_JOB_LINK_XCOM_KEY, value=url)
        return url
