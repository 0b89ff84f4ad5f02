"""Extra links: "Vertex AI Tuning Job" on tuning tasks, "Evaluation report" on evaluation tasks.

Both read a plain URL string from XCom. The tuning operators push the finished console URL under
``TuningJobLink.xcom_key`` right after the job is submitted (before deferring), because while a task is
deferred the UI shows whatever string already sits in that XCom: the link works during the hours the job
runs, not only after it ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

from airflow_tuning.common.console import tuning_job_console_url

if TYPE_CHECKING:
    from airflow.sdk import Context

TUNING_JOB_NAME_XCOM_KEY = "tuning_job_name"
TUNING_JOB_LINK_XCOM_KEY = "tuning_job_link"
EVALUATION_REPORT_XCOM_KEY = "evaluation_report"


class _XComUrlLink(BaseOperatorLink):
    """A link whose URL the task pushed to XCom under ``xcom_key``."""

    xcom_key: str

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        return XCom.get_value(ti_key=ti_key, key=self.xcom_key) or ""


class TuningJobLink(_XComUrlLink):
    """Console page of the task's Vertex AI tuning job."""

    name = "Vertex AI Tuning Job"
    xcom_key = TUNING_JOB_LINK_XCOM_KEY

    @staticmethod
    def persist(context: Context, tuning_job_name: str) -> str:
        """Push the job name and its console URL to XCom; return the URL (also logged by callers)."""
        url = tuning_job_console_url(tuning_job_name)
        ti = context["ti"]
        ti.xcom_push(key=TUNING_JOB_NAME_XCOM_KEY, value=tuning_job_name)
        ti.xcom_push(key=TUNING_JOB_LINK_XCOM_KEY, value=url)
        return url


class EvaluationReportLink(_XComUrlLink):
    """Console page of the HTML report written by ``EvaluateTunedModelOperator``.

    The operator pushes it as soon as the report is written, before the gate can fail the task, so a failed
    or skipped evaluation still links to the page that explains why.
    """

    name = "Evaluation report"
    xcom_key = EVALUATION_REPORT_XCOM_KEY
