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
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from airflow_tuning.evaluation.gate import GateResult, evaluate_gate
from airflow_tuning.evaluation.generation import DETERMINISTIC_CONFIG, GenerationRequest, generate_all
from airflow_tuning.evaluation.metrics import score
from airflow_tuning.evaluation.report import build_report, render_html
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
    target = service.resolve_model(plan.model, clients)
    baseline = service.resolve_model(plan.baseline, clients) if plan.baseline else None
    log.info("Challenger %s -> %s", target.requested, target.serving)
    if baseline is not None:
        log.info("Baseline %s -> %s", baseline.requested, baseline.serving)

    started = time.monotonic()
    requests = [GenerationRequest(target.serving, ex) for ex in examples]
    if baseline is not None:
        requests += [GenerationRequest(baseline.serving, ex) for ex in examples]
    outputs = asyncio.run(_generate(service.generation_client(clients), requests, plan, log))
    predictions = outputs[: len(examples)]
    baseline_predictions = outputs[len(examples) :] if baseline is not None else None

    references = [ex.reference for ex in examples]
    labels = [f"{plan.eval_dataset_uri} line {ex.line}" for ex in examples]
    scores = score(predictions, references, plan.metric_specs, labels=labels)
    baseline_scores = (
        score(baseline_predictions, references, plan.metric_specs, labels=labels)
        if baseline_predictions is not None
        else None
    )
    gate = evaluate_gate(
        scores.corpus,
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
    log.info("Evaluation of %s on %d examples:\n%s", target.requested, len(examples), gate.table())
    return EvaluationOutcome(result, gate, target.requested, html_uri, json_uri)


async def _generate(aio: Any, requests: list[GenerationRequest], plan: EvaluationPlan, log: Any) -> list[str]:
    try:
        return await generate_all(
            aio,
            requests,
            source=plan.eval_dataset_uri,
            generation_config=plan.generation_config,
            max_concurrency=plan.max_concurrency,
            log=log,
            progress_interval=plan.progress_interval,
        )
    finally:
        await aio.aclose()
