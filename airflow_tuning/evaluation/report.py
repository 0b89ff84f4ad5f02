"""The evaluation report: a JSON document for machines and a self-contained HTML page for people.

The HTML has no external assets (inline CSS, an inline SVG bar chart) so it opens the same from the Cloud
console, a downloaded file or an air-gapped network; every piece of example text is HTML-escaped because
model output is untrusted input.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_tuning.evaluation import chart, classification
from airflow_tuning.evaluation.dataset import EvalExample
from airflow_tuning.evaluation.gate import GateResult
from airflow_tuning.evaluation.metrics import Scores

MAX_TEXT_CHARS = 4000
CHALLENGER_COLOR = "#1a73e8"
BASELINE_COLOR = "#9aa0a6"


def _example_scores(scores: Scores | None, index: int) -> dict[str, float] | None:
    if scores is None:
        return None
    return {name: values[index] for name, values in scores.per_example.items()}


def worst_example_indices(
    scores: Scores, primary_metric: str, count: int, baseline_scores: Scores | None = None
) -> list[int]:
    """Indices of the weakest examples that lost something: lowest primary score first, then the largest
    regression. An example lost something when it scored below 1.0 (a perfect answer) or below the
    baseline; a perfect example is never listed, so the section is empty when nothing was lost."""
    primary = scores.per_example[primary_metric]
    base = baseline_scores.per_example[primary_metric] if baseline_scores is not None else None
    lost = [
        i for i in range(len(primary))
        if primary[i] < 1.0 - 1e-9 or (base is not None and primary[i] < base[i] - 1e-9)
    ]
    order = sorted(
        lost,
        key=lambda i: (primary[i], primary[i] - base[i] if base is not None else 0.0, i),
    )
    return order[: max(count, 0)]


def build_report(
    *,
    examples: Sequence[EvalExample],
    predictions: Sequence[str],
    scores: Scores,
    gate: GateResult,
    model: Mapping[str, Any],
    eval_dataset_uri: str,
    primary_metric: str,
    baseline: Mapping[str, Any] | None = None,
    baseline_predictions: Sequence[str] | None = None,
    baseline_scores: Scores | None = None,
    settings: Mapping[str, Any] | None = None,
    worst_count: int = 10,
    created_at: str | None = None,
    duration_seconds: float | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report as a JSON-ready dict: summary, gate verdict, worst examples and every prediction."""
    baseline_metrics = baseline_scores.corpus if baseline_scores is not None else None
    delta = (
        {name: value - baseline_metrics[name] for name, value in scores.corpus.items()}
        if baseline_metrics is not None
        else None
    )

    def row(i: int, *, with_input: bool) -> dict[str, Any]:
        entry: dict[str, Any] = {"line": examples[i].line}
        if with_input:
            entry["input"] = examples[i].prompt_text()
        entry.update(
            reference=examples[i].reference,
            prediction=predictions[i],
            baseline_prediction=baseline_predictions[i] if baseline_predictions is not None else None,
            scores=_example_scores(scores, i),
            baseline_scores=_example_scores(baseline_scores, i),
        )
        return entry

    worst = worst_example_indices(scores, primary_metric, worst_count, baseline_scores)
    return {
        "created_at": created_at,
        "model": dict(model),
        "baseline": dict(baseline) if baseline is not None else None,
        "eval_dataset_uri": eval_dataset_uri,
        "examples": len(examples),
        "metrics": dict(scores.corpus),
        "baseline_metrics": dict(baseline_metrics) if baseline_metrics is not None else None,
        "delta": delta,
        "primary_metric": primary_metric,
        "passed": gate.passed,
        "failures": list(gate.failures),
        "gate": [vars(r) for r in gate.rows],
        "settings": dict(settings or {}),
        "duration_seconds": duration_seconds,
        "worst_examples": [row(i, with_input=True) for i in worst],
        "predictions": [row(i, with_input=False) for i in range(len(examples))],
        **dict(extra or {}),
    }


