"""The typed fast path accepts only what the general rules accept, and writes the same canonical bytes."""

from __future__ import annotations

import json
import random

import msgspec
import pytest

from airflow_tuning.dataset.fastpath import fast_example, fast_text_example
from airflow_tuning.dataset.limits import Limits
from airflow_tuning.dataset.validation import InvalidExample, check_example, encode_example
from airflow_tuning.dataset.verbatim import UNSURE, verbatim_line
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
    # Roles out of order, in the two-turn shape the fast decoders check without a loop and in longer ones.
    '{"contents": [{"role": "user", "parts": [{"text": "a"}]}, {"role": "user", "parts": [{"text": "b"}]}]}',
    '{"contents": [{"role": "model", "parts": [{"text": "a"}]}, {"role": "model", "parts": [{"text": "b"}]}]}',
    '{"contents": [{"role": "user", "parts": [{"text": "a"}]}, {"role": "model", "parts": [{"text": "b"}]}, '
    '{"role": "model", "parts": [{"text": "c"}]}, {"role": "model", "parts": [{"text": "d"}]}]}',
    '{"contents": [{"role": "user", "parts": [{"text": "a"}]}, {"role": "model", "parts": [{"text": "b"}]}, '
    '{"role": "user", "parts": [{"text": "c"}]}, {"role": "user", "parts": [{"text": "d"}]}, '
    '{"role": "user", "parts": [{"text": "e"}]}, {"role": "model", "parts": [{"text": "f"}]}]}',
    '{"contents": [{"role": "user", "parts": [{"fileData": {"mimeType": "image/png", "fileUri": "gs://b/x"}}]}, '
    '{"role": "model", "parts": [{"text": "b"}]}, {"role": "model", "parts": [{"functionCall": {"name": "f"}}]}, '
    '{"role": "model", "parts": [{"text": "d"}]}]}',
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


@pytest.mark.parametrize("single_turn", [False, True])
def test_copied_lines_are_the_general_paths_canonical_lines(single_turn):
    """``verbatim_line`` (what the pipeline asks first, when no character limit is set) gives exactly the
    general path's line, and declines every line the general rules refuse."""
    limits = Limits(single_turn=single_turn)
    copied = 0
    for raw in _lines():
        line = verbatim_line(raw, single_turn)
        try:
            example, files, kind = check_example(msgspec.json.decode(raw), limits)
        except (InvalidExample, msgspec.DecodeError, RecursionError, ValueError):
            assert type(line) is not bytes, raw[:200]
            continue
        if type(line) is bytes:
            copied += 1
            assert (files, kind) == (0, "vertex")
            assert line == encode_example(example, 0, limits)[0], raw[:200]
        elif line is None:  # not a typed text example: the str-typed decoder refuses it too
            assert fast_text_example(raw, limits) is None, raw[:200]
    assert copied >= (100 if single_turn else 150)  # multi-turn examples break the single-turn rule


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
            assert type(verbatim_line(raw, False)) is not bytes, raw[:200]
            assert fast_example(raw, limits) is None, raw[:200]
    unusual = MUTANTS[5]  # a non-string systemInstruction.role: valid, left to the general path
    assert fast_text_example(unusual.encode(), limits) is None
    assert verbatim_line(unusual.encode(), False) is None
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


CHARACTER_LIMITS = {"preset": "vertex", "max_input_chars": 1500, "max_output_chars": 400}


@pytest.mark.parametrize("preset", ["vertex", "gemini-api", CHARACTER_LIMITS])
def test_rich_fast_path_agrees_with_the_general_rules(preset):
    """With character limits, texts are decoded and counted; every example is held to the general rules."""
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
    assert rich >= ({"vertex": 20, "gemini-api": 0}[preset] if isinstance(preset, str) else 5)
    for declined in RICH_DECLINED:
        raw = json.dumps(declined).encode()
        assert fast_example(raw, limits) is None, raw[:200]
        with pytest.raises(InvalidExample):
            check_example(declined, limits)


def _chat(user: str, model: str) -> dict:
    return {"contents": [{"role": "user", "parts": [{"text": user}]}, {"role": "model", "parts": [{"text": model}]}]}


# Texts already written as the canonical encoder writes them: copied byte for byte.
CANONICAL_TEXTS = ['line one\\nline two', 'say \\"hi\\"', 'a \\\\ b', 'tab\\there', 'bell \\u0007 and \\u001f',
                   'caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac', 'del \x7f', 'dash \xe2\x80\x94 here', '\\\\u00e9 is text']
# Valid, but spelled otherwise than the canonical encoder: decoded into strings first. The raw line breaks
# U+2028, U+2029 and U+0085 are escaped in the canonical line.
OTHER_SPELLINGS = ['caf\\u00e9', 'a\\/b', 'tab\\u0009', 'upper \\u001F', 'emoji \\ud83d\\ude00', '\\u0041',
                   'sep \xe2\x80\xa8 here', 'para \xe2\x80\xa9', 'nel \xc2\x85']


def _raw_line(user_text: str) -> bytes:
    return b'{"contents": [{"role": "user", "parts": [{"text": "' + user_text.encode("latin-1") + \
        b'"}]}, {"role": "model", "parts": [{"text": "ok"}]}]}'


@pytest.mark.parametrize("text", CANONICAL_TEXTS + OTHER_SPELLINGS)
def test_texts_are_copied_only_when_already_canonical(text):
    limits = Limits.resolve("vertex")
    raw = _raw_line(text)
    verbatim = verbatim_line(raw, False)
    example, files, _ = check_example(msgspec.json.decode(raw), limits)
    if text in CANONICAL_TEXTS:
        assert type(verbatim) is bytes, raw
        assert verbatim == encode_example(example, files, limits)[0], raw
    else:
        assert verbatim is UNSURE, raw
    fast = fast_text_example(raw, limits)
    assert fast is not None, raw
    assert encode_example(fast, 0, limits) == encode_example(example, files, limits), raw


