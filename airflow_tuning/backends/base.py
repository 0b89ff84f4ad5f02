"""The one interface every tuning service implements.

Operators, the sensor and the trigger hold a :class:`TuningService` chosen once, where the task is defined
(``backend="vertex"`` or ``"gemini_api"``, or an instance), and call it; none of them knows which service
runs the job. Adding a service means adding one subpackage under ``backends/`` with one implementation and
registering it in ``airflow_tuning.backends``.

Clients are built by the hook (the one place that reads the connection); an adapter receives a
:class:`ClientSource` (the hook, duck-typed) or a client, never an Airflow object. Pure Python, no Airflow
import; Google SDKs only inside functions, and the job machinery (wait loops, summaries) only when a task
runs, so defining a task with a service stays cheap when a DAG is parsed.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, Protocol

if TYPE_CHECKING:
    from airflow_tuning.evaluation.targets import Target


class ClientSource(Protocol):
    """What an adapter needs from the hook: the connection's project and location, and built clients."""

    @property
    def project(self) -> str: ...
    @property
    def location(self) -> str: ...
    @property
    def api_core_retry(self) -> Any: ...

    def get_genai_client(self) -> Any: ...
    def get_async_genai_client(self) -> Any: ...
    def get_gemini_api_client(self) -> Any: ...
    def get_gemini_api_genai_client(self) -> Any: ...
    def get_model_service_client(self) -> Any: ...


@dataclass(frozen=True)
class TaskRef:
    """The task instance a submission belongs to (its retry identity is derived from it)."""

    dag_id: str
    task_id: str
    run_id: str
    map_index: int = -1


class InvalidRequest(ValueError):
    """A tuning request that cannot be sent; retrying does not help. The message says why."""


class TuningService(ABC):
    """One tuning service: submit-or-reattach, get, cancel, find by labels, summarize, console URL, and
    the client evaluation generates with."""

    #: The name users pass as ``backend=``; also what trigger kwargs carry.
    name: ClassVar[str]
    #: Operator arguments this service refuses (checked when the task is defined).
    unsupported_arguments: ClassVar[tuple[str, ...]] = ()
    #: Tuned models live in a registry with version aliases, so ``continue_from_alias`` can be honoured.
    model_registry: ClassVar[bool] = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    # -- task definition ----------------------------------------------------------------------------------
    def check_arguments(self, owner: str, arguments: Mapping[str, Any]) -> None:  # noqa: B027 - optional hook
        """Refuse, when the DAG is parsed, arguments this service cannot honour (TypeError/ValueError)."""

    # -- names ----------------------------------------------------------------------------------------------
    @abstractmethod
    def qualify(self, name: str, clients: ClientSource) -> str:
        """The full job name from what a user typed (a full name or a bare id); ValueError when malformed."""

    @abstractmethod
    def console_url(self, name: str) -> str | None:
        """The job's page in Google Cloud console, or None when the service has none."""

    # -- clients --------------------------------------------------------------------------------------------
    @abstractmethod
    def tunings_client(self, clients: ClientSource) -> Any:
        """The sync client whose ``tunings.get`` / ``tunings.cancel`` serve this service."""

    @abstractmethod
    async def async_tunings_client(self, hook_class: Any, conn_id: str, location: str | None = None) -> Any:
        """The shared async client for triggers (``hook_class`` builds and caches it); ``location`` is the
        task's, for a connection that has none of its own."""

    @abstractmethod
    def generation_client(self, clients: ClientSource) -> Any:
        """A google-genai async client (``.models.generate_content``) that serves this service's models."""

    @abstractmethod
    def resolve_model(self, value: str, clients: ClientSource) -> Target:
        """What ``generateContent`` is called on for a model reference given to evaluation."""

    # -- jobs -----------------------------------------------------------------------------------------------
    def continue_or_bootstrap(
        self, arguments: Mapping[str, Any], task: TaskRef, clients: ClientSource, *, alias: str, log: Any
    ) -> dict[str, Any]:
        """``arguments`` with the source model chosen at run time: the version of the logical model holding
        ``alias`` (continuous tuning), else ``base_model``. Only a service with a model registry can."""
        raise InvalidRequest(f"continue_from_alias needs a model registry; backend {self.name!r} has none")

    @abstractmethod
    def prepare(
        self, arguments: Mapping[str, Any], task: TaskRef, open_object: Callable[[str], BinaryIO]
    ) -> Any:
        """Check the rendered request and derive its retry identity; :class:`InvalidRequest` when bad."""

    @abstractmethod
    def submit(self, client: Any, submission: Any, *, retry: Any, log: logging.Logger | Any) -> Any:
        """This task instance's job for this request: reattached when one is usable, else created once."""

    @abstractmethod
    def owns(self, submission: Any, job: Any) -> bool:
        """True when ``job`` was created for this task instance and request."""

    def get(self, client: Any, name: str) -> Any:
        return client.tunings.get(name=name)

    def cancel(self, client: Any, name: str, log: logging.Logger | Any) -> bool:
        """Cancel; False (logged) when the job had already ended."""
        from airflow_tuning.jobs.watch import cancel_job

        return cancel_job(client, name, log)

    async def acancel(self, aclient: Any, name: str, log: logging.Logger | Any) -> bool:
        from airflow_tuning.jobs.watch import acancel_job

        return await acancel_job(aclient, name, log)

    @abstractmethod
    def find_active(self, client: Any, labels: Mapping[str, str]) -> list[Any]:
        """Jobs carrying all ``labels`` that have not ended; ValueError when the service has no labels."""

    def summarize(self, job: Any) -> dict[str, Any]:
        """The summary every tuning task returns (``airflow_tuning.jobs.summary.SUMMARY_KEYS``)."""
        from airflow_tuning.jobs.summary import summarize

        return summarize(job)

    def describe(self, submission: Any) -> str:
        """One log line on what was submitted."""
        return str(submission)
