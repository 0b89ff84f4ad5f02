"""From the predictions of one or more candidates (checkpoints) to the one the gate judges.

Every candidate answers the same examples; all calls go out in one burst through one concurrency budget
(see generation.py), so evaluating six checkpoints costs six times the calls, not six times the waiting
of a sequential loop. Each candidate is scored with every metric, the best on the primary metric is
chosen (ties: the earlier epoch), and classification tasks get their confusion matrix and per-label
scores for the chosen candidate and the baseline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_tuning.evaluation import classification
from airflow_tuning.evaluation.checkpoints import Checkpoint, best_index
from airflow_tuning.evaluation.metrics import Metric, Scores, score


@dataclass(frozen=True)
class Judged:
    """The chosen candidate's predictions and scores, every candidate's row, and report extras."""

    best: int
    predictions: list[str]
    scores: Scores
    baseline_predictions: list[str] | None
    baseline_scores: Scores | None
    checkpoints: list[dict[str, Any]] | None = None
    best_checkpoint: str | None = None
    gate_values: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def judge(
    outputs: Sequence[str],
    *,
    candidates: int,
    references: Sequence[str],
    metrics: Sequence[Metric],
    primary_metric: str,
    labels: Sequence[str],
    has_baseline: bool,
    checkpoints: Sequence[Checkpoint] | None = None,
    label_pattern: str | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> Judged:
    """Split ``outputs`` (candidate 0's answers, candidate 1's, ..., then the baseline's) and judge them."""
    n = len(references)
    if len(outputs) != n * (candidates + (1 if has_baseline else 0)):
        raise ValueError(f"{len(outputs)} outputs for {candidates} candidates of {n} examples")
    per_candidate = [list(outputs[k * n:(k + 1) * n]) for k in range(candidates)]
    baseline_predictions = list(outputs[candidates * n:]) if has_baseline else None
    all_scores = [score(p, references, metrics, labels=labels) for p in per_candidate]
    baseline_scores = (
        score(baseline_predictions, references, metrics, labels=labels) if baseline_predictions is not None else None
    )
    best, rows, best_id = 0, None, None
    if checkpoints is not None:
        best = best_index([s.corpus[primary_metric] for s in all_scores], [c.epoch for c in checkpoints])
        rows = [
            {"checkpoint_id": c.checkpoint_id, "epoch": c.epoch, "step": c.step, "metrics": dict(s.corpus)}
            for c, s in zip(checkpoints, all_scores, strict=True)
        ]
        best_id = checkpoints[best].checkpoint_id
    predictions, scores = per_candidate[best], all_scores[best]
    gate_values = dict(scores.corpus)
    extra: dict[str, Any] = {}
    if rows is not None:
        extra.update(checkpoints=rows, best_checkpoint=best_id)
    if classification.is_classification([m.name for m in metrics]):
        chosen = classification.classify(predictions, references, label_pattern, names=labels)
        gate_values.update(classification.per_label_values(thresholds or {}, chosen))
        extra["classification"] = chosen.as_dict()
        if baseline_predictions is not None:
            base = classification.classify(baseline_predictions, references, label_pattern, names=labels)
            extra["baseline_classification"] = base.as_dict()
    return Judged(best, predictions, scores, baseline_predictions, baseline_scores, rows, best_id, gate_values, extra)
