"""Metrics: SQuAD-style exact match and token F1, ROUGE-L through rouge-score, BLEU through sacrebleu."""

from __future__ import annotations

import math

import pytest

from airflow_tuning.evaluation.metrics import (
    DEFAULT_METRICS,
    MetricError,
    exact_match,
    metric_name,
    resolve_metrics,
    score,
    token_f1,
    tokenize,
)


def test_tokenize_is_unicode_aware_and_splits_cjk_per_character():
    assert tokenize("Größe, über-all!") == ["grösse", "über", "all"]  # casefold: ß == ss
    assert tokenize("東京は首都") == ["東", "京", "は", "首", "都"]
    assert tokenize("abc東京") == ["abc", "東", "京"]
    assert tokenize("") == []


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("The Cat.", "cat", 1.0),
        ("a  cat", "The cat!", 1.0),
        ("cat", "dog", 0.0),
        ("cat sat", "sat cat", 0.0),
        ("", "", 1.0),
    ],
)
def test_exact_match_normalizes_case_punctuation_and_articles(prediction, reference, expected):
    assert exact_match(prediction, reference) == expected


def test_token_f1_matches_the_squad_definition():
    # normalized: pred [cat, sat], ref [cat, sat, on, mat] -> P = 1, R = 0.5
    assert token_f1("the cat sat", "the cat sat on the mat") == pytest.approx(2 / 3)
    assert token_f1("cat cat", "cat") == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert token_f1("dog", "cat") == 0.0
    assert token_f1("", "") == 1.0
    assert token_f1("", "cat") == 0.0
    assert token_f1("the", "cat") == 0.0  # only an article: empty after normalisation


def test_rouge_l_agrees_with_rouge_score_default_on_ascii_text():
    from rouge_score import rouge_scorer

    preds = ["the quick brown fox jumps", "a b c d", "completely different words"]
    refs = ["the quick fox jumped over", "a c d b", "nothing in common here"]
    reference_impl = rouge_scorer.RougeScorer(["rougeL"])
    expected = [reference_impl.score(r, p)["rougeL"].fmeasure for p, r in zip(preds, refs)]
    result = score(preds, refs, resolve_metrics(["rouge_l"]))
    assert result.per_example["rouge_l"] == pytest.approx(expected)
    assert result.corpus["rouge_l"] == pytest.approx(sum(expected) / 3)
    assert 0 < result.corpus["rouge_l"] < 1


def test_rouge_l_scores_non_ascii_text_that_the_default_tokenizer_drops():
    from rouge_score import rouge_scorer

    text = "東京は日本の首都です"
    assert rouge_scorer.RougeScorer(["rougeL"]).score(text, text)["rougeL"].fmeasure == 0.0
    result = score([text, "京都です"], [text, "東京です"], resolve_metrics(["rouge_l"]))
    assert result.per_example["rouge_l"][0] == 1.0
    # LCS of 京都です / 東京です = 京です (3 of 4 characters)
    assert result.per_example["rouge_l"][1] == pytest.approx(0.75)


def test_bleu_is_sacrebleu_corpus_bleu_scaled_to_unit_interval():
    import sacrebleu

    preds = ["the cat sat on the mat today", "hello there general kenobi", "nothing"]
    refs = ["the cat sat on the mat", "hello there general kenobi", "something else entirely"]
    result = score(preds, refs, resolve_metrics(["bleu"]))
    assert result.corpus["bleu"] == pytest.approx(sacrebleu.corpus_bleu(preds, [refs]).score / 100)
    assert result.per_example["bleu"][1] == pytest.approx(1.0)
    assert result.per_example["bleu"][2] == 0.0


def test_bleu_of_correct_short_answers_is_one_not_zero():
    # plain corpus BLEU is 0 here: no 4-gram exists; effective order leaves the empty orders out
    preds = refs = ["Paris", "forty two", "blue"]
    assert score(preds, refs, resolve_metrics(["bleu"])).corpus["bleu"] == pytest.approx(1.0)


def test_default_metrics_on_perfect_and_wrong_predictions():
    metrics = resolve_metrics(DEFAULT_METRICS)
    refs = ["Paris is the capital of France", "Water boils at 100 degrees Celsius"]
    perfect = score(refs, refs, metrics).corpus
    assert perfect == pytest.approx(dict.fromkeys(DEFAULT_METRICS, 1.0))
    wrong = score(["no idea", "ask someone else"], refs, metrics).corpus
    assert wrong == pytest.approx(dict.fromkeys(DEFAULT_METRICS, 0.0))


def test_user_callable_is_averaged_under_its_name():
    def length_ratio(prediction: str, reference: str) -> float:
        return len(prediction) / len(reference)

    result = score(["ab", "abcd"], ["abcd", "abcd"], resolve_metrics(["exact_match", length_ratio]))
    assert result.corpus["length_ratio"] == pytest.approx(0.75)
    assert result.per_example["length_ratio"] == [0.5, 1.0]


def test_user_callable_with_metric_name_attribute():
    fn = lambda p, r: 1.0  # noqa: E731
    fn.metric_name = "always_one"
    assert metric_name(fn) == "always_one"
    assert score(["x"], ["y"], resolve_metrics([fn])).corpus == {"always_one": 1.0}


def test_lambda_without_a_name_is_rejected():
    with pytest.raises(ValueError, match="lambda"):
        resolve_metrics([lambda p, r: 1.0])


@pytest.mark.parametrize(("value", "reason"), [(math.nan, "finite"), ("high", "a number"), (None, "a number")])
def test_bad_user_metric_values_name_the_metric_and_example(value, reason):
    def broken(prediction, reference):
        return value if prediction == "bad" else 1.0

    with pytest.raises(MetricError, match=rf"'broken' returned .*{reason}.* for gs://b/e.jsonl line 9"):
        score(
            ["ok", "bad"],
            ["r", "r"],
            resolve_metrics([broken]),
            labels=["gs://b/e.jsonl line 4", "gs://b/e.jsonl line 9"],
        )


def test_unknown_duplicate_and_empty_metric_lists_fail_clearly():
    with pytest.raises(ValueError, match="Unknown metric 'rouge_2'.*exact_match, token_f1, rouge_l, bleu"):
        resolve_metrics(["rouge_2"])
    with pytest.raises(ValueError, match="repeated: bleu"):
        resolve_metrics(["bleu", "bleu"])
    with pytest.raises(ValueError, match="At least one"):
        resolve_metrics([])
    with pytest.raises(ValueError, match="built-in name or a callable"):
        resolve_metrics([3])
    assert [m.name for m in resolve_metrics("bleu")] == ["bleu"]


def test_score_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="2 predictions for 1 references"):
        score(["a", "b"], ["a"], resolve_metrics(["exact_match"]))
