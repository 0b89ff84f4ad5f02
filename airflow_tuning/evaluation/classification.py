"""Classification metrics for tuned models whose answer is a label (ticket triage, e-mail intents).

An answer's label is the whole answer, or the first group of ``label_pattern`` (a regex such as
``category: (\\w+)``; without a group, the whole match), stripped and case-folded. The known labels are
the references' labels; a prediction whose label is missing or not among them counts as its own class,
``unknown``, so a model that answers off-script loses recall on the true class without inventing
classes. A reference without a label is an error naming the example: the data, not the model, is wrong.

* ``accuracy``: share of examples whose predicted label equals the reference's;
* ``macro_f1``: the unweighted mean of the per-label F1 over the known labels (not ``unknown``);
* per label: precision, recall, F1 and support, reported under ``precision:LABEL``, ``recall:LABEL`` and
  ``f1:LABEL`` (the names thresholds use); a label never predicted has precision 0.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

UNKNOWN = "unknown"
CLASSIFICATION_METRICS = ("accuracy", "macro_f1")
PER_LABEL_KINDS = ("precision", "recall", "f1")
PER_LABEL_RE = re.compile(r"^(precision|recall|f1):(.+)$")


class LabelError(ValueError):
    """A reference has no label, or ``label_pattern`` is not a usable regex."""


def compile_pattern(label_pattern: str | None) -> re.Pattern[str] | None:
    if label_pattern is None or label_pattern == "":
        return None
    try:
        pattern = re.compile(label_pattern)
    except re.error as err:
        raise LabelError(f"label_pattern {label_pattern!r} is not a valid regular expression: {err}") from None
    if pattern.groups > 1:
        raise LabelError(f"label_pattern {label_pattern!r} has {pattern.groups} groups; use one group around the label")
    return pattern


def extract_label(text: str, pattern: re.Pattern[str] | None) -> str | None:
    """The label in an answer (normalised), or None when the pattern finds nothing."""
    if pattern is None:
        value = text
    else:
        match = pattern.search(text or "")
        if match is None:
            return None
        value = match.group(1) if pattern.groups else match.group(0)
    value = " ".join((value or "").split()).casefold()
    return value or None


def reference_labels(references: Sequence[str], pattern: re.Pattern[str] | None,
                     names: Sequence[str] | None = None) -> list[str]:
    """Every reference's label; a reference without one is an error naming the example."""
    labels = []
    for index, reference in enumerate(references):
        label = extract_label(reference, pattern)
        if label is None:
            where = names[index] if names is not None else f"example {index}"
            raise LabelError(
                f"The reference of {where} has no label"
                + (f" matching label_pattern {pattern.pattern!r}" if pattern is not None else " (it is empty)")
                + "; fix the data or the pattern"
            )
        labels.append(label)
    return labels


def predicted_labels(predictions: Sequence[str], known: set[str], pattern: re.Pattern[str] | None) -> list[str]:
    out = []
    for prediction in predictions:
        label = extract_label(prediction, pattern)
        out.append(label if label in known else UNKNOWN)
    return out


@dataclass(frozen=True)
class Classification:
    """Labels (known ones sorted, then ``unknown`` if predicted), confusion counts and per-label scores."""

    labels: list[str]
    matrix: list[list[int]]  # matrix[true][predicted], indexed like ``labels``
    per_label: dict[str, dict[str, float]]
    accuracy: float
    macro_f1: float

    def flat(self) -> dict[str, float]:
        """Per-label scores as ``{"f1:billing": 0.8, ...}``: the names thresholds use."""
        return {f"{kind}:{label}": scores[kind] for label, scores in self.per_label.items() for kind in PER_LABEL_KINDS}

    def as_dict(self) -> dict[str, Any]:
        return {"labels": self.labels, "confusion_matrix": self.matrix, "per_label": self.per_label,
                "accuracy": self.accuracy, "macro_f1": self.macro_f1}


def classify(predictions: Sequence[str], references: Sequence[str], label_pattern: str | None = None,
             *, names: Sequence[str] | None = None) -> Classification:
    """Confusion matrix and scores of predictions against references."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    pattern = compile_pattern(label_pattern)
    truth = reference_labels(references, pattern, names)
    known = sorted(set(truth))
    predicted = predicted_labels(predictions, set(known), pattern)
    labels = known + ([UNKNOWN] if UNKNOWN in predicted and UNKNOWN not in known else [])
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for t, p in zip(truth, predicted, strict=True):
        matrix[index[t]][index[p]] += 1
    per_label: dict[str, dict[str, float]] = {}
    for label in known:
        i = index[label]
        tp = matrix[i][i]
        predicted_count = sum(row[i] for row in matrix)
        support = sum(matrix[i])
        precision = tp / predicted_count if predicted_count else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    correct = sum(matrix[index[label]][index[label]] for label in known)
    accuracy = correct / len(truth) if truth else 0.0
    macro = sum(s["f1"] for s in per_label.values()) / len(per_label) if per_label else 0.0
    return Classification(labels, matrix, per_label, accuracy, macro)


def correct_per_example(
    predictions: Sequence[str], references: Sequence[str], label_pattern: str | None
) -> list[float]:
    """1.0 where the predicted label is the reference's, else 0.0 (ranks the worst examples)."""
    pattern = compile_pattern(label_pattern)
    truth = reference_labels(references, pattern)
    predicted = predicted_labels(predictions, set(truth), pattern)
    return [float(t == p) for t, p in zip(truth, predicted, strict=True)]


