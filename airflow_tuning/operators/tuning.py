"""Start, continue and cancel Vertex AI tuning jobs as deferrable, retry-safe, cancellable tasks.

Retry safety has two layers. Airflow 3.3's ``ResumableJobMixin`` keeps the job name in ``task_state_store``
and reconnects on a retry; underneath it, every job carries retry-identity labels (see
``airflow_tuning.jobs.identity``) and a new submission first looks for a job of the same task instance and
request, which also covers a worker that died between "submitted" and "saved". Both layers work for the
deferrable and the synchronous path: the deferral happens inside the mixin's ``poll_until_complete``.

No killed task leaves a job running: ``on_kill`` cancels on the worker, ``TuningJobTrigger.on_kill`` while
deferred, and a wait that gives up (``timeout``, an error that is not transient) cancels before failing; an
API outage never ends a wait (``airflow_tuning.jobs.outage``).

The service is chosen once, when the task is defined (``backend=``, see :mod:`airflow_tuning.backends`), and
carried as an object: ``gemini_api`` runs the same lifecycle on the Gemini Developer API (in-line examples,
retry identity in the tuned model's id) without a branch here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import ResumableJobMixin
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_tuning.backends.base import InvalidRequest
from airflow_tuning.common.rendered import is_template, validate_unless_template
from airflow_tuning.jobs.method import METHOD_ARGUMENTS, TuningMethod
from airflow_tuning.jobs.polling import deadline_after
from airflow_tuning.jobs.request import REQUEST_ARGUMENTS, method_arguments, validate_pre_tuned_model
from airflow_tuning.jobs.states import SUCCEEDED, is_ended, short_state, state_name
from airflow_tuning.links import TuningJobLink
from airflow_tuning.operators.cancel import CancelTuningJobOperator
from airflow_tuning.operators.continue_or_bootstrap import check_continue_arguments, choose_source
from airflow_tuning.tasks.job_task import TuningJobTask, task_ref

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_tuning.jobs.watch import WaitResult

# Only what defining a task needs is imported above; the budget, outage, summary and wait machinery is
# imported by the methods that run a job, so parsing a DAG does not pay for it.

_REQUEST_CHANGED = "REQUEST_CHANGED"
_GONE = "GONE"


class CreateTuningJobOperator(ResumableJobMixin, TuningJobTask):
    """Start a tuning job on Vertex AI (supervised, preference or distillation) and wait for it (by default in
    the triggerer).

    Submits with google-genai ``tunings.tune`` and a typed ``CreateTuningJobConfig``. Returns and pushes as
    XCom the job summary (see ``airflow_tuning.jobs.summary.SUMMARY_KEYS``); pushes ``tuning_job_name`` and
    the console URL (``tuning_job_link``) as soon as the job exists.

    :param base_model: model to tune, e.g. ``gemini-2.5-flash``. Give this or ``pre_tuned_model``.
    :param training_dataset_uri: ``gs://`` JSONL with Vertex ``contents`` examples.
    :param validation_dataset_uri: optional ``gs://`` JSONL for validation metrics.
    :param epoch_count: hyperparameter; a template rendering ``"3"`` is accepted.
    :param learning_rate_multiplier: hyperparameter.
    :param adapter_size: 1, 2, 4, 8, 16, 32 or ``ADAPTER_SIZE_*``.
    :param tuned_model_display_name: display name of the tuned model: the name of the logical model. Its
        jobs carry the label ``logical_model`` naming it (see ``airflow_tuning.jobs.logical_model``).
    :param continue_from_alias: e.g. ``"champion"``: decide at run time. A version of the model named
        ``tuned_model_display_name`` holds the alias: continuous tuning from it (its default checkpoint),
        adding a version to that registry model; none does: tune ``base_model`` (bootstrap). The summary's
        ``continued_from`` says which (``projects/../models/ID@VERSION``, or None). Several registry models
        of that name holding the alias fail the task with a message naming them. A retry keeps its first
        try's decision when it reattaches to that try's job.
    :param description: job description.
    :param labels: job labels (Vertex rules); retry-identity labels are added.
    :param evaluation_config: ``types.EvaluationConfig`` or its dict form.
    :param export_last_checkpoint_only: export only the last checkpoint.
    :param pre_tuned_model: tuned model to continue from (prefer ``ContinueTuningOperator``).
    :param checkpoint_id: checkpoint of ``pre_tuned_model`` to continue from.
    :param method: ``"supervised"`` (default), ``"preference"`` (training data in the preference format:
        ``contents`` plus a pair of completions scored 1 and 0) or ``"distillation"`` (a prompt dataset: the
        teacher answers, the student learns). A ``TuningMethod`` works too. The summary's ``tuning_method``
        says which ran; its data statistics are the job's ``tuningDataStats`` variant for that method.
    :param beta: ``preference`` hyperparameter: how far the tuned model may move from the model it starts
        from.
    :param base_teacher_model: ``distillation``: the teacher, e.g. ``gemini-3.1-pro``. Give this or
        ``tuned_teacher_model_source``.
    :param tuned_teacher_model_source: ``distillation``: a tuned model as the teacher,
        ``projects/../models/ID[@VERSION]``.
    :param sft_loss_weight_multiplier: ``distillation`` hyperparameter: weight of the supervised loss.
    :param deferrable: wait in the triggerer (True) or on the worker.
    :param wait_for_completion: False returns right after submission (use ``TuningJobSensor`` later).
    :param timeout: give up waiting after this long: cancel the job (if ``cancel_on_kill``) and fail.
        Default: no limit of its own; a deferred wait then honours ``execution_timeout`` the same way.
    :param cancel_on_kill: cancel the job when the task is killed or times out.
    :param soft_fail: skip instead of failing when the job ends CANCELLED or EXPIRED.
    :param training_examples: ``gemini_api``: the in-line examples, as a list of ``{"text_input", "output"}``
        pairs (or ``[input, output]``, or single-turn Vertex examples), a JSONL file (local or ``gs://``),
        or ``UploadDatasetOperator``'s result; default ``training_dataset_uri``. Checked before any call:
        input <= 40,000 characters, output <= 5,000, single-turn text pairs only.
    :param batch_size: ``gemini_api`` hyperparameter.
    :param learning_rate: ``gemini_api`` hyperparameter (or ``learning_rate_multiplier``, not both).
    :param max_billable_tokens: budget: fail before submitting (no job created) when the estimated billable
        training tokens (dataset tokens x epochs) exceed this.
    :param max_cost_usd: budget: fail before submitting when the estimated cost exceeds this many USD; a base
        model without a known price is then an error. The estimate is logged and pushed to XCom
        ``cost_estimate``; the summary adds ``cost_estimate`` and ``cost`` (from the job's own
        ``tuningDataStats``). See :mod:`airflow_tuning.jobs.cost`.
    :param tuning_prices: USD per 1M training tokens per base model, over the shipped list prices and the
        connection's ``tuning_prices`` extra, e.g. ``{"gemini-2.5-flash": 4.0}``.

    Arguments of the tuning-task base (``airflow_tuning.tasks.job_task.TuningJobTask``): ``poll`` (the poll
    policy, a ``PollPolicy`` or a mapping; ``poll_interval``, ``max_poll_interval``, ``poll_multiplier``,
    ``poll_jitter`` and ``max_transient_errors`` also work as separate arguments), ``gcp_conn_id`` (a
    ``gemini_tuning`` connection) and ``backend``: ``vertex`` (default), ``gemini_api`` or a
    ``TuningService``. With ``gemini_api`` the job runs on the Gemini Developer API with the connection's
    ``gemini_api_key``; the summary's ``tuning_job`` is then the run's operation and ``tuned_model`` /
    ``endpoint`` the ``tunedModels/{id}`` to call; Vertex-only arguments are refused. ``durable`` keeps the
    job name in ``task_state_store`` for retries (``ResumableJobMixin``).

    Returns (XCom ``return_value``): the job summary, a dict with ``tuning_job``, ``state``, ``tuned_model``,
    ``endpoint``, ``checkpoints``, ``base_model``, ``pre_tuned_model``, ``training_dataset_uri``,
    ``validation_dataset_uri``, ``console_url``, ``create_time``, ``end_time``. Also pushed, before any
    wait: ``tuning_job_name`` and ``tuning_job_link``.

    :raises AirflowException: the job ended FAILED (Vertex AI's message is quoted), or the wait timed out.
    :raises AirflowSkipException: with ``soft_fail``, the job ended CANCELLED or EXPIRED.
    :raises ValueError: invalid arguments, when the DAG is parsed (or when templates render).
    """

    template_fields: Sequence[str] = (
        "base_model", "pre_tuned_model", "checkpoint_id", "training_dataset_uri", "validation_dataset_uri",
        "tuned_model_display_name", "description", "labels", "epoch_count", "learning_rate_multiplier",
        "adapter_size", "export_last_checkpoint_only", "training_examples", "batch_size", "learning_rate",
        "continue_from_alias", *METHOD_ARGUMENTS,
        "max_billable_tokens", "max_cost_usd", "tuning_prices",
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
        method: str | TuningMethod | None = None,
        beta: float | str | None = None,
        base_teacher_model: str | None = None,
        tuned_teacher_model_source: str | None = None,
        sft_loss_weight_multiplier: float | str | None = None,
        deferrable: bool = True,
        wait_for_completion: bool = True,
        timeout: float | timedelta | None = None,
        cancel_on_kill: bool = True,
        soft_fail: bool = False,
        training_examples: Any = None,
        batch_size: int | str | None = None,
        learning_rate: float | str | None = None,
        continue_from_alias: str | None = None,
        max_billable_tokens: int | str | None = None,
        max_cost_usd: float | str | None = None,
        tuning_prices: dict[str, float] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_billable_tokens, self.max_cost_usd = max_billable_tokens, max_cost_usd
        self.tuning_prices = tuning_prices
        self.training_examples, self.batch_size, self.learning_rate = training_examples, batch_size, learning_rate
        self.base_model, self.pre_tuned_model, self.checkpoint_id = base_model, pre_tuned_model, checkpoint_id
        self.training_dataset_uri, self.validation_dataset_uri = training_dataset_uri, validation_dataset_uri
        self.epoch_count, self.learning_rate_multiplier = epoch_count, learning_rate_multiplier
        self.adapter_size, self.labels, self.description = adapter_size, labels, description
        self.tuned_model_display_name = tuned_model_display_name
        self.evaluation_config = evaluation_config
        self.export_last_checkpoint_only = export_last_checkpoint_only
        self.method = TuningMethod.parse(method)
        self.beta, self.sft_loss_weight_multiplier = beta, sft_loss_weight_multiplier
        self.base_teacher_model, self.tuned_teacher_model_source = base_teacher_model, tuned_teacher_model_source
        method_values = {name: getattr(self, name) for name in METHOD_ARGUMENTS}
        if not any(is_template(value) for value in method_values.values()):
            method_arguments(self.method, method_values)  # refused when the DAG is parsed, naming the argument
        self.service.check_arguments(type(self).__name__, self._arguments())
        check_continue_arguments(
            service=self.service, continue_from_alias=continue_from_alias, display_name=tuned_model_display_name,
            base_model=base_model, pre_tuned_model=pre_tuned_model, checkpoint_id=checkpoint_id,
        )  # fmt: skip
        self.continue_from_alias = continue_from_alias
        self.deferrable, self.wait_for_completion, self.timeout = deferrable, wait_for_completion, timeout
        self.cancel_on_kill, self.soft_fail = cancel_on_kill, soft_fail
        self._job: Any = None
        self._job_name: str | None = None
        self._result: dict[str, Any] | None = None

    def _arguments(self) -> dict[str, Any]:
        """The request as the task holds it (rendered once the task runs)."""
        names = (*REQUEST_ARGUMENTS, "training_examples", "batch_size", "learning_rate")
        return {name: getattr(self, name) for name in names}

    # -- execute -----------------------------------------------------------------------------------------
    def execute(self, context: Context) -> Any:
        open_object = lambda uri: self.hook.open_object(uri, what="training_examples")  # noqa: E731
        try:
            arguments = choose_source(self, task_ref(context), self._arguments())
            self._submission = self.service.prepare(arguments, task_ref(context), open_object)
        except InvalidRequest as err:  # a bad request does not get better on retry
            raise AirflowFailException(str(err)) from None
        from airflow_tuning.tasks.budget import enforce_budget

        self._estimate = enforce_budget(self, context, getattr(self._submission, "request", None))
        return self._with_cost(context, self.execute_resumable(context))

    # -- ResumableJobMixin ---------------------------------------------------------------------------------
    def submit_job(self, context: Context) -> str:
        """Reattach to this task instance's job for the same request if one is usable, else submit."""
        client, retry = self._tunings_client(), self.hook.settings.retry
        job = self.service.submit(client, self._submission, retry=retry, log=self.log)
        self._attach(context, job)
        return job.name

    def get_job_status(self, external_id: Any, context: Context) -> str:
        """The stored job's state; rides out an API outage (until ``timeout``) instead of failing the retry."""
        from airflow_tuning.jobs.outage import get_when_available

        job = get_when_available(
            self._tunings_client(), str(external_id), self.policy, deadline_after(self.timeout), self.log
        )
        if job is None:
            self.log.warning("Stored tuning job %s no longer exists; looking for this task's job anew", external_id)
            return _GONE
        if not self.service.owns(self._submission, job):
            self.log.warning(
                "Stored tuning job %s was submitted for a different request; not reusing it", job.name
            )
            return _REQUEST_CHANGED
        self._job = job
        return state_name(job.state)

    def is_job_active(self, status: str) -> bool:
        return status not in (_REQUEST_CHANGED, _GONE) and not is_ended(status)

    def is_job_succeeded(self, status: str) -> bool:
        return status == SUCCEEDED

    # Returns the result too (the mixin ignores it; get_job_result reads the same self._result).
    def poll_until_complete(self, external_id: Any, context: Context) -> dict[str, Any] | None:  # type: ignore[override]
        job = self._current_job(str(external_id), context)
        if not self.wait_for_completion:
            self.log.info("Not waiting for tuning job %s (state %s)", job.name, short_state(job.state))
            self._result = self._lineage_summary = self.service.summarize(job)
        elif is_ended(job.state):
            self._result = self._finish(job)
        elif self.deferrable:
            # Without ``timeout`` the task's ``execution_timeout`` bounds the wait, so that the trigger
            # (which cancels) rather than a bare deferral timeout ends it.
            timeout = self.timeout if self.timeout is not None else self.execution_timeout
            self._defer_on([job.name], cancel_on_kill=self.cancel_on_kill, timeout=timeout)
        else:
            self._result = self._finish_wait(self._wait_here([job.name], self.timeout), job.name)
        return self._result

    def get_job_result(self, external_id: Any, context: Context) -> dict[str, Any] | None:
        if self._result is None:
            self._result = self._finish(self._current_job(str(external_id), context))
        return self._result

    # -- completion ------------------------------------------------------------------------------------------
    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after ``TuningJobTrigger``: return the summary, or fail / skip as the job ended."""
        from airflow_tuning.jobs.watch import event_verdict

        summary = event.get("summary") or {}
        self._job_name = summary.get("tuning_job")
        return self._with_cost(context, self._outcome(event_verdict(event, soft_fail=self.soft_fail), summary))

    def _with_cost(self, context: Context, result: Any) -> Any:
        """Add the job's cost (and the pre-submission estimate, if any) to the summary."""
        from airflow_tuning.jobs.cost import COST_ESTIMATE_XCOM_KEY
        from airflow_tuning.tasks.budget import with_cost

        if not isinstance(result, dict):
            return result
        est = getattr(self, "_estimate", None)
        est = est.as_dict() if est is not None else context["ti"].xcom_pull(
            task_ids=context["ti"].task_id, key=COST_ESTIMATE_XCOM_KEY
        )
        return with_cost(result, self.hook, self.tuning_prices, est)

    def _current_job(self, name: str, context: Context) -> Any:
        job = self._job if self._job is not None and self._job.name == name else None
        job = job or self.service.get(self._tunings_client(), name)
        self._attach(context, job)
        return job

    def _attach(self, context: Context, job: Any) -> None:
        """Remember the job (for ``on_kill``) and push its name and console link before any wait."""
        self._lineage_job = job
        if self._job_name == job.name:
            return
        self._job, self._job_name = job, job.name
        url = self._announce(context, job.name)
        self.log.info("Tuning job %s is %s; console: %s", job.name, short_state(job.state), url or "none")

    def _finish(self, job: Any) -> dict[str, Any]:
        from airflow_tuning.jobs.summary import error_message, judge

        summary = self.service.summarize(job)
        return self._outcome(judge(summary, error_message(job), soft_fail=self.soft_fail), summary)

    def _finish_wait(self, result: WaitResult, name: str) -> dict[str, Any]:
        if result.outcome == "ended":
            return self._finish(result.jobs[name])
        raise AirflowException(self._give_up(result, [name], cancel=self.cancel_on_kill))

    def _lineage_request(self) -> dict[str, Any]:
        """The rendered request, for lineage: method, hyperparameters, data and parent model."""
        names = ("epoch_count", "learning_rate_multiplier", "adapter_size", "batch_size", "learning_rate")
        return {
            "method": self.method.value,
            "hyperparameters": {name: getattr(self, name) for name in names},
            "training_dataset_uri": self.training_dataset_uri,
            "validation_dataset_uri": self.validation_dataset_uri,
            "pre_tuned_model": self.pre_tuned_model,
        }

    def on_kill(self) -> None:
        """The worker is killing this task (or it hit execution_timeout): cancel the running job."""
        if not (self.cancel_on_kill and self._job_name):
            return
        try:
            self.service.cancel(self._tunings_client(), self._job_name, self.log)
        except Exception as err:
            self.log.error(
                "Could not cancel tuning job %s on kill: %s: %s", self._job_name, type(err).__name__, err
            )


class ContinueTuningOperator(CreateTuningJobOperator):
    """Continuous tuning: tune an already tuned model (optionally from one checkpoint) on more data.

    :param pre_tuned_model: ``projects/{p}/locations/{l}/models/{id}@{version or alias}``; a malformed name
        fails before any API call (at DAG parse time unless templated) with the expected form.
    :param training_dataset_uri: ``gs://`` JSONL with the new Vertex ``contents`` examples.
    :param checkpoint_id: checkpoint of that model version to start from (default: its default checkpoint).

    All other arguments are those of ``CreateTuningJobOperator`` (``base_model`` is not accepted).

    Returns (XCom ``return_value``): the job summary, as ``CreateTuningJobOperator`` returns it; the new
    version is ``tuned_model`` (``projects/P/locations/L/models/ID@VERSION``).
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
        validate_unless_template(pre_tuned_model, validate_pre_tuned_model)
        super().__init__(
            pre_tuned_model=pre_tuned_model,
            training_dataset_uri=training_dataset_uri,
            checkpoint_id=checkpoint_id,
            **kwargs,
        )

__all__ = ["CancelTuningJobOperator", "ContinueTuningOperator", "CreateTuningJobOperator"]
