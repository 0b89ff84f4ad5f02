"""The Gemini Developer API backend of the tuning operators, and ``DeleteTunedModelOperator``.

``CreateTuningJobOperator(backend="gemini_api")`` sends its training data in-line, so everything about the
request is settled on the worker before the first call: the examples are read (a list, a JSONL file, or
``UploadDatasetOperator``'s result), checked against the tutorial's limits, and turned into one
``tunedModels.create`` body. Retry safety comes from the tuned model's id (see
``airflow_tuning.backends.gemini_api.jobs.tuned_model_id_prefix``): a repeated create of the same task instance and
request answers 409 and the existing run is reattached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_tuning.backends.gemini_api.jobs import (
    GEMINI_API,
    GeminiApiTuningJob,
    belongs_to,
    tuned_model_id_prefix,
    tuned_model_ids,
    tuned_model_of,
)
from airflow_tuning.hooks.tuning import GeminiTuningHook
from airflow_tuning.jobs.states import RESUBMITTABLE_STATES, short_state
from airflow_tuning.links import TUNING_JOB_NAME_XCOM_KEY, TuningJobLink

if TYPE_CHECKING:
    from airflow.sdk import Context

#: CreateTuningJobOperator arguments that only Vertex AI understands.
VERTEX_ONLY = ("pre_tuned_model", "checkpoint_id", "validation_dataset_uri", "adapter_size", "labels",
               "evaluation_config", "export_last_checkpoint_only")


def _set(value: Any) -> bool:
    return value not in (None, "", {}, [])


@dataclass(frozen=True)
class GeminiApiSubmission:
    """One task instance's ``tunedModels.create`` request, checked, with its retry identity."""

    body: dict[str, Any]
    id_prefix: str
    examples: int
    source: str

    @classmethod
    def prepare(cls, operator: Any, context: Context, hook: GeminiTuningHook) -> GeminiApiSubmission:
        """Build the request from the operator's rendered arguments; bad input fails before any API call."""
        from airflow_tuning.backends.gemini_api.examples import DEFAULT_BASE_MODEL, create_request, examples_from_source
        from airflow_tuning.jobs.identity import request_fingerprint, task_key

        given = [name for name in VERTEX_ONLY if _set(getattr(operator, name, None))]
        if given:
            raise AirflowFailException(
                f"{', '.join(given)}: not supported with backend='gemini_api' (Vertex AI only)"
            )
        data = operator.training_examples
        if not _set(data):
            data = operator.training_dataset_uri
        try:
            examples, source = examples_from_source(data, lambda uri: _open_gcs(hook, uri))
            body = create_request(
                examples,
                base_model=operator.base_model or DEFAULT_BASE_MODEL,
                display_name=operator.tuned_model_display_name,
                description=operator.description,
                epoch_count=operator.epoch_count,
                batch_size=operator.batch_size,
                learning_rate=operator.learning_rate,
                learning_rate_multiplier=operator.learning_rate_multiplier,
            )
        except ValueError as err:  # ExampleError included: bad data does not get better on retry
            raise AirflowFailException(f"Invalid Gemini API tuning request: {err}") from None
        ti = context["ti"]
        key = task_key(ti.dag_id, ti.task_id, ti.run_id, ti.map_index)
        prefix = tuned_model_id_prefix(ti.task_id, key, request_fingerprint(body))
        return cls(body, prefix, len(examples), source)

    def submit(self, client: Any, log: Any) -> GeminiApiTuningJob:
        """Create the run, or reattach to this task instance's run of the same request if one is usable."""
        from google.genai import errors

        for model_id in tuned_model_ids(self.id_prefix):
            try:
                operation = client.create_tuned_model(self.body, tuned_model_id=model_id)
            except errors.ClientError as err:
                if err.code != 409:
                    raise
            else:
                log.info("Submitted %d examples from %s as tunedModels/%s (base model %s)", self.examples,
                         self.source, model_id, self.body["baseModel"])
                return client.get(name=operation["name"])
            existing = client.get(name=f"tunedModels/{model_id}")
            if existing.state not in RESUBMITTABLE_STATES:
                operation = client.find_operation(existing.tuned_model_name)
                log.info("Reattaching to this task's earlier run %s (%s)", existing.tuned_model_name,
                         short_state(existing.state))
                return client.get(name=operation["name"]) if operation else existing
            log.info("Earlier run %s ended %s; submitting a new one", existing.tuned_model_name,
                     short_state(existing.state))
        raise AirflowException(f"Every tuned model id tunedModels/{self.id_prefix}-N is taken by a failed run; "
                               "delete them to tune again")

    def owns(self, job: GeminiApiTuningJob) -> bool:
        return belongs_to(job, self.id_prefix)


def persist_job(context: Context, name: str, backend: str) -> str | None:
    """Push the job name (and on Vertex AI its console link) to XCom before any wait; return the URL.

    The Developer API has no console page for a tuning run, so its link stays empty.
    """
    if backend == GEMINI_API:
        context["ti"].xcom_push(key=TUNING_JOB_NAME_XCOM_KEY, value=name)
        return None
    return TuningJobLink.persist(context, name)


def _open_gcs(hook: GeminiTuningHook, uri: str) -> Any:
    from airflow_tuning.common.names import parse_gs_uri

    bucket, path = parse_gs_uri(uri, what="training_examples")
    blob = hook.get_storage_client().bucket(bucket).blob(path)
    if not blob.exists(retry=hook.api_core_retry):
        from airflow_tuning.backends.gemini_api.examples import ExampleError

        raise ExampleError(f"{uri} does not exist")
    return blob.open("rb", retry=hook.api_core_retry)


class DeleteTunedModelOperator(BaseOperator):
    """Delete a Gemini Developer API tuned model: the clean-up step after an evaluation, or after a
    cancelled run, whose model the tutorial recommends deleting because its behaviour is unpredictable.

    :param tuned_model_name: ``tunedModels/{id}``, a bare id, the run's operation name, or the summary a
        tuning task returned (its ``tuned_model`` is used).
    :param gcp_conn_id: a ``gemini_tuning`` connection with ``gemini_api_key``.

    Idempotent: a model that is already gone is a logged no-op. Returns ``{"tuned_model", "deleted"}``.
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
        return {"tuned_model": name, "deleted": deleted}
