"""Whether a line is valid UTF-8, told at SIMD speed for JSON lines.

``verbatim`` copies texts into the canonical line byte for byte, so every line with non-ASCII bytes must be
shown to be valid UTF-8 first. Python can only tell by decoding the whole line into a ``str``: about
0.8 GB/s on text that is not ASCII, a fifth of validation's time. simdjson validates UTF-8 with SIMD
instructions as the first step of every parse, several times faster, and these lines are JSON documents.

A line simdjson refuses for any reason (invalid UTF-8, but also a number outside its range or nesting deeper
than it reads) is decoded by Python, which decides; so do lines over ``SIMD_MAX_BYTES``, which keeps the
parser's buffers (sized by the longest document it has read) small. The answer is therefore exactly
Python's strict UTF-8 rule for any bytes; only its cost depends on simdjson.

Each thread has its own parser: a pysimdjson parser holds the document it parsed last, and a parse by another
thread (which a garbage-collection finalizer could let in while a result is being built) would write over it.
"""

from __future__ import annotations

import threading

import simdjson

SIMD_MAX_BYTES = 1 << 20
_local = threading.local()


def is_utf8(raw: bytes) -> bool:
    """Whether ``raw`` is valid UTF-8 (Python's strict rule: no surrogates, no overlong forms)."""
    if len(raw) <= SIMD_MAX_BYTES:
        try:
            parse = _local.parse
        except AttributeError:
            parse = _local.parse = simdjson.Parser().parse
        try:
            parse(raw)  # the parsed document is dropped at once: the parser can be used again
            return True
        except Exception:  # noqa: BLE001, S110 - any refusal only means that Python decides
            pass
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
