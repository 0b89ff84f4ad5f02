"""Preference pairs as evaluation data, and the ``preference_accuracy`` metric.

A held-out preference example (Vertex preference JSONL, or a TRL ``prompt``/``chosen``/``rejected`` row)
evaluates like a supervised one whose reference is the chosen completion, so every text metric works on it
unchanged; the rejected completion rides along on the reference (:class:`PreferenceReference`).
``preference_accuracy`` is the share of pairs where the model's answer is closer, by ROUGE-L (the default
primary text metric), to the chosen than to the rejected completion; a tie counts as not closer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PREFERENCE_ACCURACY = "preference_accuracy"


class PreferenceReference(str):
    """The chosen completion as a plain reference string, carrying the rejected completion too."""

    rejected: str

    def __new__(cls, chosen: str, rejected: str) -> PreferenceReference:
        value = super().__new__(cls, chosen)
        value.rejected = rejected
        return value


def parse_preference_example(obj: dict[str, Any]) -> tuple[list[dict[str, Any]], Any, PreferenceReference]:
    """(prompt turns, system instruction, reference) of one preference line; ValueError says why not."""
    from airflow_tuning.dataset.preference import check_preference, preference_pair
    from airflow_tuning.dataset.validation import InvalidExample

    try:
        example = check_preference(obj)
    except InvalidExample as err:
        raise ValueError(str(err)) from None
    _, chosen, rejected = preference_pair(example)
    return example["contents"], example.get("systemInstruction"), PreferenceReference(chosen, rejected)


def is_preference_data(obj: Any) -> bool:
    return isinstance(obj, dict) and ("completions" in obj or {"prompt", "chosen", "rejected"} <= set(obj))


def _preference_accuracy(predictions: Sequence[str], references: Sequence[str]) -> list[float]:
    from airflow_tuning.evaluation.metrics import BUILTIN_METRICS, DEFAULT_PRIMARY_METRIC

    missing = [i for i, ref in enumerate(references) if not isinstance(ref, PreferenceReference)]
    if missing:
        raise ValueError(
            f"metric {PREFERENCE_ACCURACY!r} needs preference evaluation data (pairs of a chosen and a rejected "
            f"completion); example {missing[0] + 1} has a single reference answer"
        )
    text_metric = BUILTIN_METRICS[DEFAULT_PRIMARY_METRIC].per_example
    to_chosen = text_metric(predictions, list(references))
    to_rejected = text_metric(predictions, [ref.rejected for ref in references])  # type: ignore[attr-defined]
    return [1.0 if c > r else 0.0 for c, r in zip(to_chosen, to_rejected, strict=True)]


def preference_metric() -> Any:
    from airflow_tuning.evaluation.metrics import Metric

    return Metric(PREFERENCE_ACCURACY, _preference_accuracy)


def check_pairs(metric_names: Sequence[str], references: Sequence[str], labels: Sequence[str]) -> None:
    """Before any model is called: ``preference_accuracy`` needs every example to be a preference pair."""
    if PREFERENCE_ACCURACY not in metric_names:
        return
    from airflow_tuning.evaluation.dataset import EvalDataError

    for reference, label in zip(references, labels, strict=True):
        if not isinstance(reference, PreferenceReference):
            raise EvalDataError(
                f"metric {PREFERENCE_ACCURACY!r} needs preference evaluation data (a chosen and a rejected "
                f"completion per example); {label} has a single reference answer"
            )
