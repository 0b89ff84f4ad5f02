"""Text-generation metrics for judging a tuned model against references.

ROUGE-L comes from ``rouge-score`` and BLEU from ``sacrebleu`` (both imported lazily: ``rouge_score`` pulls
in NLTK, about half a second, which DAG parsing must not pay). Exact match and token F1 follow the SQuAD
evaluation script: lowercase, drop punctuation and the English articles a/an/the, compare tokens.

Tokenisation is Unicode-aware everywhere. ``rouge-score``'s default tokenizer keeps only ``[a-z0-9]``, so a
German, French or Japanese answer would lose its accented words or score zero outright; ROUGE-L here runs
on the same tokens as token F1 instead: runs of letters and digits in any script, with each CJK ideograph
or kana counted as one token (those scripts do not separate words with spaces). BLEU keeps sacrebleu's
standard ``13a`` tokenizer so its numbers stay comparable with published BLEU, with ``effective_order``:
n-gram orders that match nowhere are left out instead of zeroing the score, so a set of short answers
("Paris", "42") that are all right scores 1.0, not 0.0. On ordinary sentences this equals
``sacrebleu.corpus_bleu``. sacrebleu downloads nothing for corpus scoring.

A user metric is any named callable ``fn(prediction, reference) -> float``; the corpus value is the mean.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

MetricFn = Callable[[str, str], float]
DEFAULT_METRICS: tuple[str, ...] = ("exact_match", "token_f1", "rouge_l", "bleu")
DEFAULT_PRIMARY_METRIC = "rouge_l"

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_ARTICLES = frozenset({"a", "an", "the"})
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def tokenize(text: str) -> list[str]:
    """Lowercased word tokens of any script; CJK characters one token each; punctuation dropped."""
    return _token_re().findall(unicodedata.normalize("NFKC", text or "").casefold())


@cache
def _token_re() -> re.Pattern[str]:
    """The token pattern, compiled on first use: its Unicode classes take milliseconds to compile, which
    every DAG that defines an evaluation task would otherwise pay when it is parsed."""
    return re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")


def normalize_tokens(text: str) -> list[str]:
    """SQuAD-style normalisation: tokens without punctuation or English articles."""
    return [tok for tok in tokenize(text) if tok not in _ARTICLES]


def exact_match(prediction: str, reference: str) -> float:
    """1.0 when the normalised token sequences are equal."""
    return float(normalize_tokens(prediction) == normalize_tokens(reference))


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1 of the normalised tokens (1.0 if both are empty, 0.0 if only one is)."""
    pred, ref = normalize_tokens(prediction), normalize_tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


class _UnicodeTokenizer:
    """The ``rouge_score`` tokenizer interface over :func:`tokenize`."""

    def tokenize(self, text: str) -> list[str]:
        return tokenize(text)


def _rouge_l(predictions: Sequence[str], references: Sequence[str]) -> list[float]:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_UnicodeTokenizer())
    return [scorer.score(ref, pred)["rougeL"].fmeasure for pred, ref in zip(predictions, references, strict=True)]


def _bleu_sentences(predictions: Sequence[str], references: Sequence[str]) -> list[float]:
    from sacrebleu.metrics import BLEU

    bleu = BLEU(effective_order=True)
    return [bleu.sentence_score(p, [r]).score / 100.0 for p, r in zip(predictions, references, strict=True)]


def _bleu_corpus(predictions: Sequence[str], references: Sequence[str], _scores: Sequence[float]) -> float:
    from sacrebleu.metrics import BLEU

    return BLEU(effective_order=True).corpus_score(list(predictions), [list(references)]).score / 100.0


def _per_pair(fn: MetricFn) -> Callable[[Sequence[str], Sequence[str]], list[float]]:
    def run(predictions: Sequence[str], references: Sequence[str]) -> list[float]:
        return [fn(p, r) for p, r in zip(predictions, references, strict=True)]

    return run


def _mean(_predictions: Sequence[str], _references: Sequence[str], scores: Sequence[float]) -> float:
    return sum(scores) / len(scores) if scores else 0.0


@dataclass(frozen=True)
class Metric:
    """A metric: per-example scores (for ranking the worst examples) and a corpus value (for the gate)."""

    name: str
    per_example: Callable[[Sequence[str], Sequence[str]], list[float]]
    corpus: Callable[[Sequence[str], Sequence[str], Sequence[float]], float] = _mean
    builtin: bool = True