@pytest.mark.parametrize("value", ['5', 'null', 'true', '[]', '["a"]', '{}', '{"a": "b"}', '""', '-1', '1e3'])
@pytest.mark.parametrize("spacing", [":", ": ", " :\t"])
def test_a_text_that_is_not_a_non_empty_string_is_never_copied(value, spacing):
    def line(user: str, instruction: str) -> bytes:
        return ('{"contents": [{"role": "user", "parts": [{"text"' + spacing + user + '}]}, '
                '{"role": "model", "parts": [{"text": "ok"}]}], '
                '"systemInstruction": {"parts": [{"text"' + spacing + instruction + '}]}}').encode()

    for raw in (line(value, '"s"'), line('"q"', value)):
        assert type(verbatim_line(raw, False)) is not bytes, raw
        for limits in (Limits.resolve("vertex"), Limits.resolve("gemini-api")):
            assert fast_text_example(raw, limits) is None, raw
        with pytest.raises(InvalidExample, match="non-empty"):
            check_example(msgspec.json.decode(raw), Limits.resolve("vertex"))


@pytest.mark.parametrize("bad", [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf"])
def test_invalid_utf8_is_never_copied_and_the_general_path_names_the_line(tmp_path, bad):
    from airflow_tuning.dataset import local_sources, validate

    raw = _raw_line("before ").replace(b"before ", b"before " + bad)
    assert fast_text_example(raw, Limits.resolve("vertex")) is None
    assert verbatim_line(raw, False) is UNSURE
    good = json.dumps(_chat("q", "a")).encode()
    path = tmp_path / "data.jsonl"
    path.write_bytes(good + b"\n" + raw + b"\n")
    report = validate(local_sources([str(path)]))
    assert report.invalid == 1 and report.valid == 1
    assert any(problem.line == 2 for problem in report.problems), report.render()


def test_random_texts_take_either_path_and_always_give_the_general_paths_bytes():
    """Every character class the encoder treats specially, in every spelling a JSON writer may choose."""
    rng = random.Random(11)
    alphabet = ['a', ' ', '"', '\\', '/', '\n', '\t', '\x00', '\x1f', '\x7f', 'é', '東', '\u2028', '\u2029',
                '\x85', '\U0001f600', '\ufeff']
    limits = Limits.resolve("vertex")
    copied = 0
    for i in range(600):
        texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(3)]
        record = _chat(texts[0], texts[1])
        record["systemInstruction"] = {"parts": [{"text": texts[2]}]}
        writer = i % 3
        raw = (json.dumps(record, ensure_ascii=writer == 0).encode() if writer < 2
               else msgspec.json.encode(record))
        fast = fast_text_example(raw, limits)
        assert fast is not None, raw
        example, files, _ = check_example(msgspec.json.decode(raw), limits)
        canonical = encode_example(example, files, limits)
        assert encode_example(fast, 0, limits) == canonical, raw
        verbatim = verbatim_line(raw, False)
        assert verbatim is UNSURE or verbatim == canonical[0], raw
        copied += type(verbatim) is bytes
    assert copied >= 10  # the copying path really runs (most random texts hold a raw line break)


def _rich_line(user_text: str, args: str = '{"id": 7}') -> bytes:
    return (b'{"contents": [{"role": "user", "parts": [{"fileData": {"mimeType": "image/png", '
            b'"fileUri": "gs://b/x.png"}}, {"text": "' + user_text.encode("latin-1") + b'"}]}, '
            b'{"role": "model", "parts": [{"functionCall": {"name": "f", "args": ' + args.encode() + b'}}]}, '
            b'{"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"b": 1, "a": "x"}}}]}, '
            b'{"role": "model", "parts": [{"text": "ok"}]}]}')


@pytest.mark.parametrize("text", CANONICAL_TEXTS + OTHER_SPELLINGS)
@pytest.mark.parametrize("args", ['{"id": 7}', '{"text": 5, "z": [1, {"text": null}]}'])
def test_rich_texts_are_copied_only_when_already_canonical(text, args):
    """Examples with file and function parts copy their texts under the same rule as text-only ones; a
    ``text`` key in a function's arguments only sends the line to the decoded strings, with the same bytes."""
    from airflow_tuning.dataset.example_shapes import VerbatimRichExample
    limits = Limits.resolve("vertex")
    raw = _rich_line(text, args)
    assert verbatim_line(raw, False) is None  # not a text-only example
    fast = fast_example(raw, limits, text=False)
    assert fast is not None, raw
    copied = type(fast[0]) is VerbatimRichExample
    assert copied == (text in CANONICAL_TEXTS and "text" not in args), raw
    example, files, _ = check_example(msgspec.json.decode(raw), limits)
    assert encode_example(fast[0], fast[1], limits, fast[2]) == encode_example(example, files, limits), raw


@pytest.mark.parametrize("value", ['5', 'null', '""', '{"text": "a"}'])
def test_a_rich_text_that_is_not_a_non_empty_string_is_declined(value):
    raw = _rich_line("q").replace(b'{"text": "q"}', b'{"text": ' + value.encode() + b'}')
    assert fast_example(raw, Limits.resolve("vertex"), text=False) is None, raw
    with pytest.raises(InvalidExample, match="non-empty"):
        check_example(msgspec.json.decode(raw), Limits.resolve("vertex"))
