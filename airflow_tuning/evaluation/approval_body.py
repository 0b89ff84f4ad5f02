"""What a reviewer reads before approving a promotion: one Markdown page built from the run's results.

Challenger vs champion metrics and their delta, the best checkpoint when checkpoints were evaluated, the
estimated and the actual cost, and the evaluation report. Pure Python: the approval operator feeds it the
XComs of the evaluation, the tuning job and the budget check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_tuning.common.console import storage_object_console_url


def _num(value: Any, fmt: str = ".3f") -> str:
    return format(value, fmt) if isinstance(value, (int, float)) and not isinstance(value, bool) else "n/a"


def _money(value: Any) -> str:
    return f"${value:,.4f}" if isinstance(value, (int, float)) else "unknown"


def _metrics_table(evaluation: Mapping[str, Any]) -> list[str]:
    metrics = evaluation.get("metrics") or {}
    baseline = evaluation.get("baseline_metrics") or {}
    delta = evaluation.get("delta") or {}
    rows = ["| metric | challenger | champion | delta |", "|---|---|---|---|"]
    for name in metrics:
        change = delta.get(name)
        rows.append(f"| {name} | {_num(metrics.get(name))} | {_num(baseline.get(name))} | "
                    f"{_num(change, '+.3f') if change is not None else 'n/a'} |")
    return rows


def _checkpoint(evaluation: Mapping[str, Any]) -> str | None:
    best = evaluation.get("best_checkpoint")
    if best in (None, "", {}):
        return None
    if isinstance(best, Mapping):
        ident = best.get("checkpoint_id")
        epoch = f", epoch {best['epoch']}" if best.get("epoch") is not None else ""
        return f"**Best checkpoint:** {ident}{epoch}"
    return f"**Best checkpoint:** {best}"


def _cost(estimate: Mapping[str, Any] | None, tuning: Mapping[str, Any]) -> list[str]:
    lines = []
    if estimate:
        lines.append(f"- Estimated before the job: {_money(estimate.get('cost_usd'))} for "
                     f"{estimate.get('billable_tokens', 0):,} billable training tokens "
                     f"({estimate.get('epochs')} epoch(s), {estimate.get('base_model')})")
    else:
        lines.append("- Estimated before the job: no budget was set, so no estimate was made")
    actual = tuning.get("cost")
    if actual:
        lines.append(f"- Actual, from the job's tuningDataStats: {_money(actual.get('cost_usd'))} for "
                     f"{actual.get('billable_tokens', 0):,} billable tokens")
    else:
        lines.append("- Actual: the job reported no tuningDataStats")
    return lines


def approval_body(evaluation: Mapping[str, Any] | None, tuning: Mapping[str, Any] | None,
                  estimate: Mapping[str, Any] | None = None, *, champion: str | None = None,
                  alias: str | None = None) -> str:
    """The Markdown body of the approval request; ``alias`` is the one Approve moves (e.g. ``champion``)."""
    evaluation, tuning = evaluation or {}, tuning or {}
    held_by = f" (holds `@{alias}`)" if alias and champion else ""
    lines = [f"**Challenger:** `{tuning.get('tuned_model') or 'unknown'}`", "",
             f"**Champion{held_by}:** `{champion or 'none yet (the challenger was compared with the base model)'}`",
             ""]
    if evaluation:
        lines += ["### Challenger vs champion", *_metrics_table(evaluation), ""]
        lines.append(f"Gate: {'passed' if evaluation.get('passed') else 'not passed'} on "
                     f"{evaluation.get('examples', '?')} held-out examples.")
    else:
        lines.append("No evaluation result was found.")
    checkpoint = _checkpoint(evaluation)
    if checkpoint:
        lines += ["", checkpoint]
    lines += ["", "### Cost", *_cost(estimate, tuning)]
    report = evaluation.get("report_uri")
    if report:
        try:
            url = storage_object_console_url(report)
        except ValueError:
            url = report
        lines += ["", f"**Evaluation report:** [{report}]({url})"]
    if tuning.get("console_url"):
        lines += ["", f"**Tuning job:** [{tuning.get('tuning_job')}]({tuning['console_url']})"]
    target = f"`@{alias}`" if alias else "the alias"
    lines += ["", f"Approve to move {target} to the challenger; Reject to keep the champion (nothing changes)."]
    return "\n".join(lines)
