"""``TuningJobSensor``: wait for a tuning job started anywhere (the console, another DAG, a notebook).

Deferrable by default (the wait runs in the triggerer); ``deferrable=False`` keeps Airflow's poke and
reschedule modes, with the provider's own backoff in place of the sensor's fixed ``poke_interval``. The
sensor does not own the job, so it never cancels it. ``backend="gemini_api"`` watches a Gemini Developer API
run (its operation or tuned model) the same way, logging its progress percent.

In reschedule mode Airflow builds a new sensor object for every poke, so the count of consecutive transient
errors is kept in the task instance's ``task_state_store``, not on the object: the limit holds across pokes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout

from airflow_tuning.jobs.polling import StateTracker, deadline_after
from airflow_tuning.jobs.states import is_ended, state_name
from airflow_tuning.links import TuningJobLink
from airflow_tuning.tasks.job_task import TuningJobTask

# What a poke or a deferral runs (outage rules, summaries, cost) is imported by the methods, not when a DAG
# that uses the sensor is parsed.

if TYPE_CHECKING:
    from airflow.sdk import Context

#: ``task_state_store`` key of the consecutive transient errors seen by poke/reschedule mode.
TRANSIENT_ERRORS_KEY = "tuning_sensor_transient_errors"


class TuningJobSensor(TuningJobTask, BaseSensorOperator):
    """Succeed when a tuning job SUCCEEDED, returning its summary; fail when it ended otherwise.

    FAILED fails with the service's error message, CANCELLED and EXPIRED fail too. As for every Airflow
    sensor, ``soft_fail=True`` turns any failure (including ``timeout``) into a skip.

    :param tuning_job_name: full name or bare id (the connection's project and location complete it); for
        ``gemini_api`` the run's operation (``tunedModels/{id}/operations/{op}``, as a tuning summary's
        ``tuning_job``) or its tuned model (``tunedModels/{id}``).
    :param deferrable: wait in the triggerer; False uses ``mode`` (poke or reschedule).

    ``backend``, ``gcp_conn_id``, ``poll`` and the poll keywords (``poll_interval``, ``max_poll_interval``,
    ``poll_multiplier``, ``poll_jitter``, ``max_transient_errors``: used by all modes) are those of
    ``airflow_tuning.tasks.job_task.TuningJobTask``.

    Returns (XCom ``return_value``): the job summary (``tuning_job``, ``state``, ``tuned_model``,
    ``endpoint``, ``checkpoints``, ... as ``CreateTuningJobOperator`` returns it). Also pushes
    ``tuning_job_name`` and ``tuning_job_link``.
    """

    template_fields: Sequence[str] = ("tuning_job_name",)
    operator_extra_links = (TuningJobLink(),)
    ui_color = "#e6f4ea"

    def __init__(self, *, tuning_job_name: str, deferrable: bool = True, **kwargs: Any) -> None:
        own_poke_interval = "poke_interval" in kwargs
        super().__init__(**kwargs)
        if not own_poke_interval:
            self.poke_interval = self.policy.poll_interval
        self.tuning_job_name = tuning_job_name
        self.deferrable = deferrable
        self._job_name: str | None = None
        self._tracker = StateTracker()
        self._transient_errors = 0  # used only where the task has no task_state_store

    def _client(self) -> Any:
        from airflow_tuning.jobs.progress import ProgressLog

        return ProgressLog(self._tunings_client(), self.log)

    def _resolve_name(self) -> str:
        try:
            return self.service.qualify(self.tuning_job_name, self.hook)
        except ValueError as err:
            raise AirflowFailException(str(err)) from None

    def _observe(self, context: Context, job: Any) -> None:
        self._lineage_job = job
        if self._job_name != job.name:
            self._job_name = job.name
            url = self._announce(context, job.name)
            self.log.info("Watching tuning job %s; console: %s", job.name, url or "none")
        line = self._tracker.observe(job.name, state_name(job.state), getattr(job, "create_time", None))
        if line:
            self.log.info(line)

    def _outcome(self, verdict: Any, summary: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The shared verdict rule, plus the cost computed from the job's own tuningDataStats."""
        from airflow_tuning.tasks.budget import with_cost

        return with_cost(super()._outcome(verdict, summary, **kwargs), self.hook)

    # -- deferrable ------------------------------------------------------------------------------------------
    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        from airflow_tuning.jobs.outage import get_when_available
        from airflow_tuning.jobs.summary import error_message, judge

        name = self._resolve_name()
        job = get_when_available(self._client(), name, self.policy, deadline_after(self.timeout), self.log)
        if job is None:
            raise AirflowFailException(f"Tuning job {name} does not exist (the API answers 404 NOT_FOUND)")
        self._observe(context, job)
        if is_ended(job.state):
            summary = self.service.summarize(job)
            return self._outcome(judge(summary, error_message(job)), summary, skip=self.soft_fail)
        # The sensor does not own the job: a kill or a timeout never cancels it.
        self._defer_on([name], cancel_on_kill=False, timeout=self.timeout)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        from airflow_tuning.jobs.watch import event_verdict

        if event.get("status") == "timeout":
            raise AirflowSensorTimeout(event.get("message"))
        return self._outcome(event_verdict(event), event.get("summary") or {}, skip=self.soft_fail)

    # -- poke / reschedule ----------------------------------------------------------------------------
    def poke(self, context: Context) -> bool | PokeReturnValue:
        from airflow_tuning.jobs.summary import error_message, judge

        name = self._resolve_name()
        try:
            job = self._client().tunings.get(name=name)
        except Exception as err:
            return self._poke_failed(context, name, err)
        self._count_transient(context, 0)
        self._observe(context, job)
        if not is_ended(job.state):
            return False
        summary = self.service.summarize(job)
        # A failed job fails without retries: waiting again would watch the same ended job.
        verdict = judge(summary, error_message(job))
        value = self._outcome(verdict, summary, skip=self.soft_fail, fail=AirflowFailException)
        return PokeReturnValue(is_done=True, xcom_value=value)

    def _poke_failed(self, context: Context, name: str, err: Exception) -> bool:
        """A failed poke: transient errors never end the wait (the sensor's ``timeout`` still does; see
        ``jobs.outage``); a 404 confirmed by a second read fails clearly; anything else is raised."""
        from airflow_tuning.common.retry import is_transient
        from airflow_tuning.jobs.outage import get_when_available, is_not_found, unavailable_message

        if is_not_found(err):
            if get_when_available(self._client(), name, self.policy, None, self.log) is None:
                raise AirflowFailException(f"Tuning job {name} no longer exists (the API answers 404 NOT_FOUND)")
            return False  # it answered after all: the next poke reads it
        if not is_transient(err):
            self._count_transient(context, 0)
            raise err
        limit = self.policy.max_transient_errors
        seen = self._count_transient(context, self._count_transient(context, None) + 1)
        if seen == limit + 1:
            self.log.warning(unavailable_message(name, seen, self.policy, err))
        elif seen <= limit:
            self.log.warning("Transient error polling %s (%d/%d in a row): %s", name, seen, limit, err)
        return False

    def _count_transient(self, context: Context, value: int | None) -> int:
        """Read (``value`` None) or write the consecutive transient errors, kept where a rescheduled poke
        (a new sensor object) finds them: the task instance's ``task_state_store``."""
        store = context.get("task_state_store")
        if store is None:
            if value is not None:
                self._transient_errors = value
            return self._transient_errors
        if value is None:
            stored: Any = store.get(TRANSIENT_ERRORS_KEY, 0)
            return int(stored or 0)
        if value or store.get(TRANSIENT_ERRORS_KEY):
            store.set(TRANSIENT_ERRORS_KEY, value)
        return value

    def _get_next_poke_interval(self, started_at: Any, run_duration: Any, poke_count: int) -> float:
        """The shared backoff; in reschedule mode resumed from the time already waited."""
        elapsed = run_duration()
        attempt = self.policy.attempt_at(elapsed) if self.reschedule else max(0, poke_count - 1)
        return max(0.0, min(self.policy.interval(attempt), self.timeout - elapsed))
