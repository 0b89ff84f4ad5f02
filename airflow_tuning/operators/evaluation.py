"""Judge a freshly tuned model against the champion, and promote it by moving a Model Registry alias.

Together these make scheduled retraining safe: ``EvaluateTunedModelOperator`` fails (or, with
``soft_fail``, skips) unless the challenger meets every threshold and beats the baseline, so the
``PromoteTunedModelOperator`` downstream of it only ever moves ``champion`` to a model that earned it.

Both are synchronous: evaluation is bounded work (one concurrent burst of generateContent calls), and
promotion is two reads and one write. The logic lives in :mod:`airflow_tuning.evaluation`; these classes
read parameters, build clients through the hook, log, and talk to XCom.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from airflow_tuning.backends import TuningService, tuning_service
from airflow_tuning.common.rendered import mapping, optional_float, validate_unless_template
from airflow_tuning.evaluation.checkpoints import LAST, parse_selection
from airflow_tuning.evaluation.metrics import DEFAULT_METRICS, DEFAULT_PRIMARY_METRIC, resolve_metrics
from airflow_tuning.evaluation.registry import validate_alias
from airflow_tuning.evaluation.throttle import DEFAULT_MAX_CONCURRENCY
from airflow_tuning.hooks.tuning import GeminiTuningHook
from airflow_tuning.links import EvaluationReportLink

if TYPE_CHECKING:
    from airflow.sdk import Context

# Imported above: what the arguments' checks need when a DAG is parsed. The gate, the registry and lineage
# code the tasks run are imported inside the methods.

EVALUATION_RESULT_XCOM_KEY = "evaluation_result"


class EvaluateTunedModelOperator(BaseOperator):
    """Evaluate a model on held-out data, compare it with a baseline, and gate on the result.

    :param model: the model to judge: an endpoint (``projects/P/locations/L/endpoints/E``), a Model
        Registry version (``projects/P/locations/L/models/ID@VERSION``, resolved to the endpoint it is
        deployed on), or a base model name. ``models/...`` and ``endpoints/...`` are read in the
        connection's project and location.
    :param eval_dataset_uri: ``gs://`` URI of Vertex supervised-tuning JSONL; in each line the last model
        turn is the reference and every turn before it (plus ``systemInstruction``) the prompt. Preference
        data (Vertex preference lines or TRL ``prompt``/``chosen``/``rejected`` rows) works too: the chosen
        completion is the reference.
    :param baseline: optional model to compare with, in the same forms; ``models/ID@champion`` compares
        with the current champion.
    :param metrics: built-in names (``exact_match``, ``token_f1``, ``rouge_l``, ``bleu``; ``accuracy`` and
        ``macro_f1`` for label answers; ``preference_accuracy`` on preference data: the share of pairs where
        the answer is closer, by ROUGE-L, to the chosen than to the rejected completion) and named callables
        ``fn(prediction, reference) -> float``.
    :param thresholds: minimum corpus value per metric, e.g. ``{"rouge_l": 0.6}``; ``value >= threshold``.
        With a classification metric also per label: ``{"macro_f1": 0.8, "f1:billing": 0.9}``.
    :param label_pattern: regex whose first group (or match) is an answer's label, e.g. ``r"category: (\\w+)"``
        (default: the whole answer); a prediction without a known label is the class ``unknown``.
    :param checkpoints: ``"last"`` (default), ``"all"`` or a list of checkpoint ids of a Model Registry version,
        evaluated on the same data and baseline sharing ``max_concurrency``; the gate judges the best one.
    :param min_improvement: with a baseline, the challenger's ``primary_metric`` must exceed the
        baseline's by at least this much. The default 0.0 means "no worse than the baseline"; None compares
        and reports without gating on the baseline. It applies to the primary metric only, because
        metrics disagree on small differences; thresholds guard every metric's floor.
    :param primary_metric: the metric for ``min_improvement`` and for ranking the worst examples;
        default ``rouge_l`` if computed, else the first metric.
    :param max_examples: evaluate only the first N examples of the file.
    :param generation_config: ``GenerateContentConfig`` fields merged over the deterministic defaults
        (temperature 0, one candidate, seed 0), e.g. ``{"max_output_tokens": 256}``.
    :param max_concurrency: most generateContent calls in flight at once (challenger and baseline share it).
    :param report_uri: ``gs://`` prefix for ``report.json`` and ``report.html``; default
        ``<folder of the eval data>/reports/<run id>/<task id>``.
    :param worst_examples: how many of the weakest examples the report shows in full.
    :param soft_fail: when the gate fails, skip the task instead of failing it, so a DAG can branch.
    :param progress_interval: seconds between progress log lines.
    :param gcp_conn_id: a ``gemini_tuning`` connection, or a ``google_cloud_platform`` one.
    :param location: Vertex AI region for a ``google_cloud_platform`` connection (default ``us-central1``).
    :param backend: ``vertex`` (default), ``gemini_api`` or a ``TuningService``; with ``gemini_api``, ``model``
        and ``baseline`` are Gemini Developer API models (``tunedModels/{id}``, the run's operation, or
        ``models/gemini-...``), called with the connection's ``gemini_api_key``; data and report stay in GCS.

    Returns (XCom ``return_value``) ``{"metrics", "baseline_metrics", "delta", "passed", "examples",
    "report_uri"}`` (``report.json`` sits next to the HTML), plus ``checkpoints`` and ``best_checkpoint`` when
    checkpoints are compared. A failing gate raises ``AirflowFailException`` (no retry: the evaluation is
    deterministic and would fail again, paying for every call) after pushing the same dict to XCom key
    ``evaluation_result``; so do an unknown checkpoint id and a reference without a label. The report's URL
    goes to XCom key ``evaluation_report`` first (the "Evaluation report" link).

    :raises AirflowFailException: the gate failed (thresholds or ``min_improvement``), no retry.
    :raises AirflowSkipException: the gate failed and ``soft_fail`` is set.
    """

    template_fields: Sequence[str] = (
        "model",
        "eval_dataset_uri",
        "baseline",
        "report_uri",
        "thresholds",
        "min_improvement",
        "checkpoints",
        "gcp_conn_id",
    )
    template_fields_renderers = {"thresholds": "json"}
    operator_extra_links = (EvaluationReportLink(),)
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        model: str,
        eval_dataset_uri: str,
        baseline: str | None = None,
        metrics: Sequence[str | Callable[[str, str], float]] = DEFAULT_METRICS,
        thresholds: Mapping[str, float] | str | None = None,
        min_improvement: float | str | None = 0.0,
        primary_metric: str | None = None,
        max_examples: int | None = None,
        generation_config: Mapping[str, Any] | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        report_uri: str | None = None,
        worst_examples: int = 10,
        soft_fail: bool = False,
        progress_interval: float = 5.0,
        gcp_conn_id: str = GeminiTuningHook.default_conn_name,
        location: str | None = None,
        backend: str | TuningService | None = None,
        checkpoints: str | Sequence[str] = LAST,
        label_pattern: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.service = tuning_service(backend)
        self.backend = self.service.name
        self.label_pattern = label_pattern
        self.metric_specs = resolve_metrics(metrics, label_pattern=label_pattern)
        validate_unless_template(checkpoints, parse_selection)
        self.checkpoints = checkpoints
        names = [m.name for m in self.metric_specs]
        self.primary_metric = primary_metric or (
            DEFAULT_PRIMARY_METRIC if DEFAULT_PRIMARY_METRIC in names else names[0]
        )
        if self.primary_metric not in names:
            raise ValueError(f"primary_metric {self.primary_metric!r} is not among the metrics {', '.join(names)}")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if max_examples is not None and max_examples < 1:
            raise ValueError(f"max_examples must be >= 1, got {max_examples}")
        self.model = model
        self.eval_dataset_uri = eval_dataset_uri
        self.baseline = baseline
        if isinstance(thresholds, Mapping):  # fail at DAG parse time when not templated
            from airflow_tuning.evaluation.gate import normalize_thresholds

            validate_unless_template(thresholds, lambda value: normalize_thresholds(value, names))
        self.thresholds = thresholds
        self.min_improvement = min_improvement
        self.max_examples = max_examples
        self.generation_config = dict(generation_config or {})
        self.max_concurrency = max_concurrency
        self.report_uri = report_uri
        self.worst_examples = worst_examples
        self.soft_fail = soft_fail
        self.progress_interval = progress_interval
        self.gcp_conn_id = gcp_conn_id
        self.location = location

    def _run_label(self, context: Context) -> str:
        from airflow_tuning.evaluation.storage import safe_segment

        ti = context["ti"]
        task = ti.task_id if ti.map_index is None or ti.map_index < 0 else f"{ti.task_id}-{ti.map_index}"
        return f"{safe_segment(context['run_id'])}/{safe_segment(task)}"

    def execute(self, context: Context) -> dict[str, Any]:
        # The evaluation machinery (generation, report, chart) loads when a task runs, not when a DAG is parsed.
        from airflow_tuning.common.console import report_link
        from airflow_tuning.evaluation.checkpoints import CheckpointError
        from airflow_tuning.evaluation.classification import LabelError
        from airflow_tuning.evaluation.gate import normalize_thresholds
        from airflow_tuning.evaluation.run import EvaluationPlan, run_evaluation
        from airflow_tuning.tasks.lineage import hook_where

        names = [m.name for m in self.metric_specs]
        plan = EvaluationPlan(
            model=self.model,
            eval_dataset_uri=self.eval_dataset_uri,
            metric_specs=self.metric_specs,
            primary_metric=self.primary_metric,
            baseline=self.baseline,
            thresholds=normalize_thresholds(mapping(self.thresholds, "thresholds"), names),
            min_improvement=optional_float(self.min_improvement, "min_improvement"),
            max_examples=self.max_examples,
            generation_config=self.generation_config,
            max_concurrency=self.max_concurrency,
            report_uri=self.report_uri,
            worst_examples=self.worst_examples,
            progress_interval=self.progress_interval,
            checkpoints=self.checkpoints,
            label_pattern=self.label_pattern,
        )
        hook = GeminiTuningHook(self.gcp_conn_id, location=self.location)
        try:  # a wrong checkpoint id or unlabelled data would fail the same way on every retry
            outcome = run_evaluation(
                plan, service=self.service, clients=hook, run_label=self._run_label(context), log=self.log
            )
        except (CheckpointError, LabelError) as err:
            raise AirflowFailException(str(err)) from None
        self._lineage = (outcome, hook_where(hook))
        ti = context["ti"]
        settings = hook.settings
        link = report_link(outcome.html_uri, settings.api_endpoint, emulated=settings.is_emulated)
        ti.xcom_push(key=EvaluationReportLink.xcom_key, value=link)
        if outcome.gate.passed:
            return outcome.result
        ti.xcom_push(key=EVALUATION_RESULT_XCOM_KEY, value=outcome.result)
        if self.soft_fail:
            raise AirflowSkipException(outcome.failure_message())
        raise AirflowFailException(outcome.failure_message())

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Evaluation data and both models in, the report out, the metrics in the ``gemini_evaluation`` facet."""
        from airflow_tuning.tasks.lineage import evaluation_lineage

        outcome, where = getattr(self, "_lineage", (None, {}))
        return evaluation_lineage(
            eval_dataset_uri=self.eval_dataset_uri, model=self.model, baseline=self.baseline, where=where,
            result=outcome.result if outcome else None,
            report_uris=(outcome.json_uri, outcome.html_uri) if outcome else (),
        )

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """A failed gate still wrote its report: the same lineage, ``passed`` false."""
        return self.get_openlineage_facets_on_complete(task_instance)