def split_thresholds(thresholds: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Thresholds on corpus metrics, and those on per-label scores (``f1:billing``)."""
    corpus = {k: v for k, v in thresholds.items() if not PER_LABEL_RE.match(k)}
    per_label = {k: v for k, v in thresholds.items() if PER_LABEL_RE.match(k)}
    return corpus, per_label


# -- HTML ------------------------------------------------------------------------------------------------
def render_html(challenger: Mapping[str, Any], baseline: Mapping[str, Any] | None) -> str:
    """Per-label rows (challenger and baseline side by side) and the challenger's confusion matrix."""
    esc = html.escape
    out = ["<h2>Per label</h2><table><tr><th>label</th><th>support</th>"
           "<th>precision</th><th>recall</th><th>F1</th>"
           + ("<th>baseline precision</th><th>baseline recall</th><th>baseline F1</th>" if baseline else "")
           + "</tr>"]
    for label, scores in challenger["per_label"].items():
        cells = [f"<td>{esc(label)}</td>", f"<td class='num'>{scores['support']}</td>"]
        cells += [f"<td class='num'>{scores[k]:.4f}</td>" for k in PER_LABEL_KINDS]
        if baseline:
            base = baseline["per_label"].get(label)
            cells += [f"<td class='num'>{base[k]:.4f}</td>" if base else "<td>&ndash;</td>" for k in PER_LABEL_KINDS]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    for title, data in (("Confusion matrix (challenger)", challenger), ("Confusion matrix (baseline)", baseline)):
        if data:
            out.append(_matrix(title, data["labels"], data["confusion_matrix"]))
    return "".join(out)


def _matrix(title: str, labels: Sequence[str], matrix: Sequence[Sequence[int]]) -> str:
    esc = html.escape
    peak = max([1, *(v for row in matrix for v in row)])
    head = "<tr><th>true \\ predicted</th>" + "".join(f"<th>{esc(label)}</th>" for label in labels) + "</tr>"
    rows = []
    for i, label in enumerate(labels):
        cells = []
        for j, value in enumerate(matrix[i]):
            alpha = 0.08 + 0.6 * value / peak if value else 0.0
            color = "26,115,232" if i == j else "217,48,37"
            style = f" style='background:rgba({color},{alpha:.2f})'" if value else ""
            cells.append(f"<td class='num'{style}>{value}</td>")
        rows.append(f"<tr><th>{esc(label)}</th>{''.join(cells)}</tr>")
    return f"<h2>{esc(title)}</h2><table class='confusion'>{head}{''.join(rows)}</table>"


def classification_metric(name: str, label_pattern: str | None) -> Any:
    """``accuracy`` or ``macro_f1`` as a :class:`~airflow_tuning.evaluation.metrics.Metric`.

    Per example both score 1.0 for the right label and 0.0 otherwise; the corpus value of ``macro_f1`` is
    the macro-averaged F1, not a mean of those.
    """
    from airflow_tuning.evaluation.metrics import Metric

    compile_pattern(label_pattern)  # a bad pattern fails when the DAG is parsed

    def per_example(predictions: Sequence[str], references: Sequence[str]) -> list[float]:
        return correct_per_example(predictions, references, label_pattern)

    def macro(predictions: Sequence[str], references: Sequence[str], _scores: Sequence[float]) -> float:
        return classify(predictions, references, label_pattern).macro_f1

    if name == "macro_f1":
        return Metric(name, per_example, macro)
    return Metric(name, per_example)


def per_label_values(thresholds: Mapping[str, Any], result: Classification) -> dict[str, float]:
    """The per-label scores that per-label thresholds name; a label the data lacks is an error."""
    values: dict[str, float] = {}
    for key in thresholds:
        match = PER_LABEL_RE.match(key)
        if not match:
            continue
        kind, label = match.group(1), " ".join(match.group(2).split()).casefold()
        if label not in result.per_label:
            raise LabelError(
                f"Threshold {key!r} names the label {label!r}, which no reference in the evaluation data has; "
                f"its labels are: {', '.join(result.per_label) or 'none'}"
            )
        values[key] = result.per_label[label][kind]
    return values


def is_classification(metric_names: Sequence[str]) -> bool:
    return any(name in CLASSIFICATION_METRICS for name in metric_names)


def check_references(metric_names: Sequence[str], label_pattern: str | None, references: Sequence[str],
                     names: Sequence[str]) -> None:
    """Before any call is paid for: with a classification metric, every reference must have a label."""
    if is_classification(metric_names):
        reference_labels(references, compile_pattern(label_pattern), names)
