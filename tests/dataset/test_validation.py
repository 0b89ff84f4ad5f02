"""Each kind of invalid record is reported with its line and reason; policies, limits and duplicates."""

from __future__ import annotations

import json

import pytest

from airflow_tuning.dataset import DatasetValidationError, Limits, Options, local_sources, prepare, validate
from airflow_tuning.dataset.sources import inline_source
from tests.dataset.conftest import jsonl, many, vertex

GOOD = json.dumps(vertex("ok?", "ok."))
USER = {"role": "user", "parts": [{"text": "q"}]}
MODEL = {"role": "model", "parts": [{"text": "a"}]}

# (line content, expected words in the reason)
BAD_LINES = [
    ('{"contents": [', "not valid JSON"),
    ('{"contents": NaN}', "NaN is not valid JSON"),
    ('{"input": "a", "output": -Infinity}', "-Infinity is not valid JSON"),
    ('{"input": "a", "output": 1e400}', "out of range"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"a": 1} {"b": 2}', "not valid JSON"),
    ('"just a string"', "expected a JSON object, got a string"),
    ('{"messages": [{"role": "user", "content": "hi"}]}', "neither a Vertex Gemini example"),
    (json.dumps({"contents": []}), "'contents' must be a non-empty array"),
    (json.dumps({"contents": [USER]}), "the last turn (contents[0]) must be 'model'"),
    (json.dumps({"contents": [MODEL]}), "the first turn must be 'user'"),
    (json.dumps({"contents": [USER, USER, MODEL]}), "contents[1].role is 'user' after a user turn"),
    (json.dumps({"contents": [{"role": "assistant", "parts": [{"text": "q"}]}, MODEL]}),
     "contents[0].role must be 'user' or 'model', got 'assistant'"),
    (json.dumps({"contents": [{"parts": [{"text": "q"}]}, MODEL]}), "contents[0] has no 'role'"),
    (json.dumps({"contents": [{"role": "user", "parts": []}, MODEL]}), "contents[0].parts must be a non-empty"),
    (json.dumps({"contents": [{"role": "user", "parts": [{}]}, MODEL]}), "contents[0].parts[0] is empty"),
    (json.dumps({"contents": [USER, {"role": "model", "parts": [{"text": ""}]}]}),
     "contents[1].parts[0].text must be a non-empty string"),
    (json.dumps({"contents": [{"role": "user", "parts": [{"text": "q", "fileData": {}}]}, MODEL]}),
     "has 2 fields"),
    (json.dumps({"contents": [{"role": "user", "parts": [{"inlineData": {"data": "AA=="}}]}, MODEL]}),
     "unknown kind 'inlineData'"),
    (json.dumps({"contents": [{"role": "user", "parts": [{"fileData": {"fileUri": "gs://b/x.png"}}]}, MODEL]}),
     "must have exactly 'mimeType' and 'fileUri'"),
    (json.dumps({"contents": [{"role": "user", "parts": [
        {"fileData": {"mimeType": "image/png", "fileUri": "/tmp/x.png"}}]}, MODEL]}),
     "fileUri must be a gs://, http:// or https:// URI"),
    (json.dumps({"contents": [USER, {"role": "model", "parts": [{"functionCall": {"args": {}}}]}, USER, MODEL]}),
     "functionCall.name must be a non-empty string"),
    (json.dumps({"contents": [USER, MODEL, {"role": "user", "parts": [{"functionResponse": {"name": "f"}}]},
                              MODEL]}), "needs a 'response' object"),
    (json.dumps({"contents": [USER, MODEL], "systemInstruction": {"parts": [
        {"fileData": {"mimeType": "image/png", "fileUri": "gs://b/x.png"}}]}}),
     "systemInstruction.parts[0] must be a text part"),
    (json.dumps({"contents": [USER, MODEL], "systemInstruction": {"parts": [{"text": "a"}]},
                 "system_instruction": {"parts": [{"text": "b"}]}}), "both 'systemInstruction' and"),
    (json.dumps({"contents": [USER, MODEL], "metadata": {"id": 1}}), "unknown field(s) ['metadata']"),
    (json.dumps({"contents": [{"role": "user", "parts": [{"text": "q"}], "id": 3}, MODEL]}),
     "contents[0] has unknown field(s) ['id']"),
    (json.dumps({"input": "", "output": "x"}), "'input' is empty"),
    (json.dumps({"text_input": "q", "output": 5}), "'output' must be a string, got a number"),
    (json.dumps({"input": "q", "text_input": "q", "output": "a"}), "exactly one of 'input' and 'text_input'"),
]


