"""Who or what promoted a model version and why, kept in the version's description in the Model Registry.

The registry itself then answers "who approved this model": every promotion appends an event (approver or
"automatic gate", the Airflow run, the metrics, the version and checkpoint that held the alias before) and
every rollback appends one too. The description keeps the user's own text first, then a readable line per
event and one machine-readable line that rollback reads back::

    Support-ticket triage model
    --- airflow-tuning promotion log ---
    2026-12-05T11:20:00+00:00 promotion to 'champion' by approver admin in gemini_scheduled_retraining/...
    airflow-tuning-promotion-log: {"events": [...]}

Pure Python: no Airflow, no Google import.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

SEPARATOR = "--- airflow-tuning promotion log ---"
LOG_PREFIX = "airflow-tuning-promotion-log: "
AUTOMATIC_GATE = "automatic gate"
MAX_EVENTS = 20
PROMOTION, ROLLBACK = "promotion", "rollback"
_METRIC_KEYS = ("metrics", "baseline_metrics", "delta", "passed", "best_checkpoint", "report_uri")


class NoEarlierHolder(ValueError):
    """There is nothing to roll back to; the message says why and what to do instead."""


@dataclass(frozen=True)
class PromotionEvent:
    """One promotion or rollback, as recorded on the version that received the alias."""

    kind: str
    alias: str
    model: str
    checkpoint_id: str | None
    previous_model: str | None
    previous_checkpoint_id: str | None
    by: str
    reason: str | None
    at: str
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    approver: Mapping[str, Any] | None = None
    evaluation: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, {})}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PromotionEvent:
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in known}
        values.setdefault("checkpoint_id", None)
        values.setdefault("previous_model", None)
        values.setdefault("previous_checkpoint_id", None)
        values.setdefault("reason", None)
        return cls(**values)

    def line(self) -> str:
        """One readable line for the registry console."""
        run = f" in {self.dag_id}/{self.run_id}" if self.run_id else ""
        checkpoint = f" (checkpoint {self.checkpoint_id})" if self.checkpoint_id else ""
        before = f"; before: {self.previous_model or 'none'}"
        if self.kind == ROLLBACK:
            before = f"; rolled back from {self.previous_model}"
        text = f"{self.at} {self.kind} to {self.alias!r}{checkpoint} by {self.by}{run}{before}"
        metrics = _metric_text(self.evaluation)
        if metrics:
            text += f"; {metrics}"
        if self.reason:
            text += f"; reason: {self.reason}"
        return text


def _metric_text(evaluation: Mapping[str, Any] | None) -> str:
    if not evaluation:
        return ""
    parts = []
    metrics = evaluation.get("metrics") or {}
    baseline = evaluation.get("baseline_metrics") or {}
    for name, value in metrics.items():
        if isinstance(value, (int, float)):
            part = f"{name} {value:.3f}"
            if isinstance(baseline.get(name), (int, float)):
                part += f" vs {baseline[name]:.3f} ({value - baseline[name]:+.3f})"
            parts.append(part)
    return ", ".join(parts)


def evaluation_summary(evaluation: Any) -> dict[str, Any] | None:
    """The parts of ``EvaluateTunedModelOperator``'s result worth keeping with the model version."""
    if not isinstance(evaluation, Mapping):
        return None
    return {k: evaluation[k] for k in _METRIC_KEYS if evaluation.get(k) is not None} or None


def who_decided(approval: Any, promoted_by: str | None = None) -> tuple[str, dict[str, Any] | None]:
    """("approver NAME", {"id", "name"}) from an ``ApprovalOperator`` result, else the given text or the gate."""
    if isinstance(approval, Mapping) and "Approve" in (approval.get("chosen_options") or []):
        user = approval.get("responded_by_user") or approval.get("responded_by") or {}
        if isinstance(user, Mapping) and (user.get("name") or user.get("id")):
            approver = {"id": str(user.get("id", "")), "name": str(user.get("name") or user.get("id"))}
            return f"approver {approver['name']}", approver
        return "approver (unnamed)", None
    if promoted_by and str(promoted_by).strip():
        return str(promoted_by).strip(), None
    return AUTOMATIC_GATE, None


def parse_description(text: str | None) -> tuple[str, list[PromotionEvent]]:
    """(the user's own description, the recorded events, oldest first)."""
    text = text or ""
    own, _, log = text.partition(SEPARATOR)
    events: list[PromotionEvent] = []
    for line in log.splitlines():
        if line.startswith(LOG_PREFIX):
            try:
                payload = json.loads(line[len(LOG_PREFIX):])
                events = [PromotionEvent.from_dict(e) for e in payload.get("events", [])]
            except (ValueError, TypeError, AttributeError):
                events = []
    return own.rstrip("\n"), events


def render_description(own: str, events: Sequence[PromotionEvent]) -> str:
    """The description with ``events`` (the newest ``MAX_EVENTS``) after the user's own text."""
    kept = list(events)[-MAX_EVENTS:]
    lines = [own.rstrip("\n")] if own.strip() else []
    lines.append(SEPARATOR)
    lines.extend(event.line() for event in kept)
    payload = json.dumps({"events": [e.as_dict() for e in kept]}, separators=(",", ":"), sort_keys=True)
    lines.append(LOG_PREFIX + payload)
    return "\n".join(lines)


def append_event(description: str | None, event: PromotionEvent) -> str:
    own, events = parse_description(description)
    return render_description(own, [*events, event])


@dataclass(frozen=True)
class RollbackPlan:
    """Where a rollback moves the alias, or why it has nothing to do."""

    target_model: str | None
    checkpoint_id: str | None
    done_already: bool
    message: str


def rollback_plan(holder: str, alias: str, events: Sequence[PromotionEvent]) -> RollbackPlan:
    """Decide a rollback from the events recorded on ``holder``, the version holding ``alias`` now.

    The target is the version (and checkpoint) that held the alias before the last promotion. A holder whose
    latest event is a rollback has been rolled back already: nothing to do (a rerun changes nothing; to go
    further back, promote that version explicitly).
    """
    relevant = [e for e in events if e.alias == alias]
    if not relevant:
        raise NoEarlierHolder(
            f"{holder} holds {alias!r} but carries no promotion record, so there is no recorded earlier holder "
            "to roll back to; promote the version you want with PromoteTunedModelOperator instead"
        )
    last = relevant[-1]
    if last.kind == ROLLBACK:
        return RollbackPlan(None, None, True,
                            f"{holder} already holds {alias!r} by a rollback from {last.previous_model} "
                            f"({last.at}, {last.dag_id}/{last.run_id}); nothing to do")
    if not last.previous_model:
        raise NoEarlierHolder(
            f"No earlier holder of {alias!r}: {holder} was the first version to hold it ({last.at}, by {last.by}); "
            "there is nothing to roll back to"
        )
    return RollbackPlan(last.previous_model, last.previous_checkpoint_id, False,
                        f"rolling {alias!r} back from {holder} to {last.previous_model}"
                        + (f" (checkpoint {last.previous_checkpoint_id})" if last.previous_checkpoint_id else ""))
