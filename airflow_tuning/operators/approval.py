"""Human approval before a model goes live: Airflow's ``ApprovalOperator`` with a body built from the run.

Waiting for a person holds no worker slot: on Airflow 3.3 the task parks in the ``awaiting_input`` state
(earlier 3.x versions defer to a trigger). Reject skips the promotion downstream and nothing changes;
Approve lets it run, and ``PromoteTunedModelOperator(approval_task_id=...)`` records the approver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

from airflow_tuning.evaluation.approval_body import approval_body
from airflow_tuning.jobs.cost import COST_ESTIMATE_XCOM_KEY

if TYPE_CHECKING:
    from airflow.sdk import Context


class PromotionApprovalOperator(ApprovalOperator):
    """``ApprovalOperator`` whose body shows challenger vs champion, best checkpoint, cost and report.

    :param evaluation_task_id: the ``EvaluateTunedModelOperator`` task.
    :param tuning_task_id: the task whose result is the tuning summary (operator or sensor).
    :param estimate_task_id: the tuning operator that pushed ``cost_estimate`` (default ``tuning_task_id``).
    :param champion: the champion compared against (templated), shown in the body.
    :param alias: the Model Registry alias an approval moves (templated, e.g. ``champion``), named in the body.
    :param subject: the title of the approval request.

    Other arguments are ``ApprovalOperator``'s (``assigned_users``, ``response_timeout``...).

    Returns (XCom ``return_value``): what Airflow's ``ApprovalOperator`` returns (the chosen option and who
    chose it); a rejection skips the tasks downstream.
    """

    template_fields = (*ApprovalOperator.template_fields, "champion", "alias")

    def __init__(self, *, evaluation_task_id: str, tuning_task_id: str, estimate_task_id: str | None = None,
                 champion: str | None = None, alias: str | None = None, subject: str = "Promote the challenger?",
                 **kwargs: Any) -> None:
        super().__init__(subject=subject, **kwargs)
        self.evaluation_task_id, self.tuning_task_id = evaluation_task_id, tuning_task_id
        self.estimate_task_id = estimate_task_id or tuning_task_id
        self.champion, self.alias = champion, alias

    def execute(self, context: Context) -> Any:
        ti = context["ti"]
        self.body = approval_body(
            ti.xcom_pull(task_ids=self.evaluation_task_id),
            ti.xcom_pull(task_ids=self.tuning_task_id),
            ti.xcom_pull(task_ids=self.estimate_task_id, key=COST_ESTIMATE_XCOM_KEY),
            champion=self.champion or None,
            alias=self.alias or None,
        ) + (f"\n\n{self.body}" if self.body else "")
        self.log.info("Approval requested:\n%s", self.body)
        return super().execute(context)