def test_each_kind_of_invalid_line_is_reported_with_its_line_number(write):
    lines = []
    expected = []
    for content, reason in BAD_LINES:
        lines.append(GOOD)
        lines.append(content)
        expected.append((len(lines), reason))
    path = write("bad.jsonl", "\n".join(lines) + "\n")
    report = validate(local_sources([path]), Options(max_problems=100))
    got = [(p.line, p.reason) for p in report.problems]
    assert [line for line, _ in got] == [line for line, _ in expected], report.render()
    for (line, reason), (_, wanted) in zip(got, expected, strict=True):
        assert wanted in reason, f"line {line}: {reason!r} lacks {wanted!r}"
    assert all(p.source == path for p in report.problems)
    assert report.invalid == len(BAD_LINES) and report.examples == 1  # the good lines are one example, repeated
    assert report.duplicates == len(BAD_LINES) - 1


def test_a_line_of_bad_utf8_is_that_line_only(write):
    content = (GOOD + "\n").encode() + b'{"input": "caf\xe9", "output": "x"}\n'
    content += b'{"input": "\xc3\xa9t\xc3\xa9", "output": "y"}\n'
    report = validate(local_sources([write("latin1.jsonl", content)]))
    assert [(p.line, p.reason) for p in report.problems] == [(2, "not valid UTF-8: byte 0xe9 at byte 15")]
    assert report.examples == 2


def test_error_lists_first_problems_with_file_and_line_and_the_total(tmp_path, write):
    lines = [GOOD] + ['{"broken"'] * 30 + [json.dumps(vertex("fine", "yes"))]
    path = write("many-bad.jsonl", "\n".join(lines))
    with pytest.raises(DatasetValidationError) as caught:
        prepare(local_sources([path]), str(tmp_path), Options(max_problems=5))
    message = str(caught.value)
    assert "30 invalid record(s); the first 5:" in message
    assert f"{path}:2: not valid JSON" in message and f"{path}:6:" in message and f"{path}:7:" not in message
    assert "... and 25 more" in message
    assert caught.value.report.invalid == 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many-bad.jsonl"]  # no output left behind


def test_skip_policy_drops_invalid_records_up_to_the_allowed_fraction(tmp_path, write):
    examples = many(19)
    path = write("mostly-good.jsonl", jsonl(*examples[:10], '{"oops"', *examples[10:]))
    out = tmp_path / "out"
    out.mkdir()
    prepared = prepare(local_sources([path]), str(out), Options(on_invalid="skip", max_invalid_fraction=0.05,
                                                                validation_max=0))
    assert (prepared.train.examples, prepared.report.invalid) == (19, 1)
    assert [str(p) for p in prepared.report.problems] == [
        f"{path}:11: not valid JSON: Expecting ':' delimiter at column 8"]
    with pytest.raises(DatasetValidationError,
                       match=r"5.00% of records are invalid, more than max_invalid_fraction=4.00%"):
        prepare(local_sources([path]), str(out), Options(on_invalid="skip", max_invalid_fraction=0.04))
    with pytest.raises(DatasetValidationError, match="on_invalid='fail'"):
        prepare(local_sources([path]), str(out), Options())


def test_no_valid_example_is_an_error_even_when_skipping(tmp_path, write):
    path = write("empty.jsonl", "\n\n  \n")
    with pytest.raises(DatasetValidationError, match="no valid example"):
        prepare(local_sources([path]), str(tmp_path), Options(on_invalid="skip", max_invalid_fraction=1.0))


def test_exact_duplicates_are_dropped_across_sources_and_spellings(tmp_path, write):
    camel = {"contents": [{"role": "user", "parts": [{"fileData": {"mimeType": "image/png", "fileUri": "gs://b/1.png"}}]},
                          {"role": "model", "parts": [{"text": "a cat"}]}],
             "systemInstruction": {"parts": [{"text": "Be brief."}]}}
    snake = {"system_instruction": {"parts": [{"text": "Be brief."}]},
             "contents": [{"parts": [{"file_data": {"file_uri": "gs://b/1.png", "mime_type": "image/png"}}],
                           "role": "user"},
                          {"parts": [{"text": "a cat"}], "role": "model"}]}
    first = write("a.jsonl", jsonl(camel, vertex("q", "a"), vertex("q", "a")))
    second = write("b.csv", "input,output\nq,a\nq2,a2\n")
    sources = local_sources([first, second])
    sources.append(inline_source([snake]))
    out = tmp_path / "out"
    out.mkdir()
    prepared = prepare(sources, str(out), Options(validation_max=0))
    report = prepared.report
    assert (report.records, report.examples, report.duplicates) == (6, 3, 3)
    assert [(s.name.rsplit("/", 1)[-1], s.duplicates) for s in report.sources] == [("a.jsonl", 1), ("b.csv", 1),
                                                                                    ("examples", 1)]
    assert "3 exact duplicate example(s) dropped" in report.warnings
    assert prepared.train.examples == 3


