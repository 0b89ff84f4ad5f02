"""One evaluation, start to end: read the held-out data, generate, score, gate, write the report.

``EvaluateTunedModelOperator`` is a thin shell around :func:`run_evaluation`: it reads its arguments, builds
clients through the hook and turns the outcome into an Airflow result. The tuning service (an object from
``airflow_tuning.backends``) resolves model references and provides the generation client, so this code is
the same for every service. No Airflow import.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from airflow_tuning.evaluation.classification import check_references
from airflow_tuning.evaluation.gate import GateResult, evaluate_gate
from airflow_tuning.evaluation.generation import DETERMINISTIC_CONFIG, GenerationRequest, generate_all
from airflow_tuning.evaluation.judging import judge
from airflow_tuning.evaluation.preference import check_pairs
from airflow_tuning.evaluation.report import build_report, render_html
from airflow_tuning.evaluation.selection import candidate_checkpoints, serve_default_checkpoint
from airflow_tuning.evaluation.storage import REPORT_HTML, REPORT_JSON, read_eval_dataset, report_prefix, upload_text


@dataclass(frozen=True)
class EvaluationPlan:
    """What to evaluate and how: everything but the clients."""

    model: str
    eval_dataset_uri: str
    metric_specs: Sequence[Any]
    primary_metric: str
    baseline: str | None = None
    thresholds: Mapping[str, float] = field(default_factory=dict)
    min_improvement: float | None = 0.0
    max_examples: int | None = None
    generation_config: Mapping[str, Any] = field(default_factory=dict)
    max_concurrency: int = 32
    report_uri: str | None = None
    worst_examples: int = 10
    progress_interval: float = 5.0
    checkpoints: Any = "last"
    label_pattern: str | None = None


@dataclass(frozen=True)
class EvaluationOutcome:
    """The result a task returns, the gate's decision, and where the report is."""

    result: dict[str, Any]
    gate: GateResult
    requested: str
    html_uri: str
    json_uri: str

    def failure_message(self) -> str:
        return (
            f"{self.requested} did not pass the evaluation gate:\n  - "
            + "\n  - ".join(self.gate.failures)
            + f"\n{self.gate.table()}\nReport: {self.html_uri}"
        )


def run_evaluation(
    plan: EvaluationPlan, *, service: Any, clients: Any, run_label: str, log: logging.Logger | Any
) -> EvaluationOutcome:
    """Evaluate ``plan.model`` (and ``plan.baseline``) on the held-out data; write report.json and
    report.html under the report prefix. ``clients`` is the hook (project, location, storage client)."""
    storage, retry = clients.get_storage_client(), clients.api_core_retry
    examples = read_eval_dataset(storage, plan.eval_dataset_uri, max_examples=plan.max_examples, retry=retry)
    log.info("Read %d evaluation examples from %s", len(examples), plan.eval_dataset_uri)
    references = [ex.reference for ex in examples]
    labels = [f"{plan.eval_dataset_uri} line {ex.line}" for ex in examples]
    check_references([m.name for m in plan.metric_specs], plan.label_pattern, references, labels)
    check_pairs([m.name for m in plan.metric_specs], references, labels)
    target = service.resolve_model(plan.model, clients)
    chosen = candidate_checkpoints(clients, target, plan.checkpoints)
    baseline = service.resolve_model(plan.baseline, clients) if plan.baseline else None
    if baseline is not None:  # a model version answers with its default checkpoint, as on Vertex AI
        baseline = serve_default_checkpoint(clients, baseline)
    log.info("Challenger %s -> %s", target.requested, target.serving)
    for c in chosen or []:
        log.info("Checkpoint %s (epoch %d) -> %s", c.checkpoint_id, c.epoch, c.endpoint)
    if baseline is not None:
        log.info("Baseline %s -> %s", baseline.requested, baseline.serving)

    started = time.monotonic()
    servings = [c.endpoint for c in chosen] if chosen else [target.serving]
    # A selected checkpoint without an endpoint would be asked as model None (and fail when called).
    requests = [GenerationRequest(serving, ex) for serving in servings for ex in examples]  # type: ignore[arg-type]
    if baseline is not None:
        requests += [GenerationRequest(baseline.serving, ex) for ex in examples]
    outputs = asyncio.run(_generate(service.generation_client(clients), requests, plan, log, clients.settings.retry))
    judged = judge(outputs, candidates=len(servings), references=references, metrics=plan.metric_specs,
                   primary_metric=plan.primary_metric, labels=labels, has_baseline=baseline is not None,
                   checkpoints=chosen, label_pattern=plan.label_pattern, thresholds=plan.thresholds)
    predictions, scores = judged.predictions, judged.scores
    baseline_predictions, baseline_scores = judged.baseline_predictions, judged.baseline_scores
    if chosen:
        target = replace(target, serving=chosen[judged.best].endpoint)
        log.info("Best checkpoint on %s: %s", plan.primary_metric, judged.best_checkpoint)
    gate = evaluate_gate(
        judged.gate_values,
        thresholds=plan.thresholds,
        baseline_metrics=baseline_scores.corpus if baseline_scores else None,
        min_improvement=plan.min_improvement,
        primary_metric=plan.primary_metric,
    )
    report = build_report(
        examples=examples,
        predictions=predictions,
        scores=scores,
        gate=gate,
        model=target.as_dict(),
        eval_dataset_uri=plan.eval_dataset_uri,
        primary_metric=plan.primary_metric,
        baseline=baseline.as_dict() if baseline else None,
        baseline_predictions=baseline_predictions,
        baseline_scores=baseline_scores,
        settings={
            "thresholds": dict(plan.thresholds),
            "min_improvement": plan.min_improvement,
            "max_examples": plan.max_examples,
            "generation_config": {**DETERMINISTIC_CONFIG, **plan.generation_config},
            "max_concurrency": plan.max_concurrency,
        },
        worst_count=plan.worst_examples,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        duration_seconds=round(time.monotonic() - started, 3),
        extra=judged.extra,
    )
    prefix = report_prefix(plan.eval_dataset_uri, plan.report_uri, run_label)
    json_uri, html_uri = f"{prefix}/{REPORT_JSON}", f"{prefix}/{REPORT_HTML}"
    body = json.dumps(report, indent=1, ensure_ascii=False)
    upload_text(storage, json_uri, body, content_type="application/json; charset=utf-8", retry=retry)
    upload_text(storage, html_uri, render_html(report), content_type="text/html; charset=utf-8", retry=retry)
    log.info("Evaluation report: %s (data: %s)", html_uri, json_uri)
    result = {
        "metrics": report["metrics"],
        "baseline_metrics": report["baseline_metrics"],
        "delta": report["delta"],
        "passed": gate.passed,
        "examples": len(examples),
        "report_uri": html_uri,
    }
    if chosen:
        result.update(checkpoints=judged.checkpoints, best_checkpoint=judged.best_checkpoint)
    log.info("Evaluation of %s on %d examples:\n%s", target.requested, len(examples), gate.table())
    return EvaluationOutcome(result, gate, target.requested, html_uri, json_uri)


async def _generate(aio: Any, requests: list[GenerationRequest], plan: EvaluationPlan, log: Any, retry: Any
                    ) -> list[str]:
    try:
        return await generate_all(
            aio,
            requests,
            source=plan.eval_dataset_uri,
            generation_config=plan.generation_config,
            max_concurrency=plan.max_concurrency,
            log=log,
            progress_interval=plan.progress_interval,
            retry=retry,
        )
    finally:
        await aio.aclose()
