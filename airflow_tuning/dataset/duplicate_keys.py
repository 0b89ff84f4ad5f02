"""Warn about JSON objects that repeat a key: the fast decoder silently keeps the last value.

``{"input": "a", "input": "b"}`` is valid JSON, and both msgspec and the standard library resolve it
last-wins, so a hand-edited or concatenated record can lose text without any error. Checking every line with
the standard library would halve validation speed, so the first lines of each file (``CHECK_LINES`` or
``CHECK_BYTES``, whichever comes first) are checked and a repeated key is reported as a warning naming the
line; files produced by one tool repeat their mistakes from the first line on.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

CHECK_LINES = 1000
CHECK_BYTES = 1 << 20
MAX_WARNINGS = 5  # per file


def duplicate_key(raw: bytes) -> str | None:
    """The first key that some object in the JSON text ``raw`` repeats, or None (also for invalid JSON)."""
    found: list[str] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if not found:
            keys: set[str] = set()
            for key, _ in pairs:
                if key in keys:
                    found.append(key)
                    break
                keys.add(key)
        return dict(pairs)

    try:
        json.loads(raw, object_pairs_hook=pairs_hook)
    except (ValueError, RecursionError):
        return None
    return found[0] if found else None


def check_duplicate_keys(records: Iterator[tuple[int, Any]], warn: Callable[[int, str], None]
                         ) -> Iterator[tuple[int, Any]]:
    """``records`` again, after ``warn(line, key)`` for each repeated key in its first lines.

    The first lines are read ahead (at most ``CHECK_LINES`` or about ``CHECK_BYTES``) and chained back in
    front of the rest, so the remaining lines pass through at no cost per line.
    """
    head: list[tuple[int, Any]] = []
    checked_bytes = warnings = 0
    for number, payload in records:
        head.append((number, payload))
        if type(payload) is bytes and b'"' in payload and len(payload) <= CHECK_BYTES:
            checked_bytes += len(payload)
            if warnings < MAX_WARNINGS and (key := duplicate_key(payload)) is not None:
                warnings += 1
                warn(number, key)
        if len(head) >= CHECK_LINES or checked_bytes >= CHECK_BYTES:
            break
    return itertools.chain(head, records)
