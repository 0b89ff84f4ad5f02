"""What a validation pass found: counts, the first problems (file, line, reason) and warnings.

The same report is printed by ``airflow-tuning validate`` and carried by the operator's error, so a
person reads one format wherever the data is checked.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

RECOMMENDED_MIN_EXAMPLES = 100


@dataclass(frozen=True)
class Problem:
    """One bad line: where it is and why it was rejected. ``source`` is empty for standard input."""

    source: str
    line: int
    reason: str

    @property
    def location(self) -> str:
        return f"{self.source}:{self.line}" if self.source else f"line {self.line}"

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


@dataclass
class SourceStats:
    """Counts for one input (file, object or in-line list)."""

    name: str
    format: str
    records: int = 0
    valid: int = 0
    invalid: int = 0
    duplicates: int = 0
    blank: int = 0
    bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "format": self.format, "records": self.records, "valid": self.valid,
            "invalid": self.invalid, "duplicates": self.duplicates, "blank_lines": self.blank, "bytes": self.bytes,
        }


@dataclass
class ValidationReport:
    """Totals over every source plus the first ``max_problems`` problems."""

    max_problems: int = 20
    records: int = 0
    valid: int = 0
    invalid: int = 0
    duplicates: int = 0
    blank: int = 0
    bytes: int = 0
    estimated_tokens: int = 0
    kinds: Counter = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sources: list[SourceStats] = field(default_factory=list)

    @property
    def examples(self) -> int:
        """Unique valid examples (what would be uploaded)."""
        return self.valid - self.duplicates

    @property
    def invalid_fraction(self) -> float:
        return self.invalid / self.records if self.records else 0.0

    @property
    def ok(self) -> bool:
        return self.invalid == 0 and self.examples > 0

    def add_problem(self, source: SourceStats, line: int, reason: str, *, display: str | None = None) -> None:
        self.invalid += 1
        source.invalid += 1
        if len(self.problems) < self.max_problems:
            self.problems.append(Problem(source.name if display is None else display, line, reason))

    def add_warning(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def finish(self, training_examples: int | None = None) -> None:
        """Add the warnings that depend on totals (call once, after the last source)."""
        count = self.examples if training_examples is None else training_examples
        if 0 < count < RECOMMENDED_MIN_EXAMPLES:
            self.add_warning(
                f"only {count} training example(s): Google recommends at least {RECOMMENDED_MIN_EXAMPLES} "
                "(100-500 or more) for good results"
            )
        if self.duplicates:
            self.add_warning(f"{self.duplicates:,} exact duplicate example(s) dropped")

    def summary(self) -> str:
        kinds = ", ".join(f"{n:,} {k}" for k, n in sorted(self.kinds.items())) or "none"
        return (
            f"{self.records:,} record(s) in {len(self.sources)} source(s): {self.examples:,} unique valid "
            f"example(s) ({kinds}), {self.invalid:,} invalid, {self.duplicates:,} duplicate(s), "
            f"{self.blank:,} blank line(s) skipped, ~{self.estimated_tokens:,} tokens"
        )

    def render(self) -> str:
        """The human-readable report: summary, the first problems with their locations, warnings."""
        lines = [self.summary()]
        if self.invalid:
            shown = len(self.problems)
            lines.append(f"{self.invalid:,} invalid record(s); the first {shown}:" if self.invalid > shown
                         else f"{self.invalid:,} invalid record(s):")
            lines.extend(f"  {problem}" for problem in self.problems)
            if self.invalid > shown:
                lines.append(f"  ... and {self.invalid - shown:,} more")
        lines.extend(f"warning: {text}" for text in self.warnings)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records, "examples": self.examples, "valid": self.valid, "invalid": self.invalid,
            "duplicates": self.duplicates, "blank_lines": self.blank, "bytes": self.bytes,
            "estimated_tokens": self.estimated_tokens, "kinds": dict(self.kinds),
            "problems": [{"source": p.source, "line": p.line, "reason": p.reason} for p in self.problems],
            "warnings": list(self.warnings), "sources": [s.to_dict() for s in self.sources],
        }


class DatasetValidationError(ValueError):
    """The data did not pass validation; nothing was written or uploaded. ``report`` has the details."""

    def __init__(self, message: str, report: ValidationReport | None = None) -> None:
        super().__init__(message)
        self.report = report


class SourceError(DatasetValidationError):
    """A whole source is unusable (missing file, no match for a pattern, CSV header without the columns)."""
