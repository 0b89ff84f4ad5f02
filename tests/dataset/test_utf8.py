"""``utf8.is_utf8`` answers exactly as Python's strict decoder, whatever simdjson makes of the line, and
``validation.has_line_break`` finds exactly the line breaks a decoded search finds."""

from __future__ import annotations

import json
import random
import threading

import pytest
import simdjson

from airflow_tuning.dataset.utf8 import SIMD_MAX_BYTES, is_utf8
from airflow_tuning.dataset.validation import LINE_BREAKS, has_line_break


def python_says(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# Byte sequences that are not UTF-8 under the strict rule, each put inside a JSON string.
INVALID = [
    b"\xff", b"\xfe", b"\xc0\xaf", b"\xc1\xbf",  # bytes that never occur; overlong two-byte forms
    b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf",  # overlong three- and four-byte forms
    b"\xed\xa0\x80", b"\xed\xbf\xbf",  # UTF-16 surrogates written as UTF-8
    b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf8\x88\x80\x80\x80",  # past U+10FFFF; five-byte form
    b"\x80", b"\xbf", b"\xc3", b"\xe6\x9d", b"\xf0\x9f\x9a",  # lone continuation; truncated sequences
    b"\xc3\x28", b"\xe6\x28\xb1", b"\xf0\x9f\x28\x80",  # a lead byte followed by ASCII
]
VALID = ["é", "東京", "🚀", "\u2028", "\u0085", "\U0010ffff", "\ud7ff", "\ue000", "\x00"]


@pytest.mark.parametrize("bad", INVALID)
def test_invalid_utf8_inside_a_json_line_is_refused(bad):
    for raw in (b'{"text": "caf' + bad + b'"}', b'{"text": "' + bad + b'"}', b'{"text": "\xc3\xa9' + bad + b'x"}'):
        assert is_utf8(raw) is False is python_says(raw), raw


@pytest.mark.parametrize("good", VALID)
def test_valid_utf8_is_accepted(good):
    raw = json.dumps({"contents": [{"text": f"a{good}b"}]}, ensure_ascii=False).encode("utf-8", "surrogatepass")
    assert is_utf8(raw) is True is python_says(raw)


@pytest.mark.parametrize("raw", [
    b'{"args": {"n": 123456789012345678901234567890}, "text": "\xc3\xa9"}',  # a number simdjson cannot hold
    b'{"text": "\\ud800 \xc3\xa9"}',  # a lone surrogate escape
    b"[" * 2000 + b'"\xc3\xa9"' + b"]" * 2000,  # nested deeper than simdjson reads
    b'{"text": "\xc3\xa9"} trailing',  # not JSON at all
    b"\xe6\x9d\xb1\xc3\xa9",  # not JSON: bare UTF-8
    b'{"text": "caf\xc3\xa9"',  # truncated JSON
])
def test_lines_simdjson_refuses_are_decided_by_python(raw):
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever simdjson raises: the case under test
        simdjson.Parser().parse(raw)
    assert is_utf8(raw) is True is python_says(raw)
    broken = raw.replace(b"\xc3\xa9", b"\xc3\x28")
    assert is_utf8(broken) is False is python_says(broken)


def test_a_line_over_the_simd_size_is_decided_by_python():
    text = "東" * (SIMD_MAX_BYTES // 3 + 10)
    raw = json.dumps({"text": text}, ensure_ascii=False).encode()
    assert len(raw) > SIMD_MAX_BYTES
    assert is_utf8(raw) is True
    assert is_utf8(raw[:-5] + b"\xed\xa0\x80" + raw[-5:]) is False


def test_random_bytes_agree_with_python():
    rng = random.Random(7)
    pieces = [b"a", b'"', b"{", b"}", b":", b",", b"\\", b" ", *INVALID, *(s.encode() for s in VALID[:-1])]
    for _ in range(20_000):
        body = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        for raw in (body, b'{"text": "' + body + b'"}'):
            assert is_utf8(raw) is python_says(raw), raw


def test_threads_get_exact_answers():
    lines = [json.dumps({"text": f"東京 {n}"}, ensure_ascii=False).encode() for n in range(500)]
    lines += [line.replace("東".encode(), b"\xed\xa0\x80") for line in lines[:250]]
    expected = [python_says(line) for line in lines]
    wrong: list[bytes] = []

    def check() -> None:
        for _ in range(20):
            wrong.extend(line for line, ok in zip(lines, expected, strict=True) if is_utf8(line) is not ok)

    threads = [threading.Thread(target=check) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not wrong


def test_has_line_break_matches_a_search_of_the_decoded_text():
    rng = random.Random(11)
    # Characters that share a lead byte (or more) with U+0085, U+2028 and U+2029, and the breaks themselves.
    alphabet = ["a", "\u0084", "\u0086", "\u00a9", "\u2027", "\u202a", "\u2026", "\u2018", "\u20ac", "東", "é",
                *LINE_BREAKS]
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        assert has_line_break(text.encode()) is any(ch in text for ch in LINE_BREAKS), text
