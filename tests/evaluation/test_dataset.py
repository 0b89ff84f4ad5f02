"""Reading held-out examples in Vertex JSONL: the last model turn is the reference, the rest the prompt."""

from __future__ import annotations

import json

import pytest

from airflow_tuning.evaluation.dataset import EvalDataError, parse_eval_lines

SRC = "gs://bucket/data/eval.jsonl"


def line(user="What is 2+2?", model="4", system=None, **extra):
    obj = {"contents": [{"role": "user", "parts": [{"text": user}]}, {"role": "model", "parts": [{"text": model}]}]}
    if system:
        obj["systemInstruction"] = {"role": "system", "parts": [{"text": system}]}
    obj.update(extra)
    return json.dumps(obj)


def test_single_turn_example_with_system_instruction():
    [ex] = parse_eval_lines([line(system="Be terse.")], SRC)
    assert ex.line == 1
    assert ex.reference == "4"
    assert ex.contents == [{"role": "user", "parts": [{"text": "What is 2+2?"}]}]
    assert ex.system_instruction["parts"][0]["text"] == "Be terse."
    assert ex.prompt_text() == "system: Be terse.\nWhat is 2+2?"


def test_multi_turn_prompt_keeps_every_turn_but_the_last():
    turns = [
        {"role": "user", "parts": [{"text": "Hi"}]},
        {"role": "model", "parts": [{"text": "Hello"}]},
        {"role": "user", "parts": [{"text": "Capital of "}, {"text": "France?"}]},
        {"role": "model", "parts": [{"text": "Paris"}]},
    ]
    [ex] = parse_eval_lines([json.dumps({"contents": turns})], SRC)
    assert ex.contents == turns[:3]
    assert ex.reference == "Paris"
    assert ex.prompt_text() == "user: Hi\nmodel: Hello\nuser: Capital of France?"


def test_blank_lines_are_skipped_and_line_numbers_kept_bytes_accepted():
    examples = parse_eval_lines([line(model="a").encode(), b"", b"  ", line(model="b").encode()], SRC)
    assert [(e.line, e.reference) for e in examples] == [(1, "a"), (4, "b")]


def test_max_examples_keeps_the_first_n():
    examples = parse_eval_lines([line(model=str(i)) for i in range(10)], SRC, max_examples=3)
    assert [e.reference for e in examples] == ["0", "1", "2"]
    with pytest.raises(ValueError, match="max_examples must be >= 1"):
        parse_eval_lines([line()], SRC, max_examples=0)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("{not json", "line 2: not valid JSON"),
        ("[1, 2]", "line 2: a line must be a JSON object"),
        (json.dumps({"contents": []}), "line 2: 'contents' must list at least a user turn"),
        (
            json.dumps({"contents": [{"role": "user", "parts": [{"text": "q"}]}] * 2}),
            "line 2: the last turn must have role 'model'",
        ),
        (
            json.dumps(
                {"contents": [{"role": "user", "parts": [{"text": "q"}]}, {"role": "model", "parts": [{"text": " "}]}]}
            ),
            "line 2: the last model turn has no text",
        ),
        (
            json.dumps(
                {"contents": [{"role": "bot", "parts": [{"text": "q"}]}, {"role": "model", "parts": [{"text": "a"}]}]}
            ),
            "line 2: contents\\[0\\].role must be 'user' or 'model', got 'bot'",
        ),
        (
            json.dumps({"contents": [{"role": "user"}, {"role": "model", "parts": [{"text": "a"}]}]}),
            "line 2: contents\\[0\\] needs a non-empty 'parts'",
        ),
        (line(systemInstruction={"parts": []}), "line 2: systemInstruction needs a non-empty 'parts'"),
    ],
)
def test_invalid_lines_name_file_line_and_reason(bad, reason):
    with pytest.raises(EvalDataError, match=rf"{SRC}: 1 invalid line\(s\):\n  {reason}"):
        parse_eval_lines([line(), bad, line()], SRC)


def test_many_bad_lines_are_summarised():
    with pytest.raises(EvalDataError) as info:
        parse_eval_lines(["x"] * 14, SRC)
    message = str(info.value)
    assert "14 invalid line(s)" in message
    assert "line 10: not valid JSON" in message and "line 11" not in message
    assert "... and 4 more" in message


def test_empty_file_is_an_error():
    with pytest.raises(EvalDataError, match=f"{SRC} has no examples"):
        parse_eval_lines(["", "\n"], SRC)