# -- HTML -------------------------------------------------------------------------------------------------
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#202124;max-width:1200px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.meta{color:#5f6368;margin:2px 0}.meta code{font-size:12px}
.verdict{display:inline-block;padding:4px 12px;border-radius:4px;font-weight:600;margin:12px 0}
.pass{background:#e6f4ea;color:#137333}.fail{background:#fce8e6;color:#a50e0e}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #dadce0;padding:6px 8px;text-align:left;
vertical-align:top}th{background:#f8f9fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.bad{color:#a50e0e;font-weight:600}ul.failures{color:#a50e0e}
pre{white-space:pre-wrap;word-break:break-word;margin:0;max-height:16em;overflow:auto;
font:12px/1.4 ui-monospace,monospace}
.score{display:block;color:#5f6368;font-size:12px;margin-top:4px}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
"""


def _num(value: Any, *, signed: bool = False) -> str:
    if value is None:
        return "&ndash;"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def _text(value: str | None) -> str:
    if value is None:
        return "&ndash;"
    clipped = value if len(value) <= MAX_TEXT_CHARS else value[:MAX_TEXT_CHARS] + " [...]"
    return f"<pre>{html.escape(clipped)}</pre>"


def _score(metric: str, value: float | None) -> str:
    return f"<span class='score'>{html.escape(metric)} {_num(value)}</span>"


def render_chart(metrics: Mapping[str, float], baseline_metrics: Mapping[str, float] | None) -> str:
    """An inline SVG horizontal bar chart, challenger vs baseline per metric, on a 0..max(1, values) scale."""
    label_w, bar_area, bar_h, gap = 110, 440, 14, 12
    values = list(metrics.values()) + list((baseline_metrics or {}).values())
    scale = max([1.0, *values])
    bars_per_metric = 2 if baseline_metrics is not None else 1
    group_h = bars_per_metric * bar_h + gap
    height = len(metrics) * group_h + gap
    width = label_w + bar_area + 70
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="Challenger vs baseline metrics" font-family="system-ui,sans-serif" font-size="12">'
    ]
    for k, (name, value) in enumerate(metrics.items()):
        y = gap + k * group_h
        out.append(f'<text x="0" y="{y + bar_h - 3}">{html.escape(name)}</text>')
        series: list[tuple[float | None, str, str]] = [(value, CHALLENGER_COLOR, "challenger")]
        if baseline_metrics is not None:
            series.append((baseline_metrics.get(name), BASELINE_COLOR, "baseline"))
        for j, (v, color, who) in enumerate(series):
            if v is None:
                continue
            w = max(0.0, v) / scale * bar_area
            yy = y + j * bar_h
            out.append(
                f'<rect x="{label_w}" y="{yy}" width="{w:.1f}" height="{bar_h - 2}" fill="{color}">'
                f"<title>{html.escape(name)} {who} {v:.4f}</title></rect>"
                f'<text x="{label_w + w + 4:.1f}" y="{yy + bar_h - 4}">{v:.4f}</text>'
            )
    out.append("</svg>")
    return "".join(out)


def render_html(report: Mapping[str, Any]) -> str:
    """The report as one self-contained HTML page."""
    esc = html.escape
    model = report.get("model") or {}
    baseline = report.get("baseline")
    has_base = report.get("baseline_metrics") is not None
    verdict = "PASSED" if report["passed"] else "FAILED"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Evaluation report: {esc(str(model.get('requested', '')))}</title><style>{_CSS}</style></head><body>",
        f"<h1>Evaluation report</h1><p class='meta'>Model: <code>{esc(str(model.get('requested', '')))}</code>"
        f" (serving <code>{esc(str(model.get('serving', '')))}</code>)</p>",
    ]
    if baseline:
        parts.append(
            f"<p class='meta'>Baseline: <code>{esc(str(baseline.get('requested', '')))}</code>"
            f" (serving <code>{esc(str(baseline.get('serving', '')))}</code>)</p>"
        )
    parts.append(
        f"<p class='meta'>Data: <code>{esc(str(report.get('eval_dataset_uri', '')))}</code>, "
        f"{report['examples']} examples; primary metric <code>{esc(str(report['primary_metric']))}</code>"
        f"{'; created ' + esc(str(report['created_at'])) if report.get('created_at') else ''}</p>"
        f"<div class='verdict {'pass' if report['passed'] else 'fail'}'>{verdict}</div>"
    )
    if report.get("failures"):
        parts.append("<ul class='failures'>" + "".join(f"<li>{esc(f)}</li>" for f in report["failures"]) + "</ul>")
    parts.append(_metric_table(report, has_base))
    parts.append("<h2>Challenger vs baseline</h2>" if has_base else "<h2>Metrics</h2>")
    parts.append(
        f"<p class='legend'><span style='background:{CHALLENGER_COLOR}'></span>challenger"
        + (f"<span style='background:{BASELINE_COLOR}'></span>baseline" if has_base else "")
        + "</p>"
    )
    parts.append(render_chart(report["metrics"], report.get("baseline_metrics")))
    parts.append(chart.render_section(report))
    if report.get("classification"):
        parts.append(classification.render_html(report["classification"], report.get("baseline_classification")))
    parts.append(_worst_table(report, has_base))
    parts.append("</body></html>")
    return "\n".join(parts)


def _metric_table(report: Mapping[str, Any], has_base: bool) -> str:
    rows = {row["metric"]: row for row in report.get("gate", [])}
    head = (
        "<tr><th>metric</th><th>challenger</th>"
        + ("<th>baseline</th><th>delta</th>" if has_base else "")
        + "<th>gate</th><th>status</th></tr>"
    )
    body = []
    # per-label scores with a threshold (``f1:billing``) are gated too: show them after the metrics
    gated = {row["metric"]: row["value"] for row in report.get("gate", []) if row["metric"] not in report["metrics"]}
    for name, value in {**report["metrics"], **gated}.items():
        gate = rows.get(name, {})
        ok = gate.get("ok", True)
        rules = []
        if gate.get("threshold") is not None:
            rules.append(f"&ge; {_num(gate['threshold'])}")
        if gate.get("required_delta") is not None:
            rules.append(f"delta &ge; {gate['required_delta']:+.4f}")
        threshold = "; ".join(rules) or "&ndash;"
        cells = [f"<td>{html.escape(name)}</td>", f"<td class='num'>{_num(value)}</td>"]
        if has_base:
            cells.append(f"<td class='num'>{_num((report['baseline_metrics'] or {}).get(name))}</td>")
            cells.append(f"<td class='num'>{_num((report.get('delta') or {}).get(name), signed=True)}</td>")
        cells.append(f"<td class='num'>{threshold}</td>")
        cells.append("<td>ok</td>" if ok else "<td class='bad'>FAIL</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return "<h2>Metrics</h2><table>" + head + "".join(body) + "</table>"


def _worst_table(report: Mapping[str, Any], has_base: bool) -> str:
    primary = report["primary_metric"]
    worst = report.get("worst_examples") or []
    if not worst:
        return (f"<h2>Worst examples</h2><p>None: every example scored 1.0 on {html.escape(primary)}"
                + (" and no lower than the baseline" if has_base else "") + ".</p>")
    head = (
        f"<h2>Worst {len(worst)} examples by {html.escape(primary)}</h2><table><tr><th>line</th><th>input</th>"
        "<th>reference</th><th>prediction</th>" + ("<th>baseline prediction</th>" if has_base else "") + "</tr>"
    )
    body = []
    for ex in worst:
        score = (ex.get("scores") or {}).get(primary)
        base = (ex.get("baseline_scores") or {}).get(primary)
        cells = [
            f"<td class='num'>{ex['line']}</td>",
            f"<td>{_text(ex.get('input'))}</td>",
            f"<td>{_text(ex.get('reference'))}</td>",
            f"<td>{_text(ex.get('prediction'))}{_score(primary, score)}</td>",
        ]
        if has_base:
            cells.append(f"<td>{_text(ex.get('baseline_prediction'))}{_score(primary, base)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return head + "".join(body) + "</table>"
