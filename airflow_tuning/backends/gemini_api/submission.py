"""One ``tunedModels.create`` request of a task instance, checked, with its retry identity.

The Developer API takes its training data in-line, so everything about the request is settled before the
first call: the examples are read (a list, a JSONL file, or ``UploadDatasetOperator``'s result), checked
against the tutorial's limits, and turned into one create body. Retry safety comes from the tuned model's
id (see :func:`~airflow_tuning.backends.gemini_api.jobs.tuned_model_id_prefix`): a repeated create of the
same task instance and request answers 409 and the existing run is reattached.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from airflow_tuning.backends.gemini_api.jobs import (
    GeminiApiTuningJob,
    belongs_to,
    tuned_model_id_prefix,
    tuned_model_ids,
)
from airflow_tuning.jobs.states import RESUBMITTABLE_STATES, short_state

#: CreateTuningJobOperator arguments that only Vertex AI understands.
VERTEX_ONLY = ("pre_tuned_model", "checkpoint_id", "validation_dataset_uri", "adapter_size", "labels",
               "evaluation_config", "export_last_checkpoint_only")


class SubmissionExhausted(RuntimeError):
    """Every tuned model id of this task instance is taken by a failed run."""


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
    def prepare(
        cls, arguments: Mapping[str, Any], task_id: str, task_key: str, open_object: Callable[[str], BinaryIO]
    ) -> GeminiApiSubmission:
        """Build the request from rendered arguments; ValueError (naming the problem) before any API call."""
        from airflow_tuning.backends.gemini_api.examples import (
            DEFAULT_BASE_MODEL,
            ExampleError,
            create_request,
            examples_from_source,
        )
        from airflow_tuning.jobs.identity import request_fingerprint
        from airflow_tuning.jobs.method import SUPERVISED, TuningMethod

        given = [name for name in VERTEX_ONLY if _set(arguments.get(name))]
        if given:
            raise ValueError(f"{', '.join(given)}: not supported with backend='gemini_api' (Vertex AI only)")
        if TuningMethod.parse(arguments.get("method")) is not SUPERVISED:
            raise ValueError(f"method {arguments.get('method')!r} is not supported with backend='gemini_api'")
        data = arguments.get("training_examples")
        if not _set(data):
            data = arguments.get("training_dataset_uri")

        def open_gcs(uri: str) -> BinaryIO:
            try:
                return open_object(uri)
            except FileNotFoundError as err:
                raise ExampleError(str(err)) from None

        examples, source = examples_from_source(data, open_gcs)
        body = create_request(
            examples,
            base_model=arguments.get("base_model") or DEFAULT_BASE_MODEL,
            display_name=arguments.get("tuned_model_display_name"),
            description=arguments.get("description"),
            epoch_count=arguments.get("epoch_count"),
            batch_size=arguments.get("batch_size"),
            learning_rate=arguments.get("learning_rate"),
            learning_rate_multiplier=arguments.get("learning_rate_multiplier"),
        )
        prefix = tuned_model_id_prefix(task_id, task_key, request_fingerprint(body))
        return cls(body, prefix, len(examples), source)

    def submit(self, client: Any, log: logging.Logger | Any) -> GeminiApiTuningJob:
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
        raise SubmissionExhausted(f"Every tuned model id tunedModels/{self.id_prefix}-N is taken by a failed run; "
                                  "delete them to tune again")

    def owns(self, job: GeminiApiTuningJob) -> bool:
        return belongs_to(job, self.id_prefix)