BUILTIN_METRICS: dict[str, Metric] = {
    "exact_match": Metric("exact_match", _per_pair(exact_match)),
    "token_f1": Metric("token_f1", _per_pair(token_f1)),
    "rouge_l": Metric("rouge_l", _rouge_l),
    "bleu": Metric("bleu", _bleu_sentences, _bleu_corpus),
}


def metric_name(spec: str | MetricFn) -> str:
    """The name a metric is reported under: the string itself, or the callable's ``__name__``."""
    if isinstance(spec, str):
        return spec
    name = getattr(spec, "metric_name", None) or getattr(spec, "__name__", None)
    if not name or not _NAME_RE.match(name):
        raise ValueError(
            f"Metric callable {spec!r} needs a plain name to be reported under (a def, not a lambda, "
            "or set its `metric_name` attribute)"
        )
    return name


def resolve_metrics(specs: Sequence[str | MetricFn], *, label_pattern: str | None = None) -> list[Metric]:
    """Built-in names and user callables as :class:`Metric` objects; unknown names fail with the choices.

    ``accuracy`` and ``macro_f1`` judge answers as labels (see classification.py), the whole answer or
    the first group of ``label_pattern``.
    """
    if isinstance(specs, str):
        specs = [specs]
    resolved: list[Metric] = []
    for spec in specs:  # the label and preference metrics' modules load only for a DAG that uses them
        if isinstance(spec, str) and spec in BUILTIN_METRICS:
            resolved.append(BUILTIN_METRICS[spec])
        elif isinstance(spec, str):
            from airflow_tuning.evaluation.preference import PREFERENCE_ACCURACY, preference_metric

            if spec == PREFERENCE_ACCURACY:
                resolved.append(preference_metric())
                continue
            from airflow_tuning.evaluation.classification import CLASSIFICATION_METRICS, classification_metric

            if spec not in CLASSIFICATION_METRICS:
                choices = ", ".join([*BUILTIN_METRICS, *CLASSIFICATION_METRICS, PREFERENCE_ACCURACY])
                raise ValueError(f"Unknown metric {spec!r}; built-in metrics are {choices}")
            resolved.append(classification_metric(spec, label_pattern))
        elif callable(spec):
            resolved.append(Metric(metric_name(spec), _checked_user_metric(spec), builtin=False))
        else:
            raise ValueError(f"A metric must be a built-in name or a callable, got {spec!r}")
    names = [m.name for m in resolved]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"Metric names must be unique; repeated: {', '.join(duplicates)}")
    if not resolved:
        raise ValueError("At least one metric is required")
    return resolved


class MetricError(ValueError):
    """A user metric returned something that is not a finite number for one example."""

    def __init__(self, metric: str, index: int, reason: str, where: str | None = None) -> None:
        self.metric, self.index, self.reason = metric, index, reason
        super().__init__(f"Metric {metric!r} {reason} for {where or f'example {index}'}")


def _checked_user_metric(fn: MetricFn) -> Callable[[Sequence[str], Sequence[str]], list[float]]:
    name = metric_name(fn)

    def run(predictions: Sequence[str], references: Sequence[str]) -> list[float]:
        scores: list[float] = []
        for index, (pred, ref) in enumerate(zip(predictions, references, strict=True)):
            value: Any = fn(pred, ref)
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise MetricError(name, index, f"returned {value!r}; expected a number") from None
            if not math.isfinite(number):
                raise MetricError(name, index, f"returned {value!r}; expected a finite number")
            scores.append(number)
        return scores

    return run


@dataclass(frozen=True)
class Scores:
    """Corpus values and per-example scores of one model's predictions."""

    corpus: dict[str, float]
    per_example: dict[str, list[float]]


def score(
    predictions: Sequence[str],
    references: Sequence[str],
    metrics: Sequence[Metric],
    *,
    labels: Sequence[str] | None = None,
) -> Scores:
    """Score predictions against references with every metric.

    ``labels`` name the examples (e.g. ``"gs://b/eval.jsonl line 7"``) in the error a user metric raises.
    """
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    corpus: dict[str, float] = {}
    per_example: dict[str, list[float]] = {}
    for metric in metrics:
        try:
            scores = metric.per_example(predictions, references)
        except MetricError as err:
            where = labels[err.index] if labels is not None else None
            raise MetricError(err.metric, err.index, err.reason, where) from None
        per_example[metric.name] = scores
        corpus[metric.name] = float(metric.corpus(predictions, references, scores))
    return Scores(corpus, per_example)
