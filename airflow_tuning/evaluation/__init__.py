"""Judging a tuned model: eval-data reading, metrics, the promotion gate and the report (no Airflow import).

The Airflow operators in ``airflow_tuning.operators.evaluation`` are thin shells over these modules. The
names below load with their module on first use (PEP 562): a DAG file that imports one evaluation module
does not pay for the metrics and the gate when it is parsed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_tuning.common.lazy import lazy_attributes

if TYPE_CHECKING:
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

#: public name -> the module that defines it
_LAZY = {
    **dict.fromkeys(("EvalDataError", "EvalExample", "parse_eval_lines"), "dataset"),
    **dict.fromkeys(("GateResult", "evaluate_gate"), "gate"),
    **dict.fromkeys(
        ("BUILTIN_METRICS", "DEFAULT_METRICS", "DEFAULT_PRIMARY_METRIC", "Metric", "MetricError", "Scores",
         "exact_match", "resolve_metrics", "score", "token_f1"),
        "metrics",
    ),
}


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY)


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
