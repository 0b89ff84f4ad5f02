"""The "Evaluation report" extra link.

The operator pushes the console URL of the HTML report to XCom as soon as the report is written (before the
gate can fail the task), so a failed or skipped evaluation still links to the page that explains why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.sdk import BaseOperator

EVALUATION_REPORT_XCOM_KEY = "evaluation_report"


class EvaluationReportLink(BaseOperatorLink):
    """Console page of the evaluation report written by ``EvaluateTunedModelOperator``."""

    name = "Evaluation report"
    key = EVALUATION_REPORT_XCOM_KEY

    @property
    def xcom_key(self) -> str:
        return self.key

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        return XCom.get_value(ti_key=ti_key, key=self.key) or ""
