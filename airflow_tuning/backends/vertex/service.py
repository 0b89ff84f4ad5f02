"""Vertex AI as a :class:`~airflow_tuning.backends.base.TuningService`.

Jobs are ``projects/P/locations/L/tuningJobs/ID`` resources created through google-genai; the retry identity
rides on the job's labels (``airflow_tuning.jobs.identity``), so a retry of the same task instance and
request reattaches instead of paying twice. Evaluation calls endpoints, Model Registry versions (resolved to
their endpoint) or base models through the same google-genai client.

A task chooses this service when its DAG is parsed, so this module imports only the interface; the job,
request and registry code it drives is imported by the methods that run it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO

from airflow_tuning.backends.base import ClientSource, InvalidRequest, TaskRef, TuningService

if TYPE_CHECKING:
    from airflow_tuning.backends.vertex.submission import VertexSubmission
    from airflow_tuning.jobs.request import TuningRequest

#: Arguments of the Gemini Developer API only.
GEMINI_API_ONLY = ("training_examples", "batch_size", "learning_rate")


def _check_method_data(request: TuningRequest, open_object: Callable[[str], BinaryIO]) -> None:
    """A method that reads its own data format refuses, before any create, a file in another format."""
    from airflow_tuning.dataset.preference import check_head

    data_format = request.method.data_format
    if data_format == "vertex":
        return  # supervised data is checked by Vertex AI (and by UploadDatasetOperator); no extra read
    try:
        with open_object(request.training_dataset_uri) as stream:
            check_head(data_format, request.training_dataset_uri, stream)
    except FileNotFoundError as err:
        raise InvalidRequest(f"Invalid tuning request: training_dataset_uri: {err}") from None
    except ValueError as err:
        raise InvalidRequest(f"Invalid tuning request for method={request.method.value!r}: {err}") from None


class VertexTuningService(TuningService):
    """Gemini tuning on Vertex AI (the default)."""

    name = "vertex"
    model_registry = True

    def check_arguments(self, owner: str, arguments: Mapping[str, Any]) -> None:
        if arguments.get("training_dataset_uri") is None:
            raise TypeError(f"{owner} needs training_dataset_uri (a gs:// JSONL file)")
        if any(arguments.get(name) is not None for name in GEMINI_API_ONLY):
            raise ValueError("training_examples, batch_size and learning_rate need backend='gemini_api'")

    def qualify(self, name: str, clients: ClientSource) -> str:
        from airflow_tuning.backends.vertex.jobs import qualify_job_name

        text = str(name or "").strip()
        if text and "/" not in text:  # a bare id: only then is the connection needed
            return qualify_job_name(text, clients.project, clients.location)
        return qualify_job_name(text, "", "")

    def console_url(self, name: str) -> str | None:
        from airflow_tuning.common.console import tuning_job_console_url

        try:
            return tuning_job_console_url(name)
        except ValueError:
            return None

    def tunings_client(self, clients: ClientSource) -> Any:
        return clients.get_genai_client()

    async def async_tunings_client(self, hook_class: Any, conn_id: str, location: str | None = None) -> Any:
        return await hook_class.aget_async_genai_client(conn_id, location)

    def generation_client(self, clients: ClientSource) -> Any:
        return clients.get_async_genai_client()

    def resolve_model(self, value: str, clients: ClientSource) -> Any:
        from airflow_tuning.common.names import is_model_name
        from airflow_tuning.evaluation.targets import qualify, resolve_target

        needs_registry = is_model_name(qualify(value, clients.project, clients.location))
        return resolve_target(
            value,
            project=clients.project,
            location=clients.location,
            model_client=clients.get_model_service_client() if needs_registry else None,
            retry=clients.api_core_retry if needs_registry else None,
        )

    def prepare(
        self, arguments: Mapping[str, Any], task: TaskRef, open_object: Callable[[str], BinaryIO]
    ) -> VertexSubmission:
        from airflow_tuning.backends.vertex.submission import VertexSubmission
        from airflow_tuning.jobs.identity import TaskIdentity, request_fingerprint
        from airflow_tuning.jobs.request import TuningRequest

        try:
            request = TuningRequest.build(**_with_model_label(arguments))
        except ValueError as err:
            raise InvalidRequest(f"Invalid tuning request: {err}") from None
        _check_method_data(request, open_object)
        identity = TaskIdentity(
            dag_id=task.dag_id,
            task_id=task.task_id,
            run_id=task.run_id,
            map_index=task.map_index,
            fingerprint=request_fingerprint(request.fingerprint_payload()),
        )
        return VertexSubmission(request, identity)

    def continue_or_bootstrap(
        self, arguments: Mapping[str, Any], task: TaskRef, clients: ClientSource, *, alias: str, log: Any
    ) -> dict[str, Any]:
        from airflow_tuning.backends.vertex.champion import AmbiguousAliasError
        from airflow_tuning.backends.vertex.continuation import resolve_continuation
        from airflow_tuning.jobs.identity import task_key

        display_name = arguments.get("tuned_model_display_name")
        if not (isinstance(display_name, str) and display_name.strip()):
            raise InvalidRequest("continue_from_alias needs tuned_model_display_name to render to the model's name")
        try:
            # Label first: a continuation leaves the display name out of the request, not out of the labels.
            arguments = _with_model_label(arguments)
            resolution = resolve_continuation(
                genai_client=clients.get_genai_client(),
                model_client=clients.get_model_service_client(),
                project=clients.project,
                location=clients.location,
                task_key=task_key(task.dag_id, task.task_id, task.run_id, task.map_index),
                values=arguments,
                display_name=display_name,
                alias=alias,
                fingerprint=_fingerprint,
                retry=clients.api_core_retry,
                log=log,
            )
        except AmbiguousAliasError as err:
            raise InvalidRequest(str(err)) from None
        except ValueError as err:
            raise InvalidRequest(f"Invalid tuning request: {err}") from None
        if resolution.continued_from:
            log.info("Continuing %r from %s: %s", display_name, resolution.continued_from, resolution.reason)
        else:
            log.info("Bootstrapping %r from %s: %s", display_name, arguments.get("base_model"), resolution.reason)
        return resolution.apply(arguments)

    def submit(self, client: Any, submission: VertexSubmission, *, retry: Any, log: logging.Logger | Any) -> Any:
        from airflow_tuning.backends.vertex.jobs import find_reattachable, start_tuning_job

        identity = submission.identity
        job, decision = find_reattachable(client, identity)
        log.info("Retry identity %s: %s", identity.key, decision.reason)
        if job is not None:
            return job
        request = submission.request.with_labels(identity.merged_labels(submission.request.labels))
        job = start_tuning_job(
            client, request, retry=retry, find_existing=lambda: find_reattachable(client, identity)[0], log=log
        )
        log.info("Submitted tuning job %s (tuning %s on %s)", job.name, request.source_model,
                 request.training_dataset_uri)
        return job

    def owns(self, submission: VertexSubmission, job: Any) -> bool:
        from airflow_tuning.jobs.identity import REQUEST_LABEL

        return (getattr(job, "labels", None) or {}).get(REQUEST_LABEL) == submission.identity.fingerprint

    def find_active(self, client: Any, labels: Mapping[str, str]) -> list[Any]:
        from airflow_tuning.backends.vertex.jobs import find_active_with_labels

        return find_active_with_labels(client, labels)


def _with_model_label(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Request arguments; a named model's jobs carry the ``logical_model`` label (ValueError when invalid)."""
    from airflow_tuning.jobs.logical_model import with_model_label
    from airflow_tuning.jobs.request import REQUEST_ARGUMENTS

    values = {name: arguments.get(name) for name in REQUEST_ARGUMENTS}
    display_name = values.get("tuned_model_display_name")
    if isinstance(display_name, str) and display_name.strip():
        values["labels"] = with_model_label(values.get("labels"), display_name)
    return values


def _fingerprint(arguments: Mapping[str, Any]) -> str:
    """The retry-identity fingerprint ``prepare`` gives these arguments."""
    from airflow_tuning.jobs.identity import request_fingerprint
    from airflow_tuning.jobs.request import TuningRequest

    return request_fingerprint(TuningRequest.build(**_with_model_label(arguments)).fingerprint_payload())
