"""Preference pairs as evaluation data and the ``preference_accuracy`` metric."""

from __future__ import annotations

import json

import pytest

from airflow_tuning.evaluation.dataset import EvalDataError, parse_eval_lines
from airflow_tuning.evaluation.metrics import resolve_metrics, score
from airflow_tuning.evaluation.preference import PreferenceReference, check_pairs


def _turn(role, text):
    return {"role": role, "parts": [{"text": text}]}


def _pair(prompt, chosen, rejected):
    return json.dumps({"contents": [_turn("user", prompt)],
                       "completions": [{"score": 0, "completion": _turn("model", rejected)},
                                       {"score": 1, "completion": _turn("model", chosen)}]})


def test_preference_lines_and_trl_rows_evaluate_with_the_chosen_answer_as_reference():
    lines = [_pair("Q1", "the kind answer", "go away"),
             json.dumps({"prompt": "Q2", "chosen": "yes indeed", "rejected": "no"})]
    examples = parse_eval_lines(lines, "gs://b/eval.jsonl")
    assert [ex.reference for ex in examples] == ["the kind answer", "yes indeed"]
    assert [ex.reference.rejected for ex in examples] == ["go away", "no"]
    assert examples[0].contents == [_turn("user", "Q1")]


def test_bad_preference_lines_are_named_before_any_model_is_called():
    lines = [_pair("Q1", "a", "b"), json.dumps({"contents": [_turn("user", "Q")], "completions": []})]
    with pytest.raises(EvalDataError, match="line 2: \"completions\" must hold exactly two entries"):
        parse_eval_lines(lines, "gs://b/eval.jsonl")


def test_preference_accuracy_counts_answers_closer_to_the_chosen_completion():
    references = [PreferenceReference("open the settings page", "leave me alone"),
                  PreferenceReference("restart the router now", "buy a new one"),
                  PreferenceReference("check the cable", "no idea")]
    predictions = ["open the settings page please", "you should buy a new one", "something unrelated"]
    metrics = resolve_metrics(["preference_accuracy", "rouge_l"])
    scores = score(predictions, references, metrics)
    assert scores.per_example["preference_accuracy"] == [1.0, 0.0, 0.0]  # a tie is not closer
    assert scores.corpus["preference_accuracy"] == pytest.approx(1 / 3)


def test_preference_accuracy_on_supervised_data_is_refused_naming_the_example():
    examples = parse_eval_lines([json.dumps({"contents": [_turn("user", "Q"), _turn("model", "A")]})], "e")
    with pytest.raises(EvalDataError, match="preference_accuracy.*e line 1"):
        check_pairs(["preference_accuracy"], [ex.reference for ex in examples], ["e line 1"])
    check_pairs(["rouge_l"], [ex.reference for ex in examples], ["e line 1"])  # other metrics: fine
