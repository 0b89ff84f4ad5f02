"""Start, continue and cancel Vertex AI tuning jobs as deferrable, retry-safe, cancellable tasks.

Retry safety has two layers. Airflow 3.3's ``ResumableJobMixin`` keeps the job name in ``task_state_store``
and reconnects on a retry; underneath it, every job carries retry-identity labels (see
``airflow_tuning.jobs.identity``) and a new submission first looks for a job of the same task instance and
request, which also covers a worker that died between "submitted" and "saved". Both layers work for the
deferrable and the synchronous path: the deferral happens inside the mixin's ``poll_until_complete``.

No killed task leaves a job running: ``on_kill`` cancels on the worker, ``TuningJobTrigger.on_kill`` while
deferred, and a deferred wait that reaches ``timeout`` cancels before failing.

``backend="gemini_api"`` runs the same lifecycle on the Gemini Developer API (see
``airflow_tuning.operators.gemini_api``): in-line examples, retry identity in the tuned model's id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, ResumableJobMixin
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from airflow_tuning.backends.gemini_api.jobs import GEMINI_API, VERTEX, check_backend
from airflow_tuning.backends.vertex.jobs import (
    find_active_with_labels,
    find_reattachable,
    qualify_job_name,
    start_tuning_job,
)
from airflow_tuning.hooks.task import TuningJobWaitingMixin
from airflow_tuning.hooks.tuning import GeminiTuningHook
from airflow_tuning.jobs.identity import REQUEST_LABEL, TaskIdentity, request_fingerprint, validate_labels
from airflow_tuning.jobs.polling import (
    DEFAULT_MAX_POLL_INTERVAL,
    DEFAULT_MAX_TRANSIENT_ERRORS,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_POLL_JITTER,
    DEFAULT_POLL_MULTIPLIER,
)
from airflow_tuning.jobs.request import REQUEST_ARGUMENTS, TuningRequest, validate_pre_tuned_model
from airflow_tuning.jobs.states import SUCCEEDED, is_ended, short_state, state_name
from airflow_tuning.jobs.summary import error_message, judge, summarize
from airflow_tuning.jobs.watch import WaitResult, cancel_job, event_verdict
from airflow_tuning.links import TuningJobLink
from airflow_tuning.operators.gemini_api import GeminiApiSubmission, persist_job

if TYPE_CHECKING:
    from airflow.sdk import Context

_REQUEST_CHANGED = "REQUEST_CHANGED"
_ONE_TARGET = "CancelTuningJobOperator needs exactly one of tuning_job_name and labels"


class CreateTuningJobOperator(TuningJobWaitingMixin, ResumableJobMixin, BaseOperator):
    """Start a supervised tuning job on Vertex AI and (by default) wait for it in the triggerer.

    Submits with google-genai ``tunings.tune`` and a typed ``CreateTuningJobConfig``. Returns and pushes as
    XCom the job summary (see ``airflow_tuning.jobs.summary.SUMMARY_KEYS``); pushes ``tuning_job_name`` and
    the console URL (``tuning_job_link``) as soon as the job exists.

    :param base_model: model to tune, e.g. ``gemini-2.5-flash``. Give this or ``pre_tuned_model``.
    :param training_dataset_uri: ``gs://`` JSONL with Vertex ``contents`` examples.
    :param validation_dataset_uri: optional ``gs://`` JSONL for validation metrics.
    :param epoch_count: hyperparameter; a template rendering ``"3"`` is accepted.
    :param learning_rate_multiplier: hyperparameter.
    :param adapter_size: 1, 2, 4, 8, 16, 32 or ``ADAPTER_SIZE_*``.
    :param tuned_model_display_name: display name of the tuned model.
    :param description: job description.
    :param labels: job labels (Vertex rules); retry-identity labels are added.
    :param evaluation_config: ``types.EvaluationConfig`` or its dict form.
    :param export_last_checkpoint_only: export only the last checkpoint.
    :param pre_tuned_model: tuned model to continue from (prefer ``ContinueTuningOperator``).
    :param checkpoint_id: checkpoint of ``pre_tuned_model`` to continue from.
    :param deferrable: wait in the triggerer (True) or on the worker.
    :param wait_for_completion: False returns right after submission (use ``TuningJobSensor`` later).
    :param poll_interval: first wait between polls (s); grows by ``poll_multiplier`` up to
        ``max_poll_interval``, shortened by up to ``poll_jitter``.
    :param max_transient_errors: consecutive transient poll errors tolerated.
    :param timeout: give up waiting after this long: cancel the job (if ``cancel_on_kill``) and fail.
        Default: no limit of its own; a deferred wait then honours ``execution_timeout`` the same way.
    :param cancel_on_kill: cancel the job when the task is killed or times out.
    :param soft_fail: skip instead of failing when the job ends CANCELLED or EXPIRED.
    :param durable: keep the job name in ``task_state_store`` for retries (``ResumableJobMixin``).
    :param gcp_conn_id: ``gemini_tuning`` connection.
    :param backend: ``vertex`` (default) or ``gemini_api``: tune on the Gemini Developer API with the
        connection's ``gemini_api_key``. The summary's ``tuning_job`` is then the run's operation and
        ``tuned_model``/``endpoint`` the ``tunedModels/{id}`` to call; Vertex-only arguments are refused.
    :param training_examples: ``gemini_api``: the in-line examples, as a list of ``{"text_input", "output"}``
        pairs (or ``[input, output]``, or single-turn Vertex examples), a JSONL file (local or ``gs://``),
        or ``UploadDatasetOperator``'s result; default ``training_dataset_uri``. Checked before any call:
        input <= 40,000 characters, output <= 5,000, single-turn text pairs only.
    :param batch_size: ``gemini_api`` hyperparameter.
    :param learning_rate: ``gemini_api`` hyperparameter (or ``learning_rate_multiplier``, not both).
    """

    template_fields: Sequence[str] = (
        "base_model", "pre_tuned_model", "checkpoint_id", "training_dataset_uri", "validation_dataset_uri",
        "tuned_model_display_name", "description", "labels", "epoch_count", "learning_rate_multiplier",
        "adapter_size", "export_last_checkpoint_only", "training_examples", "batch_size", "learning_rate",
    )  # fmt: skip
    template_fields_renderers = {"labels": "json"}
    operator_extra_links = (TuningJobLink(),)
    external_id_key = "tuning_job_name"
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        training_dataset_uri: str | None = None,
        base_model: str | None = None,
        validation_dataset_uri: str | None = None,
        epoch_count: int | str | None = None,
        learning_rate_multiplier: float | str | None = None,
        adapter_size: int | str | None = None,
        tuned_model_display_name: str | None = None,
        description: str | None = None,
        labels: dict[str, str] | None = None,
        evaluation_config: Any = None,
        export_last_checkpoint_only: bool | None = None,
        pre_tuned_model: str | None = None,
        checkpoint_id: str | None = None,
        deferrable: bool = True,
        wait_for_completion: bool = True,
        poll_interval: float | timedelta = DEFAULT_POLL_INTERVAL,
        max_poll_interval: float | timedelta = DEFAULT_MAX_POLL_INTERVAL,
        poll_multiplier: float = DEFAULT_POLL_MULTIPLIER,
        poll_jitter: float = DEFAULT_POLL_JITTER,
        max_transient_errors: int = DEFAULT_MAX_TRANSIENT_ERRORS,
        timeout: float | timedelta | None = None,
        cancel_on_kill: bool = True,
        soft_fail: bool = False,
        gcp_conn_id: str = GeminiTuningHook.default_conn_name,
        backend: str = VERTEX,
        training_examples: Any = None,
        batch_size: int | str | None = None,
        learning_rate: float | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.backend = check_backend(backend)
        if backend == VERTEX and training_dataset_uri is None:
            raise TypeError(f"{type(self).__name__} needs training_dataset_uri (a gs:// JSONL file)")
        if backend == VERTEX and any(v is not None for v in (training_examples, batch_size, learning_rate)):
            raise ValueError("training_examples, batch_size and learning_rate need backend='gemini_api'")
        self.training_examples, self.batch_size, self.learning_rate = training_examples, batch_size, learning_rate
        self.base_model, self.pre_tuned_model, self.checkpoint_id = base_model, pre_tuned_model, checkpoint_id
        self.training_dataset_uri, self.validation_dataset_uri = training_dataset_uri, validation_dataset_uri
        self.epoch_count, self.learning_rate_multiplier = epoch_count, learning_rate_multiplier
        self.adapter_size, self.labels, self.description = adapter_size, labels, description
        self.tuned_model_display_name = tuned_model_display_name
        self.evaluation_config = evaluation_config
        self.export_last_checkpoint_only = export_last_checkpoint_only
        self.cancel_on_kill, self.soft_fail = cancel_on_kill, soft_fail
        self._init_waiting(
            gcp_conn_id, deferrable, wait_for_completion, timeout, poll_interval=poll_interval,
            max_poll_interval=max_poll_interval, poll_multiplier=poll_multiplier, poll_jitter=poll_jitter,
            max_transient_errors=max_transient_errors,
        )  # fmt: skip
        self._job: Any = None
        self._job_name: str | None = None
        self._result: dict[str, Any] | None = None

    # -- execute -----------------------------------------------------------------------------------------
    def execute(self, context: Context) -> Any:
        if self.backend == GEMINI_API:
            self._submission = GeminiApiSubmission.prepare(self, context, self.hook)
            return self.execute_resumable(context)
        try:
            request = TuningRequest.build(**{name: getattr(self, name) for name in REQUEST_ARGUMENTS})
        except ValueError as err:  # a bad request does not get better on retry
            raise AirflowFailException(f"Invalid tuning request: {err}") from None
        ti = context["ti"]
        self._request = request
        self._identity = TaskIdentity(
            dag_id=ti.dag_id,
            task_id=ti.task_id,
            run_id=ti.run_id,
            map_index=ti.map_index if ti.map_index is not None else -1,
            fingerprint=request_fingerprint(request.fingerprint_payload()),
        )
        return self.execute_resumable(context)

    # -- ResumableJobMixin ---------------------------------------------------------------------------------
    def submit_job(self, context: Context) -> str:
        """Reattach to this task instance's job for the same request if one is usable, else submit."""
        if self.backend == GEMINI_API:
            job = self._submission.submit(self.hook.get_gemini_api_client(), self.log)
            self._attach(context, job)
            return job.name
        client = self.hook.get_genai_client()
        job, decision = find_reattachable(client, self._identity)
        self.log.info("Retry identity %s: %s", self._identity.key, decision.reason)
        if job is None:
            request = self._request.with_labels(self._identity.merged_labels(self._request.labels))
            job = start_tuning_job(
                client,
                request,
                retry=self.hook.settings.retry,
                find_existing=lambda: find_reattachable(client, self._identity)[0],
                log=self.log,
            )
            self.log.info(
                "Submitted tuning job %s (tuning %s on %s)",
                job.name,
                request.source_model,
                request.training_dataset_uri,
            )
        self._attach(context, job)
        return job.name

    def get_job_status(self, external_id: Any, context: Context) -> str:
        job = self._tunings_client().tunings.get(name=str(external_id))
        if self.backend == GEMINI_API:
            same_request = self._submission.owns(job)
        else:
            same_request = (job.labels or {}).get(REQUEST_LABEL) == self._identity.fingerprint
        if not same_request:
            self.log.warning(
                "Stored tuning job %s was submitted for a different request; not reusing it", job.name
            )
            return _REQUEST_CHANGED
        self._job = job
        return state_name(job.state)

    def is_job_active(self, status: str) -> bool:
        return status != _REQUEST_CHANGED and not is_ended(status)

    def is_job_succeeded(self, status: str) -> bool:
        return status == SUCCEEDED

    def poll_until_complete(self, external_id: Any, context: Context) -> dict[str, Any] | None:
        job = self._current_job(str(external_id), context)
        if not self.wait_for_completion:
            self.log.info("Not waiting for tuning job %s (state %s)", job.name, short_state(job.state))
            self._result = summarize(job)
        elif is_ended(job.state):
            self._result = self._finish(summarize(job), error_message(job))
        elif self.deferrable:
            self._defer_on([job.name], cancel_on_kill=self.cancel_on_kill)
        else:
            self._result = self._finish_wait(self._wait_here([job.name]), job.name)
        return self._result

    def get_job_result(self, external_id: Any, context: Context) -> dict[str, Any] | None:
        if self._result is None:
            job = self._current_job(str(external_id), context)
            self._result = self._finish(summarize(job), error_message(job))
        return self._result

    # -- completion ------------------------------------------------------------------------------------------
    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after ``TuningJobTrigger``: return the summary, or fail / skip as the job ended."""
        summary = event.get("summary") or {}
        self._job_name = summary.get("tuning_job")
        verdict = event_verdict(event, soft_fail=self.soft_fail)
        return self._apply(verdict.action, verdict.message, summary)

    def _current_job(self, name: str, context: Context) -> Any:
        job = self._job if self._job is not None and self._job.name == name else None
        job = job or self._tunings_client().tunings.get(name=name)
        self._attach(context, job)
        return job

    def _attach(self, context: Context, job: Any) -> None:
        """Remember the job (for ``on_kill``) and push its name and console link before any wait."""
        if self._job_name == job.name:
            return
        self._job, self._job_name = job, job.name
        url = persist_job(context, job.name, self.backend)
        self.log.info("Tuning job %s is %s; console: %s", job.name, short_state(job.state), url or "none")

    def _finish(self, summary: dict[str, Any], error: str | None) -> dict[str, Any]:
        verdict = judge(summary, error, soft_fail=self.soft_fail)
        return self._apply(verdict.action, verdict.message, summary)

    def _finish_wait(self, result: WaitResult, name: str) -> dict[str, Any]:
        if result.outcome == "ended":
            job = result.jobs[name]
            return self._finish(summarize(job), error_message(job))
        if result.outcome == "timeout" and self.cancel_on_kill:
            cancel_job(self._tunings_client(), name, self.log)
        raise AirflowException(result.message)

    def _apply(self, action: str, message: str, summary: dict[str, Any]) -> dict[str, Any]:
        if action == "succeed":
            self.log.info(
                "%s; tuned model %s, endpoint %s",
                message,
                summary.get("tuned_model"),
                summary.get("endpoint"),
            )
            return summary
        if action == "skip":
            raise AirflowSkipException(message)
        raise AirflowException(message)

    def on_kill(self) -> None:
        """The worker is killing this task (or it hit execution_timeout): cancel the running job."""
        if not (self.cancel_on_kill and self._job_name):
            return
        try:
            cancel_job(self._tunings_client(), self._job_name, self.log)
        except Exception as err:
            self.log.error(
                "Could not cancel tuning job %s on kill: %s: %s", self._job_name, type(err).__name__, err
            )


class ContinueTuningOperator(CreateTuningJobOperator):
    """Continuous tuning: tune an already tuned model (optionally from one checkpoint) on more data.

    :param pre_tuned_model: ``projects/{p}/locations/{l}/models/{id}@{version or alias}``; a malformed name
        fails before any API call (at DAG parse time unless templated) with the expected form.
    :param checkpoint_id: checkpoint of that model version to start from (default: its default checkpoint).

    All other arguments are those of ``CreateTuningJobOperator`` (``base_model`` is not accepted).
    """

    def __init__(
        self,
        *,
        pre_tuned_model: str,
        training_dataset_uri: str,
        checkpoint_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("base_model") is not None:
            raise TypeError("ContinueTuningOperator takes pre_tuned_model, not base_model")
        kwargs.pop("base_model", None)
        if isinstance(pre_tuned_model, str) and "{{" not in pre_tuned_model:
            validate_pre_tuned_model(pre_tuned_model)
        super().__init__(
            pre_tuned_model=pre_tuned_model,
            training_dataset_uri=training_dataset_uri,
            checkpoint_id=checkpoint_id,
            **kwargs,
        )


class CancelTuningJobOperator(TuningJobWaitingMixin, BaseOperator):
    """Cancel one tuning job, or every active job carrying ``labels``, and wait until they have ended.

    An already-ended job is a logged no-op. Returns one summary for ``tuning_job_name``, or a list of
    summaries (possibly empty) for ``labels``.

    :param tuning_job_name: full name or bare id (the connection's project and location complete it).
    :param labels: cancel every not-ended job carrying all of these labels.
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
        poll_interval: float | timedelta = DEFAULT_POLL_INTERVAL,
        max_poll_interval: float | timedelta = DEFAULT_MAX_POLL_INTERVAL,
        poll_multiplier: float = DEFAULT_POLL_MULTIPLIER,
        poll_jitter: float = DEFAULT_POLL_JITTER,
        max_transient_errors: int = DEFAULT_MAX_TRANSIENT_ERRORS,
        timeout: float | timedelta | None = None,
        gcp_conn_id: str = GeminiTuningHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        templated = any(isinstance(v, str) and "{{" in v for v in (tuning_job_name, labels))
        if not templated and (tuning_job_name is None) == (labels is None):
            raise ValueError(_ONE_TARGET)
        self.tuning_job_name = tuning_job_name
        self.labels = labels
        self._init_waiting(
            gcp_conn_id, deferrable, wait_for_completion, timeout, poll_interval=poll_interval,
            max_poll_interval=max_poll_interval, poll_multiplier=poll_multiplier, poll_jitter=poll_jitter,
            max_transient_errors=max_transient_errors,
        )  # fmt: skip

    def execute(self, context: Context) -> Any:
        job_name, wanted_labels = self._targets()
        if (job_name is None) == (wanted_labels is None):
            raise AirflowFailException(f"{_ONE_TARGET} (got tuning_job_name={job_name!r}, labels={wanted_labels!r})")
        client = self.hook.get_genai_client()
        if job_name is not None:
            try:
                name = qualify_job_name(job_name, self.hook.project, self.hook.location)
            except ValueError as err:
                raise AirflowFailException(str(err)) from None
            jobs = [client.tunings.get(name=name)]
            TuningJobLink.persist(context, name)
        else:
            try:
                labels = validate_labels(wanted_labels, what="labels")
            except ValueError as err:
                raise AirflowFailException(str(err)) from None
            if not labels:
                raise AirflowFailException(
                    "labels must not be empty: that would cancel every job in the project"
                )
            jobs = find_active_with_labels(client, labels)
            self.log.info("%d active tuning job(s) carry labels %s", len(jobs), labels)
        waiting = []
        for job in jobs:
            if is_ended(job.state):
                self.log.info(
                    "Tuning job %s already ended %s; nothing to cancel",
                    job.name,
                    short_state(job.state),
                )
            elif cancel_job(client, job.name, self.log):
                waiting.append(job.name)
        if not self.wait_for_completion or not waiting:
            return self._result([summarize(client.tunings.get(name=job.name)) for job in jobs])
        if self.deferrable:
            self._defer_on(waiting, cancel_on_kill=False)
        result = self._wait_here(waiting)
        if result.outcome != "ended":
            raise AirflowException(result.message)
        return self._result([summarize(result.jobs.get(job.name) or job) for job in jobs])

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        if event.get("status") in ("timeout", "error"):
            raise AirflowException(event.get("message"))
        summaries = {s["tuning_job"]: s for s in event.get("summaries") or []}
        job_name, _ = self._targets()
        if job_name is not None:
            name = qualify_job_name(job_name, self.hook.project, self.hook.location)
            summary = summaries.get(name) or summarize(self.hook.get_genai_client().tunings.get(name=name))
            return self._result([summary])
        return self._result(list(summaries.values()))

    def _targets(self) -> tuple[str | None, Any]:
        """The rendered name and labels; from a form, "no value" arrives as None, "" or {}: "not given"."""
        return (self.tuning_job_name or "").strip() or None, self.labels or None

    def _result(self, summaries: list[dict[str, Any]]) -> Any:
        for summary in summaries:
            self.log.info(
                "Tuning job %s is %s", summary["tuning_job"], summary["state"].removeprefix("JOB_STATE_")
            )
        return summaries[0] if self._targets()[0] is not None else summaries
