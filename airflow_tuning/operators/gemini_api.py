"""``DeleteTunedModelOperator``: delete a Gemini Developer API tuned model.

Tuning on the Gemini Developer API is ``CreateTuningJobOperator(backend="gemini_api")``; everything that
knows that API lives in :mod:`airflow_tuning.backends.gemini_api`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_tuning.hooks.tuning import GeminiTuningHook

if TYPE_CHECKING:
    from airflow.sdk import Context


class DeleteTunedModelOperator(BaseOperator):
    """Delete a Gemini Developer API tuned model: the clean-up step after an evaluation, or after a
    cancelled run, whose model the tutorial recommends deleting because its behaviour is unpredictable.

    :param tuned_model_name: ``tunedModels/{id}``, a bare id, the run's operation name, or the summary a
        tuning task returned (its ``tuned_model`` is used).
    :param gcp_conn_id: a ``gemini_tuning`` connection with ``gemini_api_key``.

    Idempotent: a model that is already gone is a logged no-op.

    Returns (XCom ``return_value``): ``{"tuned_model", "deleted"}`` (``deleted`` is False when it was
    already gone).
    """

    template_fields: Sequence[str] = ("tuned_model_name", "gcp_conn_id")
    ui_color = "#fce8e6"

    def __init__(
        self,
        *,
        tuned_model_name: str | Mapping[str, Any],
        gcp_conn_id: str = GeminiTuningHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.tuned_model_name = tuned_model_name
        self.gcp_conn_id = gcp_conn_id

    @cached_property
    def hook(self) -> GeminiTuningHook:
        return GeminiTuningHook(gcp_conn_id=self.gcp_conn_id)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_tuning.backends.gemini_api.jobs import tuned_model_of  # loads when the task runs

        value = self.tuned_model_name
        if isinstance(value, Mapping):
            value = value.get("tuned_model") or ""
        try:
            name = tuned_model_of(str(value))
        except ValueError as err:
            raise AirflowFailException(str(err)) from None
        deleted = self.hook.get_gemini_api_client().delete_tuned_model(name)
        if deleted:
            self.log.info("Deleted tuned model %s", name)
        else:
            self.log.info("Tuned model %s does not exist (already deleted); nothing to do", name)
        self._lineage_result = {"tuned_model": name, "deleted": deleted}
        return self._lineage_result

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The deleted model as an input; whether it existed in the ``gemini_model_delete`` facet."""
        from airflow_tuning.tasks.lineage import model_ref, operator_lineage, refs

        result = getattr(self, "_lineage_result", None)
        if not result:
            return operator_lineage()
        return operator_lineage(refs(model_ref(result["tuned_model"])), (), {"gemini_model_delete": result})
