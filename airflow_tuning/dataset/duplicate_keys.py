"""Warn about JSON objects that repeat a key: the fast decoder silently keeps the last value.

``{"input": "a", "input": "b"}`` is valid JSON, and both msgspec and the standard library resolve it
last-wins, so a hand-edited or concatenated record can lose text without any error. Checking every line with
the standard library would halve validation speed, so the first lines of each file (``CHECK_LINES`` or
``CHECK_BYTES``, whichever comes first) are checked and a repeated key is reported as a warning naming the
line; files produced by one tool repeat their mistakes from the first line on.

A dataset of many small files would still be checked line by line, at half the speed, so a run checks at
full depth only until ``RUN_CHECK_BYTES`` are checked in all (``CheckBudget``); every further file has its
first ``FEW_LINES`` lines checked.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

CHECK_LINES = 1000
CHECK_BYTES = 1 << 20
RUN_CHECK_BYTES = 8 << 20  # full depth until a run has checked this much
FEW_LINES = 20  # then each further file's first lines
MAX_WARNINGS = 5  # per file


class CheckBudget:
    """How deep a run checks its next file: ``CHECK_LINES`` until ``RUN_CHECK_BYTES`` are checked in all,
    then ``FEW_LINES``."""

    def __init__(self) -> None:
        self.checked_bytes = 0

    def lines(self) -> int:
        return CHECK_LINES if self.checked_bytes < RUN_CHECK_BYTES else FEW_LINES


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


def check_duplicate_keys(records: Iterator[tuple[int, Any]], warn: Callable[[int, str], None],
                         budget: CheckBudget | None = None) -> Iterator[tuple[int, Any]]:
    """``records`` again, after ``warn(line, key)`` for each repeated key in its first lines.

    The first lines are read ahead (at most ``budget.lines()``, ``CHECK_LINES`` for a file on its own, or
    about ``CHECK_BYTES``) and chained back in front of the rest, so the remaining lines pass through at no
    cost per line. ``budget`` is shared by the files of one run.
    """
    budget = budget or CheckBudget()
    max_lines = budget.lines()
    head: list[tuple[int, Any]] = []
    checked_bytes = warnings = 0
    for number, payload in records:
        head.append((number, payload))
        if type(payload) is bytes and 34 in payload and len(payload) <= CHECK_BYTES:  # 34: a double quote
            checked_bytes += len(payload)
            if warnings < MAX_WARNINGS and (key := duplicate_key(payload)) is not None:
                warnings += 1
                warn(number, key)
        if len(head) >= max_lines or checked_bytes >= CHECK_BYTES:
            break
    budget.checked_bytes += checked_bytes
    return itertools.chain(head, records)
