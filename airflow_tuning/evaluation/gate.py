"""The promotion gate: may this model replace the current one?

Two rules, both required:

* every threshold is met: ``metrics[name] >= thresholds[name]``;
* when a baseline was evaluated and ``min_improvement`` is not None, the challenger beats the baseline on
  the *primary metric* by at least ``min_improvement``: ``metrics[primary] - baseline[primary] >=
  min_improvement``. The default ``0.0`` means "no worse than the baseline", which is what keeps a
  scheduled retraining loop from ever replacing a better champion with a worse model.

The improvement rule applies to one metric rather than to all of them on purpose: metrics disagree on small
differences (BLEU can dip while ROUGE-L rises), and a gate that needs every metric to improve would block
genuinely better models on noise. Thresholds guard the floor of each metric separately.

Comparisons allow a 1e-9 tolerance so that a score equal to its threshold after float arithmetic passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TOLERANCE = 1e-9


@dataclass(frozen=True)
class GateRow:
    metric: str
    value: float
    threshold: float | None = None
    baseline: float | None = None
    delta: float | None = None
    required_delta: float | None = None
    ok: bool = True


@dataclass(frozen=True)
class GateResult:
    passed: bool
    rows: list[GateRow]
    failures: list[str] = field(default_factory=list)

    def table(self) -> str:
        """A fixed-width metric | value | threshold | baseline | delta | status table for logs and errors."""
        header = ("metric", "value", "threshold", "baseline", "delta", "status")
        body = [
            (
                row.metric,
                _fmt(row.value),
                _fmt(row.threshold, prefix=">= "),
                _fmt(row.baseline),
                _fmt(row.delta, signed=True)
                + (f" (>= {row.required_delta:+.4f})" if row.required_delta is not None else ""),
                "ok" if row.ok else "FAIL",
            )
            for row in self.rows
        ]
        widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(len(header))]
        lines = [
            "  ".join(str(cell).ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in [header, *body]
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)


def _fmt(value: float | None, *, prefix: str = "", signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{prefix}{value:+.4f}" if signed else f"{prefix}{value:.4f}"


def normalize_thresholds(thresholds: Mapping[str, Any] | None, metric_names: list[str]) -> dict[str, float]:
    """Thresholds as floats, each naming a computed metric (templated values arrive as strings).

    With a classification metric (``accuracy``, ``macro_f1``) computed, per-label scores can have
    thresholds too: ``{"f1:billing": 0.8, "recall:outage": 0.9}`` (``precision``, ``recall`` or ``f1``,
    a colon, the label as it appears in the answers, compared case-insensitively).
    """
    from airflow_tuning.evaluation.classification import CLASSIFICATION_METRICS, PER_LABEL_RE

    labelled = any(name in CLASSIFICATION_METRICS for name in metric_names)
    result: dict[str, float] = {}
    for name, raw in (thresholds or {}).items():
        per_label = isinstance(name, str) and PER_LABEL_RE.match(name)
        if per_label and not labelled:
            raise ValueError(f"Threshold {name!r} is per label, which needs metric 'accuracy' or 'macro_f1' "
                             "among the metrics")
        if name not in metric_names and not per_label:
            raise ValueError(
                f"Threshold for unknown metric {name!r}; computed metrics are {', '.join(metric_names)}"
                + ("; per-label thresholds look like 'f1:LABEL', 'precision:LABEL', 'recall:LABEL'" if labelled else "")
            )
        try:
            result[name] = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"Threshold for {name!r} must be a number, got {raw!r}") from None
    return result


def evaluate_gate(
    metrics: Mapping[str, float],
    *,
    thresholds: Mapping[str, float] | None = None,
    baseline_metrics: Mapping[str, float] | None = None,
    min_improvement: float | None = 0.0,
    primary_metric: str,
) -> GateResult:
    """Apply the thresholds and the improvement rule; one row per metric, failures spelled out."""
    thresholds = dict(thresholds or {})
    failures: list[str] = []
    rows: list[GateRow] = []
    compare = baseline_metrics is not None and min_improvement is not None
    for name, value in metrics.items():
        threshold = thresholds.get(name)
        baseline = baseline_metrics.get(name) if baseline_metrics is not None else None
        delta = value - baseline if baseline is not None else None
        ok = True
        if threshold is not None and value < threshold - TOLERANCE:
            ok = False
            failures.append(f"{name} = {value:.4f} is below the threshold {threshold:.4f}")
        required = min_improvement if compare and name == primary_metric else None
        if required is not None and delta is not None and delta < required - TOLERANCE:
            ok = False
            failures.append(f"{name} improves on the baseline by {delta:+.4f}, less than the required {required:+.4f}")
        rows.append(GateRow(name, value, threshold, baseline, delta, required, ok))
    return GateResult(passed=not failures, rows=rows, failures=failures)
