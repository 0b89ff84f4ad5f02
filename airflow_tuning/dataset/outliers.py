"""Records far longer than the rest of their file: usually a pasted log, a whole e-mail thread or a
mis-split CSV field, and costly (tuning bills by token). They are valid, so they are warnings, not errors.

The rule, per file: a record is flagged when its canonical line is longer than ``FLOOR_BYTES`` and more than
``FACTOR`` times the file's median record length. One streaming pass keeps a histogram of lengths by power
of two (64 counters) and the (length, line) of records over the floor, so time and memory stay linear; the
median is taken as the upper bound of its power-of-two bucket, which only ever makes the rule stricter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FACTOR = 20
FLOOR_BYTES = 20_000
MAX_LISTED = 5


@dataclass
class LengthTracker:
    """Lengths of one file's valid records (``add`` per record, ``warnings`` once at the end)."""

    histogram: list[int] = field(default_factory=lambda: [0] * 64)
    long: list[tuple[int, int]] = field(default_factory=list)  # (length, line) above FLOOR_BYTES

    def add(self, length: int, line: int) -> None:
        self.histogram[length.bit_length()] += 1
        if length > FLOOR_BYTES:
            self.long.append((length, line))

    def median_bound(self) -> int:
        """An upper bound of the median length (the top of the bucket holding it), 0 without records."""
        total = sum(self.histogram)
        seen = 0
        for bits, count in enumerate(self.histogram):
            seen += count
            if count and seen * 2 >= total:
                return (1 << bits) - 1
        return 0

    def outliers(self) -> list[tuple[int, int]]:
        """(length, line) of the flagged records, in file order."""
        if not self.long:
            return []
        limit = max(FLOOR_BYTES, FACTOR * self.median_bound())
        return sorted(((n, line) for n, line in self.long if n > limit), key=lambda item: item[1])

    def report_to(self, report: Any, source: Any) -> None:
        """Add the warnings for ``source`` (named as its problems are: ``FILE:LINE``, or ``line N``)."""
        where = "line {line}" if source.display == "" else f"{source.display or source.name}:{{line}}"
        for text in self.warnings(where):
            report.add_warning(text)

    def warnings(self, location: str) -> list[str]:
        """One warning per flagged record (the first ``MAX_LISTED``, then a count); ``location`` takes
        ``{line}``, e.g. ``"data.csv:{line}"``."""
        found = self.outliers()
        median = self.median_bound()
        texts = [
            f"{location.format(line=line)}: record of {length:,} bytes is over {FACTOR}x the file's median "
            f"record length (at most {median:,} bytes); check that it is one example and not a pasted log or "
            "a mis-split field"
            for length, line in found[:MAX_LISTED]
        ]
        if len(found) > MAX_LISTED:
            texts.append(f"{location.format(line='...')}: {len(found) - MAX_LISTED} more record(s) over {FACTOR}x "
                         "the median length")
        return texts