class PromoteTunedModelOperator(BaseOperator):
    """Give a Model Registry version alias (default ``champion``) to a tuned model version.

    :param model_name: ``projects/P/locations/L/models/ID@VERSION`` (or ``models/ID@VERSION`` in the
        connection's project); the version may also be named by another alias.
    :param alias: the alias to move; Vertex removes it from the version that held it, and this operator
        from any other registry model with the same display name (one holder per logical model; that
        holder is then the ``previous_model``).
    :param checkpoint_id: make this checkpoint the version's default first (what ``@alias`` serves and
        continuous tuning starts from), e.g. ``"{{ ti.xcom_pull('evaluate')['best_checkpoint'] }}"``.
    :param gcp_conn_id: a ``gemini_tuning`` connection, or a ``google_cloud_platform`` one.
    :param location: Vertex AI region for a ``google_cloud_platform`` connection (default ``us-central1``).
    :param approval_task_id: an ``ApprovalOperator`` upstream: its approver is recorded as who promoted; when
        it did not run (skipped: no approval required) the promotion is recorded as ``promoted_by``.
    :param promoted_by: who or what decided, default ``"automatic gate"``.
    :param reason: free text recorded with the promotion.
    :param evaluation: ``EvaluateTunedModelOperator``'s result (metrics, baseline, delta, report), recorded.

    Every promotion records who or what promoted and why (see :mod:`airflow_tuning.evaluation.promotion_record`)
    in the promoted version's description in the Model Registry, with the version and checkpoint that held
    the alias before: ``RollbackChampionOperator`` reads it; the result's ``record`` is the same event.
    Idempotent: when the alias already names this version nothing is written. Returns (XCom
    ``return_value``): ``{"model", "alias", "version", "previous_version", "previous_model", "changed"}``,
    with ``checkpoint_id`` also ``checkpoint_id`` (= ``default_checkpoint_id``), ``previous_checkpoint_id``
    (= ``previous_default_checkpoint_id``) and ``checkpoint_changed``; promoting ``previous_model`` again
    rolls back. Unknown names fail without retries (``AirflowFailException``).
    """

    template_fields: Sequence[str] = (
        "model_name", "alias", "checkpoint_id", "gcp_conn_id", "promoted_by", "reason", "evaluation",
    )
    template_fields_renderers = {"evaluation": "json"}
    ui_color = "#e6f4ea"

    def __init__(
        self,
        *,
        model_name: str,
        alias: str = "champion",
        checkpoint_id: str | None = None,
        gcp_conn_id: str = GeminiTuningHook.default_conn_name,
        approval_task_id: str | None = None,
        promoted_by: str | None = None,
        reason: str | None = None,
        evaluation: Any = None,
        location: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        validate_unless_template(alias, validate_alias)
        self.model_name = model_name
        self.alias = alias
        self.checkpoint_id = checkpoint_id
        self.gcp_conn_id = gcp_conn_id
        self.approval_task_id, self.promoted_by = approval_task_id, promoted_by
        self.reason, self.evaluation = reason, evaluation
        self.location = location

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_tuning.backends.vertex.champion import holder_elsewhere, keep_alias_unique, with_previous_holder
        from airflow_tuning.evaluation.default_checkpoint import requested_checkpoint, set_default_checkpoint
        from airflow_tuning.evaluation.registry import PromotionError, promote
        from airflow_tuning.evaluation.targets import qualify
        from airflow_tuning.operators.promotion import record_decision
        from airflow_tuning.tasks.lineage import hook_where

        hook = GeminiTuningHook(self.gcp_conn_id, location=self.location)
        name = qualify(self.model_name, hook.project, hook.location)
        client, retry, default = hook.get_model_service_client(), hook.api_core_retry, None
        try:
            checkpoint = requested_checkpoint(self.checkpoint_id)
            elsewhere = holder_elsewhere(client, name, self.alias, retry=retry)
            record = record_decision(self, context, client, name, retry, checkpoint_id=checkpoint,
                                     holder_elsewhere=elsewhere)
            if checkpoint is not None:
                default = set_default_checkpoint(client, name, checkpoint, retry=retry,
                                                 state=context.get("task_state_store"))
                self.log.info("Default checkpoint of %s: %s (was %s)", name, checkpoint, default.previous_checkpoint_id)
            promotion = promote(client, name, self.alias, retry=retry)
        except PromotionError as err:
            raise AirflowFailException(str(err)) from None
        # One holder per logical model: take the alias off other registry models of the same display name.
        removed = keep_alias_unique(
            hook.get_model_service_client(), promotion.model, promotion.alias, retry=hook.api_core_retry, log=self.log
        )
        result = with_previous_holder(promotion.as_dict(), removed)
        if result["changed"]:
            self.log.info(
                "Moved alias %r to %s (previously %s)",
                promotion.alias,
                promotion.model,
                result["previous_model"] or "unset",
            )
        else:
            self.log.info("Alias %r already names %s; nothing to change", promotion.alias, promotion.model)
        result = {**result, **(default.as_dict() if default else {}), "record": record}
        self._lineage = (result, hook_where(hook))
        return result

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The model version in; the alias (``models/ID@alias``) that now names it out."""
        from airflow_tuning.tasks.lineage import alias_lineage

        promotion, where = getattr(self, "_lineage", (None, {}))
        return alias_lineage(promotion, model_name=self.model_name, alias=self.alias, where=where)