def test_fewer_than_100_examples_warns(tmp_path, write):
    small = validate(local_sources([write("small.jsonl", jsonl(*many(99)))]))
    assert any("only 99 training example(s)" in w for w in small.warnings)
    big = validate(local_sources([write("big.jsonl", jsonl(*many(100)))]))
    assert not any("training example" in w for w in big.warnings)


def test_gemini_api_limits_characters_turns_and_text_only(write):
    lines = [
        {"input": "x" * 40_000, "output": "y" * 5_000},
        {"input": "x" * 40_001, "output": "y"},
        {"input": "x", "output": "y" * 5_001},
        {"contents": [USER, MODEL, USER, MODEL]},
        {"contents": [{"role": "user", "parts": [{"fileData": {"mimeType": "image/png", "fileUri": "gs://b/1.png"}}]},
                      MODEL]},
    ]
    path = write("api.jsonl", jsonl(*lines))
    report = validate(local_sources([path]), Options(limits=Limits.resolve("gemini-api")))
    assert [(p.line, p.reason) for p in report.problems] == [
        (2, "40,001 characters of input exceed the limit of 40,000 per example (gemini-api)"),
        (3, "5,001 characters of output exceed the limit of 5,000 per example (gemini-api)"),
        (4, "only one user turn and one model turn are allowed here, got 4 turns"),
        (5, "contents[0].parts[0] is fileData: only text parts are allowed here"),
    ]
    assert validate(local_sources([path])).ok  # all fine for Vertex Gemini 2.x


def test_vertex_limits_tokens_and_media_counts(write):
    def images(n, mime="image/jpeg"):
        parts = [{"fileData": {"mimeType": mime, "fileUri": f"gs://b/{i}"}} for i in range(n)]
        return {"contents": [{"role": "user", "parts": parts}, MODEL]}

    lines = [images(30), images(31), images(5, "application/pdf"), images(2, "audio/mp3"),
             vertex("word " * 140_000, "a"), images(4, "application/pdf")]
    report = validate(local_sources([write("media.jsonl", jsonl(*lines))]))
    reasons = {p.line: p.reason for p in report.problems}
    assert reasons.keys() == {2, 3, 4, 5}
    assert reasons[2] == "31 images exceed the limit of 30 per example (vertex)"
    assert reasons[3] == "5 PDF files exceed the limit of 4 per example (vertex)"
    assert reasons[4] == "2 audio files exceed the limit of 1 per example (vertex)"
    assert "estimated tokens exceed the limit of 131,072" in reasons[5]
    custom = Limits.resolve({"preset": "vertex", "max_images": None, "max_example_tokens": 200_000})
    assert sorted(p.line for p in validate(local_sources([write("m2.jsonl", jsonl(*lines))]),
                                           Options(limits=custom)).problems) == [3, 4]


def test_limits_and_options_reject_bad_values():
    with pytest.raises(ValueError, match="unknown preset"):
        Limits.resolve("gemini-9")
    with pytest.raises(ValueError, match="unknown field"):
        Limits.resolve({"max_pictures": 3})
    with pytest.raises(ValueError, match="on_invalid"):
        Options(on_invalid="ignore")
    with pytest.raises(ValueError, match="validation_fraction"):
        Options(validation_fraction=1.5)


def test_inline_examples_reject_nan_and_name_their_index():
    report = validate([inline_source([vertex("a", "b"), {"input": "q", "output": float("nan")}, "not json"])])
    assert [str(p) for p in report.problems] == [
        "examples:2: cannot be written as JSON: Out of range float values are not JSON compliant",
        "examples:3: not valid JSON: Expecting value at column 1",
    ]


@pytest.mark.parametrize("override", [{"max_images": -1}, {"max_pdfs": "3"}, {"max_example_tokens": 1.5},
                                      {"max_audio": True}, {"text_only": "yes"}])
def test_limits_refuse_what_is_not_a_count(override):
    """A negative or non-integer limit is refused where it is given, naming the field, instead of making
    every example invalid or comparing a string with a number deep inside the checks."""
    name = next(iter(override))
    with pytest.raises(ValueError, match=f"limits: {name} must be"):
        Limits.resolve(override)


def test_a_zero_media_limit_still_accepts_examples_without_files(write):
    function_only = {"contents": [{"role": "user", "parts": [{"text": "q"}]},
                                  {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]},
                                  {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]},
                                  {"role": "model", "parts": [{"text": "a"}]}]}
    image = {"contents": [{"role": "user", "parts": [{"fileData": {"mimeType": "image/png", "fileUri": "gs://b/x"}}]},
                          MODEL]}
    limits = Limits.resolve({"max_images": 0, "max_pdfs": 0, "max_audio": 0, "max_videos": 0})
    report = validate(local_sources([write("zero.jsonl", jsonl(function_only, image))]), Options(limits=limits))
    assert (report.valid, report.invalid) == (1, 1)
    assert [(p.line, p.reason) for p in report.problems] == [(2, "1 images exceed the limit of 0 per example (vertex)")]
