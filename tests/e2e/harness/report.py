"""The drill table: one row per drill (result, jobs created, duration, what was measured)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPORT_PATH = Path(__file__).resolve().parents[3] / "artifacts" / "e2e" / "drills.json"


@dataclass
class DrillRecord:
    drill: str
    test: str
    topology: str = "local"
    result: str = "not run"
    jobs_created: int | None = None
    duration_s: float = 0.0
    notes: dict[str, Any] = field(default_factory=dict)

    def note(self, **values: Any) -> None:
        self.notes.update(values)


def format_table(records: list[DrillRecord], stack_timings: dict[str, dict[str, float]] | None = None) -> str:
    header = ("drill", "topology", "result", "jobs created", "duration")
    rows = [
        (
            r.drill,
            r.topology,
            r.result,
            "-" if r.jobs_created is None else str(r.jobs_created),
            f"{r.duration_s:6.1f} s",
        )
        for r in records
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)] if rows else []
    lines = []
    if rows:
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        lines.append("  ".join("-" * w for w in widths))
        lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows)
    for record in records:
        if record.notes:
            lines.append(
                f"  {record.drill} [{record.topology}]: " + ", ".join(f"{k}={v}" for k, v in record.notes.items())
            )
    for topology, timings in (stack_timings or {}).items():
        if isinstance(timings, dict):
            lines.append(f"  {topology} stack start-up: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    return "\n".join(lines)


def write_report(records: list[DrillRecord], stack_timings: dict[str, dict[str, float]] | None) -> Path:
    REPORT_PATH.parent.mkdir(parents=True, exist_ok=True)
    payload = {"stack_timings": stack_timings or {}, "drills": [asdict(r) for r in records]}
    REPORT_PATH.write_text(json.dumps(payload, indent=2, default=str))
    return REPORT_PATH


def read_report(path: Path = REPORT_PATH) -> tuple[list[DrillRecord], dict[str, dict[str, float]]]:
    payload = json.loads(path.read_text())
    return [DrillRecord(**row) for row in payload["drills"]], payload.get("stack_timings") or {}
