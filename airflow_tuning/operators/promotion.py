"""Who promoted a model and why, and the one-step rollback that reads it back.

``record_decision`` is what ``PromoteTunedModelOperator`` calls before it moves the alias;
``RollbackChampionOperator`` moves the alias back to the version (and default checkpoint) that held it
before the last promotion. Record format: :mod:`airflow_tuning.evaluation.promotion_record`; registry calls:
:mod:`airflow_tuning.evaluation.promotion_log`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_tuning.evaluation.registry import PromotionError, validate_alias
from airflow_tuning.hooks.tuning import GeminiTuningHook

if TYPE_CHECKING:
    from airflow.sdk import Context


def record_decision(operator: Any, context: Context, client: Any, model_name: str, retry: Any,
                    checkpoint_id: str | None = None, holder_elsewhere: str | None = None) -> dict[str, Any] | None:
    """Record on ``model_name`` who/what promoted it (approver or gate), the run, metrics and previous holder;
    ``checkpoint_id`` is the checkpoint the promotion makes default (else the version's current default)."""
    from airflow_tuning.evaluation.promotion_log import base_event, record_promotion
    from airflow_tuning.evaluation.promotion_record import who_decided

    approval = None
    if operator.approval_task_id:
        approval = context["ti"].xcom_pull(task_ids=operator.approval_task_id)
    by, approver = who_decided(approval, operator.promoted_by)
    event = base_event(context, by=by, approver=approver, reason=operator.reason, evaluation=operator.evaluation)
    if checkpoint_id is not None:
        event = replace(event, checkpoint_id=str(checkpoint_id))
    recorded = record_promotion(client, model_name, operator.alias, event, retry=retry,
                                holder_elsewhere=holder_elsewhere)
    if recorded is None:
        return None
    operator.log.info("Recorded on %s: %s", recorded.model, recorded.line())
    return recorded.as_dict()


class RollbackChampionOperator(BaseOperator):
    """Move an alias (default ``champion``) back to the version and default checkpoint that held it before
    the last promotion, as that promotion recorded it in the Model Registry.

    :param model_name: ``projects/P/locations/L/models/ID`` (or ``models/ID``; a ``@version`` is ignored).
    :param display_name: instead of ``model_name``: the model of this display name that holds the alias.
    :param alias: the alias to roll back.
    :param reason: free text recorded with the rollback.
    :param gcp_conn_id: a ``gemini_tuning`` connection.

    Idempotent: once rolled back, a rerun changes nothing (to go further back, promote a version
    explicitly). With no recorded earlier holder (the first promotion, or an alias moved outside these
    operators) the task fails with a message saying so and nothing changes. Returns (XCom
    ``return_value``): ``{"alias", "model", "checkpoint_id", "rolled_back_from", "changed", "message"}``.
    """

    template_fields: Sequence[str] = ("model_name", "display_name", "alias", "reason", "gcp_conn_id")
    ui_color = "#fef7e0"

    def __init__(
        self,
        *,
        model_name: str | None = None,
        display_name: str | None = None,
        alias: str = "champion",
        reason: str | None = None,
        gcp_conn_id: str = GeminiTuningHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if model_name is None and display_name is None:
            raise ValueError("RollbackChampionOperator needs model_name or display_name")
        if "{{" not in alias:
            validate_alias(alias)
        self.model_name, self.display_name, self.alias = model_name, display_name, alias
        self.reason, self.gcp_conn_id = reason, gcp_conn_id

    def _model(self, hook: GeminiTuningHook) -> str:
        from airflow_tuning.evaluation.targets import qualify

        name = (self.model_name or "").strip()
        if name:
            return qualify(name.split("@", 1)[0], hook.project, hook.location)
        display = (self.display_name or "").strip()
        if not display:
            raise AirflowFailException("RollbackChampionOperator needs model_name or display_name (both empty)")
        found = hook.find_model_alias(display, self.alias)
        if found is None:
            raise AirflowFailException(
                f"No model named {display!r} has a version holding {self.alias!r}: nothing to roll back"
            )
        return found["model"].split("@", 1)[0]

    def execute(self, context: Context) -> dict[str, Any]:
        # The promotion record and registry code load when the task runs, not when the DAG is parsed.
        from airflow_tuning.evaluation.promotion_log import base_event, rollback
        from airflow_tuning.evaluation.promotion_record import NoEarlierHolder
        from airflow_tuning.tasks.lineage import hook_where

        hook = GeminiTuningHook(self.gcp_conn_id)
        model = self._model(hook)
        event = base_event(context, by="rollback", reason=self.reason)
        try:
            result = rollback(hook.get_model_service_client(), model, self.alias, event, retry=hook.api_core_retry)
        except (NoEarlierHolder, PromotionError, ValueError) as err:
            raise AirflowFailException(f"Cannot roll back {self.alias!r} of {model}: {err}") from None
        if result["changed"]:
            self.log.info("Rolled %r back from %s to %s (default checkpoint %s)", self.alias,
                          result["rolled_back_from"], result["model"], result["checkpoint_id"])
        else:
            self.log.info("Nothing to do: %s", result["message"])
        self._lineage = (result, hook_where(hook))
        return result

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The model version restored in; the alias (``models/ID@alias``) that names it again out."""
        from airflow_tuning.tasks.lineage import alias_lineage

        result, where = getattr(self, "_lineage", (None, {}))
        version = (result or {}).get("model") or ""
        return alias_lineage(result, model_name=version, alias=self.alias, where=where)
