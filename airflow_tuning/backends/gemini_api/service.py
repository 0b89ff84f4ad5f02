"""The Gemini Developer API as a :class:`~airflow_tuning.backends.base.TuningService`.

A run is a tuned model and its long-running operation (``tunedModels/{id}/operations/{op}``), read as a
tuning job by :mod:`~airflow_tuning.backends.gemini_api.jobs`; the REST client is
:mod:`~airflow_tuning.backends.gemini_api.client`. Tuned models carry no labels and have no console page.
The job and submission code is imported by the methods that run it, so choosing this service stays cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO

from airflow_tuning.backends.base import ClientSource, InvalidRequest, TaskRef, TuningService

if TYPE_CHECKING:
    from airflow_tuning.backends.gemini_api.submission import GeminiApiSubmission


class GeminiApiTuningService(TuningService):
    """Tuning on the Gemini Developer API, with the connection's ``gemini_api_key``."""

    name = "gemini_api"

    def check_arguments(self, owner: str, arguments: Mapping[str, Any]) -> None:
        """The Developer API tunes supervised only: another method is refused when the DAG is parsed."""
        from airflow_tuning.jobs.method import SUPERVISED, TuningMethod

        if TuningMethod.parse(arguments.get("method")) is not SUPERVISED:
            raise ValueError(
                f"{owner}: method={arguments.get('method')!r} is not supported with backend='gemini_api' "
                "(it tunes supervised only); use backend='vertex'"
            )

    def qualify(self, name: str, clients: ClientSource) -> str:
        from airflow_tuning.backends.gemini_api.jobs import qualify_name

        return qualify_name(name)

    def console_url(self, name: str) -> str | None:
        return None

    def tunings_client(self, clients: ClientSource) -> Any:
        return clients.get_gemini_api_client()

    async def async_tunings_client(self, hook_class: Any, conn_id: str, location: str | None = None) -> Any:
        return await hook_class.aget_gemini_api_client(conn_id, location)

    def generation_client(self, clients: ClientSource) -> Any:
        return clients.get_gemini_api_genai_client().aio

    def resolve_model(self, value: str, clients: ClientSource) -> Any:
        from airflow_tuning.backends.gemini_api.jobs import serving_name
        from airflow_tuning.evaluation.targets import Target

        serving, kind = serving_name(value)
        return Target(value, serving, kind)

    def prepare(
        self, arguments: Mapping[str, Any], task: TaskRef, open_object: Callable[[str], BinaryIO]
    ) -> GeminiApiSubmission:
        from airflow_tuning.backends.gemini_api.submission import GeminiApiSubmission
        from airflow_tuning.jobs.identity import task_key

        key = task_key(task.dag_id, task.task_id, task.run_id, task.map_index)
        try:  # ExampleError included: bad data does not get better on retry
            return GeminiApiSubmission.prepare(arguments, task.task_id, key, open_object)
        except ValueError as err:
            raise InvalidRequest(f"Invalid Gemini API tuning request: {err}") from None

    def submit(self, client: Any, submission: GeminiApiSubmission, *, retry: Any, log: logging.Logger | Any) -> Any:
        return submission.submit(client, log)

    def owns(self, submission: GeminiApiSubmission, job: Any) -> bool:
        return submission.owns(job)

    def find_active(self, client: Any, labels: Mapping[str, str]) -> list[Any]:
        raise ValueError("Gemini API tuned models carry no labels; cancel a run by its name instead")
