"""The typed fast path accepts only what the general rules accept, and writes the same canonical bytes."""

from __future__ import annotations

import json
import random

import msgspec
import pytest

from airflow_tuning.dataset.fastpath import fast_text_example
from airflow_tuning.dataset.limits import Limits
from airflow_tuning.dataset.validation import InvalidExample, check_example, encode_example
from benchmarks.validate_speed import example as realistic
from tests.dataset.test_validation import BAD_LINES

TEXT = {"contents": [{"role": "user", "parts": [{"text": "Où est la gare ?"}, {"text": "Merci\u2028!"}]},
                     {"role": "model", "parts": [{"text": "Tout droit."}]}],
        "systemInstruction": {"role": "system", "parts": [{"text": "Réponds brièvement."}]}}

MUTANTS = [
    '{"contents": [{"role": "user", "parts": [{"text": "a"}]}, {"role": "model", "parts": [{"text": ""}]}]}',
    '{"contents": [{"role": "model", "parts": [{"text": "a"}]}, {"role": "user", "parts": [{"text": "b"}]}]}',
    '{"contents": [{"role": "user", "parts": [{"text": "a"}]}]}',
    '{"contents": [{"role": "user", "parts": []}, {"role": "model", "parts": [{"text": "b"}]}]}',
    '{"contents": [{"role": "user", "parts": [{"text": "a"}]}, {"role": "model", "parts": [{"text": "b"}]}],'
    ' "systemInstruction": null}',
    '{"contents": [{"role": "user", "parts": [{"text": "a"}]}, {"role": "model", "parts": [{"text": "b"}]}],'
    ' "systemInstruction": {"role": 7, "parts": [{"text": "s"}]}}',
    '{"contents": [{"role": "user", "parts": [{"text": "a"}]}, {"role": "model", "parts": [{"text": "b"}]}],'
    ' "systemInstruction": {"parts": []}}',
    '{"contents": [{"role": "user", "parts": [{"text": "a", "text": "b"}]},'
    ' {"role": "model", "parts": [{"text": "c"}]}]}',
    '{"contents": [], "contents": [{"role": "user", "parts": [{"text": "a"}]},'
    ' {"role": "model", "parts": [{"text": "b"}]}]}',
    '{ "contents" : [ { "parts" : [ { "text" : "a" } ] , "role" : "user" } ,'
    ' { "role":"model","parts":[{"text":"b"}]} ] }',
    '{"contents": [{"role": "user", "parts": [{"text": "a"}]}, {"role": "model", "parts": [{"text": "b"}]}], "x": 1}',
    '{"contents": [{"role": "user", "parts": [{"text": 5}]}, {"role": "model", "parts": [{"text": "b"}]}]}',
    '{"contents": [{"role": "user", "parts": [{"text": "' + "x" * 41_000 + '"}]}, '
    '{"role": "model", "parts": [{"text": "' + "y" * 6_000 + '"}]}]}',
]


def _lines() -> list[bytes]:
    rng = random.Random(3)
    lines = [json.dumps(realistic(rng, i), ensure_ascii=i % 2 == 0).encode() for i in range(400)]
    lines += [json.dumps(TEXT, ensure_ascii=False).encode(), json.dumps(TEXT).encode()]
    lines += [content.encode() for content, _ in BAD_LINES] + [m.encode() for m in MUTANTS]
    return lines


@pytest.mark.parametrize("preset", ["vertex", "gemini-api"])
def test_fast_path_agrees_with_the_general_rules(preset):
    limits = Limits.resolve(preset)
    accepted = 0
    for raw in _lines():
        fast = fast_text_example(raw, limits)
        if fast is None:
            continue
        accepted += 1
        example, files, kind = check_example(msgspec.json.decode(raw), limits)  # must not raise
        assert (files, kind) == (0, "vertex")
        assert encode_example(fast, 0, limits) == encode_example(example, 0, limits), raw[:200]
    assert accepted >= 150  # the common case really takes the fast path


