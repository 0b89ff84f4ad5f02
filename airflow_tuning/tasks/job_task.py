"""The shared half of the tasks that watch tuning jobs (the tuning operators and ``TuningJobSensor``).

``TuningJobTask`` holds what they all choose once, where the task is defined: the tuning service (an object,
see :mod:`airflow_tuning.backends`), the connection, and the poll policy. The policy is declared here only:
``poll=`` takes a ``PollPolicy`` or a mapping, and the separate keywords (``poll_interval``, ...) keep
working, also from ``default_args`` and ``partial()``. Waiting happens in the triggerer
(``TuningJobTrigger``) or on the worker, both with the same policy.

It also holds the two rules every such task applies: how a job is announced (name and console link in XCom
before any wait) and how a verdict becomes an Airflow outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowSkipException

from airflow_tuning.backends import TuningService, tuning_service
from airflow_tuning.backends.base import TaskRef
from airflow_tuning.hooks.tuning import GeminiTuningHook
from airflow_tuning.jobs.polling import PollPolicy, deadline_after
from airflow_tuning.jobs.states import is_ended
from airflow_tuning.links import TUNING_JOB_LINK_XCOM_KEY, TUNING_JOB_NAME_XCOM_KEY

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_tuning.jobs.summary import Verdict
    from airflow_tuning.jobs.watch import WaitResult

# Defining a task needs the service, the hook class and the poll policy only; the wait and cancel machinery
# (jobs.watch, jobs.outage) is imported by the methods that run on a worker.


class TuningJobTask(BaseOperator):
    """Base of the tasks that watch tuning jobs: service, hook, poll policy, and where to wait.

    :param backend: the tuning service: ``"vertex"`` (default), ``"gemini_api"``, or a
        :class:`~airflow_tuning.backends.base.TuningService`.
    :param gcp_conn_id: a ``gemini_tuning`` connection, or a Google provider ``google_cloud_platform`` one
        (e.g. ``google_cloud_default``).
    :param location: Vertex AI region, for a ``google_cloud_platform`` connection (which has none); given
        with a ``gemini_tuning`` connection it replaces the connection's. Default: the connection's, else
        ``us-central1``.
    :param poll: the poll policy: a :class:`~airflow_tuning.jobs.polling.PollPolicy` or a mapping of its
        settings (``poll_interval``, ``max_poll_interval``, ``poll_multiplier``, ``poll_jitter``,
        ``max_transient_errors``). Each setting may also be given as a keyword argument of its own, which
        wins over ``poll``: ``poll_interval`` is the first wait between polls (s, or a timedelta); it grows by
        ``poll_multiplier`` up to ``max_poll_interval``, shortened by up to ``poll_jitter``;
        ``max_transient_errors`` consecutive transient API errors are logged one by one; past it the API counts
        as unavailable and polls go on at ``max_poll_interval``. Transient errors never end a wait; its
        ``timeout`` does.
    :param poll_interval: first wait between status polls (seconds or a timedelta; default 10 s).
    :param max_poll_interval: the longest wait between polls (default 150 s).
    :param poll_multiplier: growth of the wait after each poll (default 1.5).
    :param poll_jitter: share of the wait taken off at random, so many tasks do not poll in step.
    :param max_transient_errors: consecutive transient API errors (429, 5xx, dropped connections)
        logged one by one before the API counts as unavailable.
    """

    def __init__(
        self,
        *,
        backend: str | TuningService | None = None,
        gcp_conn_id: str = GeminiTuningHook.default_conn_name,
        location: str | None = None,
        poll: PollPolicy | dict[str, Any] | None = None,
        poll_interval: float | timedelta | None = None,
        max_poll_interval: float | timedelta | None = None,
        poll_multiplier: float | None = None,
        poll_jitter: float | None = None,
        max_transient_errors: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.service = tuning_service(backend)
        self.backend = self.service.name
        self.gcp_conn_id = gcp_conn_id
        self.location = location
        policy = PollPolicy.of(
            poll, poll_interval=poll_interval, max_poll_interval=max_poll_interval,
            poll_multiplier=poll_multiplier, poll_jitter=poll_jitter, max_transient_errors=max_transient_errors,
        )  # fmt: skip  (validated when the DAG is parsed)
        self.poll_settings = policy.to_kwargs()
        self._lineage_summary: dict[str, Any] | None = None
        self._lineage_job: Any = None

    @property
    def policy(self) -> PollPolicy:
        return PollPolicy(**self.poll_settings)

    @cached_property
    def hook(self) -> GeminiTuningHook:
        return GeminiTuningHook(gcp_conn_id=self.gcp_conn_id, location=self.location)

    def _tunings_client(self) -> Any:
        """The client whose ``tunings.get`` / ``tunings.cancel`` serve this task's service."""
        return self.service.tunings_client(self.hook)

    def _announce(self, context: Context, name: str) -> str | None:
        """Push the job name (and its console link, where the service has one) before any wait."""
        url = self.service.console_url(name)
        if url:
            url = _offline_page(self.hook, name) or url
        ti = context["ti"]
        ti.xcom_push(key=TUNING_JOB_NAME_XCOM_KEY, value=name)
        if url:
            ti.xcom_push(key=TUNING_JOB_LINK_XCOM_KEY, value=url)
        return url

    def _outcome(
        self, verdict: Verdict, summary: dict[str, Any], *, skip: bool = False, fail: type[Exception] = AirflowException
    ) -> dict[str, Any]:
        """The one verdict -> outcome rule: succeed returns the summary; ``skip`` verdicts (and any failure
        when ``skip`` is set) skip; the rest raise ``fail`` with the verdict's message."""
        self._lineage_summary = summary
        if verdict.action == "succeed":
            self.log.info(
                "%s; tuned model %s, endpoint %s", verdict.message, summary.get("tuned_model"), summary.get("endpoint")
            )
            return summary
        if skip or verdict.action == "skip":
            raise AirflowSkipException(verdict.message)
        raise fail(verdict.message)

    # -- OpenLineage ----------------------------------------------------------------------------------
    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Training and validation data (and the parent model version) in, the tuned model version out."""
        return self._job_lineage(failed=False)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """The data the failed job read; no model came out of it."""
        return self._job_lineage(failed=True)

    def _job_lineage(self, *, failed: bool) -> Any:
        from airflow_tuning.tasks.lineage import tuning_lineage

        summary = self._lineage_summary or {}
        return tuning_lineage(summary, job=self._lineage_job_object(summary), failed=failed, **self._lineage_request())

    def _lineage_request(self) -> dict[str, Any]:
        """What the task itself knows of the request (method, hyperparameters, data); the sensor knows none."""
        return {}

    def _lineage_job_object(self, summary: dict[str, Any]) -> Any:
        """The ended job, for the stats only it carries (billable tokens): the one this task saw, or, after
        a deferred wait, one ``get`` (best effort: lineage never fails a task)."""
        name = summary.get("tuning_job")
        job = self._lineage_job
        if not name:
            return job
        seen = job if job is not None and getattr(job, "name", None) == name else None
        if not is_ended(summary.get("state")) or (seen is not None and is_ended(getattr(seen, "state", None))):
            return seen  # still running (no stats yet), or seen ended here
        try:
            return self.service.get(self._tunings_client(), name)
        except Exception as err:
            self.log.warning("No tuning statistics for lineage: %s: %s", type(err).__name__, err)
            return None

    def _defer_on(self, names: Sequence[str], *, cancel_on_kill: bool, timeout: Any) -> None:
        """Wait in the triggerer; the trigger enforces ``timeout`` itself (cancelling first if asked)."""
        from airflow_tuning.triggers.tuning import TuningJobTrigger

        self.log.info("Deferring until tuning job(s) %s end", ", ".join(names))
        self.defer(
            **TuningJobTrigger.deferral(
                names,
                gcp_conn_id=self.gcp_conn_id,
                policy=self.policy,
                timeout=timeout,
                cancel_on_kill=cancel_on_kill,
                backend=self.service,
                location=self.location,
            )
        )

    def _wait_here(self, names: Sequence[str], timeout: Any) -> WaitResult:
        """Wait on the worker; ``execution_timeout`` is left to Airflow, which then calls ``on_kill``."""
        from airflow_tuning.jobs.progress import ProgressLog
        from airflow_tuning.jobs.watch import wait_sync

        client = ProgressLog(self._tunings_client(), self.log)
        return wait_sync(client, names, self.policy, deadline_after(timeout), self.log)

    def _give_up(self, result: WaitResult, names: Sequence[str], *, cancel: bool) -> str:
        """A worker-side wait ended without the jobs ending: when ``cancel``, cancel those still running
        (retrying a cancel that does not get through; see ``jobs.outage``); return the failure message."""
        if not cancel:
            return result.message
        from airflow_tuning.jobs.outage import cancel_grace, cancel_jobs

        pending = [n for n in names if n not in result.gone and not _ended(result, n)]
        outcome = cancel_jobs(self._tunings_client(), pending, self.policy, self.log, self.service.cancel)
        text = outcome.describe(cancel_grace(self.policy))
        return f"{result.message}; {text}" if text else result.message


def _ended(result: WaitResult, name: str) -> bool:
    job = result.jobs.get(name)
    return job is not None and is_ended(job.state)


def task_ref(context: Context) -> TaskRef:
    """The running task instance, as the service adapters know it."""
    ti = context["ti"]
    return TaskRef(ti.dag_id, ti.task_id, ti.run_id, ti.map_index if ti.map_index is not None else -1)


def _offline_page(hook: GeminiTuningHook, name: str) -> str | None:
    """The emulator's own job page when the connection points at the emulator (links then work offline)."""
    from airflow_tuning.common.console import tuning_job_link

    try:
        settings = hook.settings
    except Exception:  # the link is a convenience: a connection problem surfaces where it matters
        return None
    if not settings.is_emulated:
        return None
    return tuning_job_link(name, settings.api_endpoint, emulated=True)
