"""``CancelTuningJobOperator``: cancel one tuning job, or every active job carrying some labels.

Also importable as ``airflow_tuning.operators.tuning.CancelTuningJobOperator``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_tuning.common.rendered import is_template
from airflow_tuning.jobs.states import is_ended, short_state
from airflow_tuning.links import TuningJobLink
from airflow_tuning.tasks.job_task import TuningJobTask

if TYPE_CHECKING:
    from airflow.sdk import Context

_ONE_TARGET = "CancelTuningJobOperator needs exactly one of tuning_job_name and labels"


class CancelTuningJobOperator(TuningJobTask):
    """Cancel one tuning job, or every active job carrying ``labels``, and wait until they have ended.

    An already-ended job is a logged no-op. Returns one summary for ``tuning_job_name``, or a list of
    summaries (possibly empty) for ``labels``.

    :param tuning_job_name: full name or bare id (the connection's project and location complete it).
    :param labels: cancel every not-ended job carrying all of these labels (Vertex AI).
    :param deferrable: wait for the cancellation in the triggerer (True) or on the worker.
    :param wait_for_completion: False returns right after asking for the cancellation.
    :param timeout: give up waiting after this long.

    ``backend``, ``gcp_conn_id``, ``poll`` and the poll keywords are those of
    ``airflow_tuning.tasks.job_task.TuningJobTask``.

    Returns (XCom ``return_value``): one job summary (``tuning_job``, ``state``, ...) for
    ``tuning_job_name``, or a list of them for ``labels``.
    """

    template_fields: Sequence[str] = ("tuning_job_name", "labels")
    template_fields_renderers = {"labels": "json"}
    operator_extra_links = (TuningJobLink(),)
    ui_color = "#fce8e6"

    def __init__(
        self,
        *,
        tuning_job_name: str | None = None,
        labels: dict[str, str] | None = None,
        deferrable: bool = True,
        wait_for_completion: bool = True,
        timeout: float | timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        templated = is_template(tuning_job_name) or is_template(labels)
        if not templated and (tuning_job_name is None) == (labels is None):
            raise ValueError(_ONE_TARGET)
        self.tuning_job_name = tuning_job_name
        self.labels = labels
        self.deferrable, self.wait_for_completion, self.timeout = deferrable, wait_for_completion, timeout

    def execute(self, context: Context) -> Any:
        from airflow_tuning.jobs.identity import validate_labels

        job_name, wanted_labels = self._targets()
        if (job_name is None) == (wanted_labels is None):
            raise AirflowFailException(f"{_ONE_TARGET} (got tuning_job_name={job_name!r}, labels={wanted_labels!r})")
        client = self._tunings_client()
        if job_name is not None:
            name = self._qualified(job_name)
            jobs = [self.service.get(client, name)]
            self._announce(context, name)
        else:
            try:
                labels = validate_labels(wanted_labels, what="labels")
                if not labels:
                    raise ValueError("labels must not be empty: that would cancel every job in the project")
                jobs = self.service.find_active(client, labels)
            except ValueError as err:
                raise AirflowFailException(str(err)) from None
            self.log.info("%d active tuning job(s) carry labels %s", len(jobs), labels)
        waiting = []
        for job in jobs:
            if is_ended(job.state):
                self.log.info("Tuning job %s already ended %s; nothing to cancel", job.name, short_state(job.state))
            elif self.service.cancel(client, job.name, self.log):
                waiting.append(job.name)
        if not self.wait_for_completion or not waiting:
            return self._result([self.service.summarize(self.service.get(client, job.name)) for job in jobs])
        if self.deferrable:
            self._defer_on(waiting, cancel_on_kill=False, timeout=self._wait_timeout())
        result = self._wait_here(waiting, self.timeout)
        if result.outcome != "ended":
            raise AirflowException(result.message)
        return self._result([self.service.summarize(result.jobs.get(job.name) or job) for job in jobs])

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        if event.get("status") in ("timeout", "error"):
            raise AirflowException(event.get("message"))
        summaries = {s["tuning_job"]: s for s in event.get("summaries") or []}
        job_name, _ = self._targets()
        if job_name is not None:
            name = self._qualified(job_name)
            summary = summaries.get(name) or self.service.summarize(self.service.get(self._tunings_client(), name))
            return self._result([summary])
        return self._result(list(summaries.values()))

    def _wait_timeout(self) -> Any:
        return self.timeout if self.timeout is not None else self.execution_timeout

    def _qualified(self, job_name: str) -> str:
        try:
            return self.service.qualify(job_name, self.hook)
        except ValueError as err:
            raise AirflowFailException(str(err)) from None

    def _targets(self) -> tuple[str | None, Any]:
        """The rendered name and labels; from a form, "no value" arrives as None, "" or {}: "not given"."""
        return (self.tuning_job_name or "").strip() or None, self.labels or None

    def _result(self, summaries: list[dict[str, Any]]) -> Any:
        self._cancelled = summaries
        for summary in summaries:
            self.log.info(
                "Tuning job %s is %s", summary["tuning_job"], summary["state"].removeprefix("JOB_STATE_")
            )
        return summaries[0] if self._targets()[0] is not None else summaries

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """No data moves: a run facet naming the jobs and the states they ended in."""
        from airflow_tuning.tasks.lineage import operator_lineage

        jobs = {s.get("tuning_job"): s.get("state") for s in getattr(self, "_cancelled", [])}
        return operator_lineage(run_facets={"gemini_tuning_cancel": {"jobs": jobs}})

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        return self.get_openlineage_facets_on_complete(task_instance)