def test_fast_path_declines_every_invalid_line_and_the_unusual_ones():
    limits = Limits.resolve("vertex")
    for raw in [m.encode() for m in MUTANTS] + [content.encode() for content, _ in BAD_LINES]:
        try:
            check_example(msgspec.json.decode(raw), limits)
            valid = True
        except (InvalidExample, msgspec.DecodeError, RecursionError, ValueError):
            valid = False
        if not valid:
            assert fast_text_example(raw, limits) is None, raw[:200]
    unusual = MUTANTS[5]  # a non-string systemInstruction.role: valid, left to the general path
    assert fast_text_example(unusual.encode(), limits) is None
    check_example(msgspec.json.decode(unusual), limits)


RICH = [
    {"contents": [{"role": "user", "parts": [{"fileData": {"mimeType": "image/png", "fileUri": "gs://b/x.png"}},
                                             {"text": "What is this?"}]},
                  {"role": "model", "parts": [{"functionCall": {"name": "lookup", "args": {"z": 1, "a": [2]}}}]},
                  {"role": "user", "parts": [{"functionResponse": {"name": "lookup", "response": {"b": 1, "a": 2},
                                                                   "id": None}}]},
                  {"role": "model", "parts": [{"text": "A cat."}]}]},
    {"contents": [{"role": "user", "parts": [{"fileData": {"mimeType": "application/pdf", "fileUri": "https://x/y.pdf"}}]},
                  {"role": "model", "parts": [{"text": "ok"}]}], "systemInstruction": {"parts": [{"text": "s"}]}},
]
RICH_DECLINED = [
    {"contents": [{"role": "user", "parts": [{"fileData": {"mimeType": "png", "fileUri": "gs://b/x.png"}}]},
                  {"role": "model", "parts": [{"text": "a"}]}]},
    {"contents": [{"role": "user", "parts": [{"fileData": {"mimeType": "image/png", "fileUri": "/tmp/x.png"}}]},
                  {"role": "model", "parts": [{"text": "a"}]}]},
    {"contents": [{"role": "user", "parts": [{"text": "a", "fileData": {"mimeType": "image/png",
                                                                        "fileUri": "gs://b/x.png"}}]},
                  {"role": "model", "parts": [{"text": "a"}]}]},
    {"contents": [{"role": "user", "parts": [{}]}, {"role": "model", "parts": [{"text": "a"}]}]},
    {"contents": [{"role": "user", "parts": [{"text": "q"}]},
                  {"role": "model", "parts": [{"functionCall": {"name": "", "args": {}}}]},
                  {"role": "user", "parts": [{"text": "q"}]}, {"role": "model", "parts": [{"text": "a"}]}]},
    {"contents": [{"role": "user", "parts": [{"functionResponse": {"name": "f"}}]},
                  {"role": "model", "parts": [{"text": "a"}]}]},
    {"contents": [{"role": "user", "parts": [{"fileData": {"mimeType": "image/png", "fileUri": f"gs://b/{i}.png"}}
                                             for i in range(31)]}, {"role": "model", "parts": [{"text": "a"}]}]},
]


@pytest.mark.parametrize("preset", ["vertex", "gemini-api"])
def test_rich_fast_path_agrees_with_the_general_rules(preset):
    from airflow_tuning.dataset.fastpath import fast_example

    limits = Limits.resolve(preset)
    rng = random.Random(5)
    lines = [json.dumps(realistic(rng, i)).encode() for i in range(400)] + [json.dumps(r).encode() for r in RICH]
    rich = 0
    for raw in lines:
        fast = fast_example(raw, limits)
        try:
            example, files, _ = check_example(msgspec.json.decode(raw), limits)
        except InvalidExample:
            assert fast is None, raw[:200]
            continue
        if fast is None:
            continue
        rich += fast[1] > 0 or b"function" in raw
        assert fast[1] == files
        assert encode_example(fast[0], fast[1], limits, fast[2]) == encode_example(example, files, limits), raw[:200]
    assert rich >= (20 if preset == "vertex" else 0)
    for declined in RICH_DECLINED:
        raw = json.dumps(declined).encode()
        assert fast_example(raw, limits) is None, raw[:200]
        with pytest.raises(InvalidExample):
            check_example(declined, limits)
