"""``TuningJobSensor``: wait for a tuning job started anywhere (the console, another DAG, a notebook).

Deferrable by default (the wait runs in the triggerer); ``deferrable=False`` keeps Airflow's poke and
reschedule modes, with the provider's own backoff in place of the sensor's fixed ``poke_interval``. The
sensor does not own the job, so it never cancels it. ``backend="gemini_api"`` watches a Gemini Developer API
run (its operation or tuned model) the same way, logging its progress percent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
)

from airflow_tuning.backends.gemini_api.jobs import GEMINI_API, VERTEX, ProgressLog, check_backend, qualify_name
from airflow_tuning.backends.vertex.jobs import qualify_job_name
from airflow_tuning.common.retry import is_transient
from airflow_tuning.hooks.task import TuningJobClientMixin
from airflow_tuning.hooks.tuning import GeminiTuningHook
from airflow_tuning.jobs.polling import (
    DEFAULT_MAX_POLL_INTERVAL,
    DEFAULT_MAX_TRANSIENT_ERRORS,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_POLL_JITTER,
    DEFAULT_POLL_MULTIPLIER,
    PollPolicy,
    StateTracker,
)
from airflow_tuning.jobs.states import is_ended, state_name
from airflow_tuning.jobs.summary import Verdict, error_message, judge, summarize
from airflow_tuning.jobs.watch import event_verdict
from airflow_tuning.links import TuningJobLink
from airflow_tuning.operators.gemini_api import persist_job

if TYPE_CHECKING:
    from airflow.sdk import Context


class TuningJobSensor(TuningJobClientMixin, BaseSensorOperator):
    """Succeed when a tuning job SUCCEEDED, returning its summary; fail when it ended otherwise.

    FAILED fails with Vertex's error message, CANCELLED and EXPIRED fail too. As for every Airflow sensor,
    ``soft_fail=True`` turns any failure (including ``timeout``) into a skip.

    :param tuning_job_name: full name or bare id (the connection's project and location complete it).
    :param deferrable: wait in the triggerer; False uses ``mode`` (poke or reschedule).
    :param poll_interval: first wait between polls (s); grows by ``poll_multiplier`` to
        ``max_poll_interval``, shortened by up to ``poll_jitter``. Used by all modes.
    :param max_transient_errors: consecutive transient API errors tolerated before failing.
    :param gcp_conn_id: ``gemini_tuning`` connection.
    :param backend: ``vertex`` (default) or ``gemini_api``; for the latter ``tuning_job_name`` is the run's
        operation (``tunedModels/{id}/operations/{op}``, as a tuning summary's ``tuning_job``) or its tuned
        model (``tunedModels/{id}``).
    """

    template_fields: Sequence[str] = ("tuning_job_name",)
    operator_extra_links = (TuningJobLink(),)
    ui_color = "#e6f4ea"

    def __init__(
        self,
        *,
        tuning_job_name: str,
        deferrable: bool = True,
        poll_interval: float | timedelta = DEFAULT_POLL_INTERVAL,
        max_poll_interval: float | timedelta = DEFAULT_MAX_POLL_INTERVAL,
        poll_multiplier: float = DEFAULT_POLL_MULTIPLIER,
        poll_jitter: float = DEFAULT_POLL_JITTER,
        max_transient_errors: int = DEFAULT_MAX_TRANSIENT_ERRORS,
        gcp_conn_id: str = GeminiTuningHook.default_conn_name,
        backend: str = VERTEX,
        **kwargs: Any,
    ) -> None:
        policy = PollPolicy.build(
            poll_interval, max_poll_interval, poll_multiplier, poll_jitter, max_transient_errors
        )
        kwargs.setdefault("poke_interval", policy.poll_interval)
        super().__init__(**kwargs)
        self.tuning_job_name = tuning_job_name
        self.deferrable = deferrable
        self.gcp_conn_id = gcp_conn_id
        self.backend = check_backend(backend)
        self.poll_settings = policy.to_kwargs()
        self._job_name: str | None = None
        self._tracker = StateTracker()
        self._transient_errors = 0

    def _client(self) -> Any:
        return ProgressLog(self._tunings_client(), self.log)

    def _resolve_name(self) -> str:
        try:
            if self.backend == GEMINI_API:
                return qualify_name(self.tuning_job_name)
            return qualify_job_name(self.tuning_job_name, self.hook.project, self.hook.location)
        except ValueError as err:
            raise AirflowFailException(str(err)) from None

    def _observe(self, context: Context, job: Any) -> None:
        if self._job_name != job.name:
            self._job_name = job.name
            url = persist_job(context, job.name, self.backend)
            self.log.info("Watching tuning job %s; console: %s", job.name, url or "none")
        line = self._tracker.observe(job.name, state_name(job.state), getattr(job, "create_time", None))
        if line:
            self.log.info(line)

    # -- deferrable ------------------------------------------------------------------------------------------
    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        name = self._resolve_name()
        job = self._client().tunings.get(name=name)
        self._observe(context, job)
        if is_ended(job.state):
            summary = summarize(job)
            return self._end(judge(summary, error_message(job)), summary)
        from airflow_tuning.triggers.tuning import TuningJobTrigger

        self.defer(  # the sensor does not own the job: a kill or a timeout never cancels it
            **TuningJobTrigger.deferral(
                [name],
                gcp_conn_id=self.gcp_conn_id,
                policy=self.policy,
                timeout=self.timeout,
                cancel_on_kill=False,
                backend=self.backend,
            )
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        if event.get("status") == "timeout":
            raise AirflowSensorTimeout(event.get("message"))
        return self._end(event_verdict(event), event.get("summary") or {})

    def _end(self, verdict: Verdict, summary: dict[str, Any]) -> dict[str, Any]:
        if verdict.action == "succeed":
            self.log.info(verdict.message)
            return summary
        if self.soft_fail or verdict.action == "skip":
            raise AirflowSkipException(verdict.message)
        raise AirflowException(verdict.message)

    # -- poke / reschedule ----------------------------------------------------------------------------
    def poke(self, context: Context) -> bool | PokeReturnValue:
        name = self._resolve_name()
        try:
            job = self._client().tunings.get(name=name)
        except Exception as err:
            limit = self.policy.max_transient_errors
            if not is_transient(err) or self._transient_errors >= limit:
                raise
            self._transient_errors += 1
            self.log.warning(
                "Transient error polling %s (%d/%d in a row): %s",
                name,
                self._transient_errors,
                limit,
                err,
            )
            return False
        self._transient_errors = 0
        self._observe(context, job)
        if not is_ended(job.state):
            return False
        summary = summarize(job)
        verdict = judge(summary, error_message(job))
        if verdict.action != "succeed":
            raise AirflowFailException(verdict.message)  # the base sensor turns this into a skip on soft_fail
        self.log.info(verdict.message)
        return PokeReturnValue(is_done=True, xcom_value=summary)

    def _get_next_poke_interval(self, started_at: Any, run_duration: Any, poke_count: int) -> float:
        """The shared backoff; in reschedule mode resumed from the time already waited."""
        elapsed = run_duration()
        attempt = self.policy.attempt_at(elapsed) if self.reschedule else max(0, poke_count - 1)
        return max(0.0, min(self.policy.interval(attempt), self.timeout - elapsed))
