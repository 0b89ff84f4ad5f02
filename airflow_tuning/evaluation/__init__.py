"""Judging a tuned model: eval-data reading, metrics, the promotion gate and the report (no Airflow import).

The Airflow operators in ``airflow_tuning.operators.evaluation`` are thin shells over these modules.
"""

from __future__ import annotations

from airflow_tuning.evaluation.dataset import EvalDataError, EvalExample, parse_eval_lines
from airflow_tuning.evaluation.gate import GateResult, evaluate_gate
from airflow_tuning.evaluation.metrics import (
    BUILTIN_METRICS,
    DEFAULT_METRICS,
    DEFAULT_PRIMARY_METRIC,
    Metric,
    MetricError,
    Scores,
    exact_match,
    resolve_metrics,
    score,
    token_f1,
)

__all__ = [
    "BUILTIN_METRICS",
    "DEFAULT_METRICS",
    "DEFAULT_PRIMARY_METRIC",
    "EvalDataError",
    "EvalExample",
    "GateResult",
    "Metric",
    "MetricError",
    "Scores",
    "evaluate_gate",
    "exact_match",
    "parse_eval_lines",
    "resolve_metrics",
    "score",
    "token_f1",
]
