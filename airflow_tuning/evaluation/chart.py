"""The checkpoint curve: the primary metric per epoch, the baseline as a line, the chosen checkpoint marked.

People see "it peaked at epoch 3 and then overfit" in a curve at a glance, where a table needs reading.
Inline SVG only (no script, no external asset), so the report opens anywhere; labels are escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

CHALLENGER_COLOR = "#1a73e8"
BASELINE_COLOR = "#9aa0a6"
CHOSEN_COLOR = "#137333"


def render_checkpoint_chart(
    checkpoints: Sequence[Mapping[str, Any]],
    primary_metric: str,
    *,
    baseline_value: float | None = None,
    best_checkpoint: str | None = None,
) -> str:
    """An SVG line chart of ``checkpoints[i]["metrics"][primary_metric]`` against ``epoch``."""
    left, right, top, bottom, width, height = 56, 24, 30, 40, 560, 274
    plot_w, plot_h = width - left - right, height - top - bottom
    points = [(int(c["epoch"]), float(c["metrics"][primary_metric]), str(c["checkpoint_id"])) for c in checkpoints]
    values = [v for _, v, _ in points] + ([baseline_value] if baseline_value is not None else [])
    low, high = min([0.0, *values]), max([1.0, *values])
    epochs = [e for e, _, _ in points] or [1]
    first, last = min(epochs), max(epochs)
    span = max(last - first, 1)

    def x(epoch: float) -> float:
        return left + (plot_w / 2 if last == first else (epoch - first) / span * plot_w)

    def y(value: float) -> float:
        return top + (high - value) / (high - low) * plot_h

    esc = html.escape
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{esc(primary_metric)} per epoch" font-family="system-ui,sans-serif" font-size="12">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#5f6368"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#5f6368"/>',
    ]
    for k in range(5):
        value = low + (high - low) * k / 4
        out.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value:.2f}</text>'
                   f'<line x1="{left}" y1="{y(value):.1f}" x2="{left + plot_w}" y2="{y(value):.1f}" '
                   'stroke="#f1f3f4"/>')
    for epoch in sorted(set(epochs)):
        out.append(f'<text x="{x(epoch):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{epoch}</text>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle">epoch</text>')
    if baseline_value is not None:
        out.append(
            f'<line class="baseline" x1="{left}" y1="{y(baseline_value):.1f}" x2="{left + plot_w}" '
            f'y2="{y(baseline_value):.1f}" stroke="{BASELINE_COLOR}" stroke-width="2" stroke-dasharray="6 4">'
            f"<title>baseline {esc(primary_metric)} {baseline_value:.4f}</title></line>"
            f'<text x="{left + plot_w - 4}" y="{y(baseline_value) - 5:.1f}" text-anchor="end" '
            f'fill="{BASELINE_COLOR}">baseline {baseline_value:.4f}</text>'
        )
    if len(points) > 1:
        path = " ".join(f"{x(e):.1f},{y(v):.1f}" for e, v, _ in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{CHALLENGER_COLOR}" stroke-width="2"/>')
    for epoch, value, checkpoint_id in points:
        chosen = checkpoint_id == best_checkpoint
        title = f"checkpoint {checkpoint_id}, epoch {epoch}: {primary_metric} {value:.4f}"
        title += " (chosen)" if chosen else ""
        radius, color = (7, CHOSEN_COLOR) if chosen else (4, CHALLENGER_COLOR)
        out.append(
            f'<circle class="{"chosen" if chosen else "checkpoint"}" cx="{x(epoch):.1f}" cy="{y(value):.1f}" '
            f'r="{radius}" fill="{color}"><title>{esc(title)}</title></circle>'
        )
        if chosen:
            out.append(f'<text x="{x(epoch):.1f}" y="{y(value) - 12:.1f}" text-anchor="middle" fill="{CHOSEN_COLOR}" '
                       f'font-weight="600">chosen: {esc(checkpoint_id)} ({value:.4f})</text>')
    out.append("</svg>")
    return "".join(out)


def render_section(report: Mapping[str, Any]) -> str:
    """The report's checkpoint section: the curve and one row per checkpoint."""
    checkpoints = report.get("checkpoints") or []
    if not checkpoints:
        return ""
    primary = report["primary_metric"]
    baseline = (report.get("baseline_metrics") or {}).get(primary)
    best = report.get("best_checkpoint")
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(str(c['checkpoint_id']))}{' (chosen)' if c['checkpoint_id'] == best else ''}</td>"
        f"<td class='num'>{c['epoch']}</td><td class='num'>{c['step']}</td>"
        f"<td class='num'>{c['metrics'][primary]:.4f}</td></tr>"
        for c in checkpoints
    )
    return (
        f"<h2>{esc(primary)} per checkpoint</h2>"
        + render_checkpoint_chart(checkpoints, primary, baseline_value=baseline, best_checkpoint=best)
        + f"<table><tr><th>checkpoint</th><th>epoch</th><th>step</th><th>{esc(primary)}</th></tr>{rows}</table>"
    )
