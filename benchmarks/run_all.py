"""Run every benchmark, collect its JSON lines, print them and a summary table, and save them.

Each script runs as its own subprocess (``python -m benchmarks.<name>``), one after another so that they do
not compete for the machine. Their JSON lines are echoed as they arrive and saved, each with a ``script``
key added, to ``artifacts/bench/latest.jsonl``; the machine they ran on, the load average and each script's
duration go to ``artifacts/bench/machine.json``, and a Markdown table of the figures to
``artifacts/bench/latest.md``. A script's own progress (stderr) is kept in ``artifacts/bench/<name>.log``.

    python -m benchmarks.run_all [--only dag_parse worker_slots] [--skip upload_dataset] [--strict]

Exit status: 1 when a script failed without printing any figure (or, with ``--strict``, when a target was
missed), else 0.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, machine

#: (script, arguments): the order they run in. The upload benchmark defaults to 1 GB; 200 MB keeps the run
#: in minutes and still measures streaming (memory stays flat whatever the size).
SCRIPTS: list[tuple[str, list[str]]] = [
    ("dag_parse", []),
    ("worker_slots", []),
    ("triggerer_capacity", []),
    ("emulator_throughput", []),
    ("evaluation_speed", []),
    ("checkpoint_evaluation", []),
    ("validate_speed", ["--size-mb", "200"]),
    ("upload_dataset", ["--size-mb", "200"]),
]
OUT_DIR = REPO / "artifacts" / "bench"
_TARGET = re.compile(r"^\s*(<=|>=|==|<|>)\s*(-?\d+(?:\.\d+)?)")


def target_met(value: Any, target: Any) -> bool | None:
    """Whether ``value`` meets ``target`` ("<= 50", ">= 100", "== 0", True...); None when there is no target
    or it cannot be read. A bare number is read as an upper bound."""
    if target is None or value is None:
        return None
    if isinstance(target, bool):
        return value == target
    if isinstance(target, (int, float)):
        return isinstance(value, (int, float)) and value <= target
    match = _TARGET.match(str(target))
    if not match or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    op, bound = match.group(1), float(match.group(2))
    return {"<=": value <= bound, ">=": value >= bound, "==": value == bound,
            "<": value < bound, ">": value > bound}[op]


def run_script(name: str, args: list[str], log_path: Path) -> dict[str, Any]:
    """Run one benchmark; echo and collect its JSON lines (anything else on stdout goes to its log)."""
    command = [sys.executable, "-m", f"benchmarks.{name}", *args]
    print(f"== {name}: {' '.join(command[1:])} (progress in {log_path})", file=sys.stderr, flush=True)
    lines: list[dict[str, Any]] = []
    started = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True)
        assert proc.stdout is not None
        for raw in proc.stdout:
            try:
                line = json.loads(raw)
            except ValueError:
                log.write(raw)
                continue
            if not isinstance(line, dict) or "name" not in line:
                log.write(raw)
                continue
            line = {**line, "script": name}
            lines.append(line)
            print(json.dumps(line), flush=True)
        rc = proc.wait()
    seconds = time.perf_counter() - started
    if rc != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
        print(f"== {name} exited {rc} after {seconds:.0f} s; last log lines:\n  " + "\n  ".join(tail),
              file=sys.stderr, flush=True)
    return {"script": name, "args": args, "exit_code": rc, "seconds": round(seconds, 1), "lines": lines}


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"
    return "" if value is None else str(value)


def table(lines: list[dict[str, Any]]) -> list[list[str]]:
    rows = [["name", "value", "unit", "target", "baseline", "met"]]
    for line in lines:
        met = target_met(line.get("value"), line.get("target"))
        rows.append([line["name"], _cell(line.get("value")), _cell(line.get("unit")), _cell(line.get("target")),
                     _cell(line.get("baseline")), {True: "yes", False: "NO", None: "-"}[met]])
    return rows


def render_text(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def render_markdown(rows: list[list[str]], facts: dict[str, Any]) -> str:
    head = (f"Measured {facts['date']} on {facts['cpus']} CPUs ({facts['cpu_model']}), {facts['memory_gib']} GiB "
            f"RAM, Python {facts['python']}, {facts['platform']}; load average {facts['load_average_start']} "
            f"at start, {facts['load_average_end']} at the end.\n\n")
    cells = ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    cells.insert(1, "|" + "---|" * len(rows[0]))
    return head + "\n".join(cells) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = [name for name, _ in SCRIPTS]
    parser.add_argument("--only", nargs="+", choices=names, help="run only these benchmarks")
    parser.add_argument("--skip", nargs="+", choices=names, default=[], help="leave these out")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"where results go (default {OUT_DIR})")
    parser.add_argument("--strict", action="store_true", help="exit 1 when any target is missed")
    args = parser.parse_args(argv)
    chosen = [(n, a) for n, a in SCRIPTS if (not args.only or n in args.only) and n not in args.skip]

    args.out.mkdir(parents=True, exist_ok=True)
    facts = machine()
    facts["date"] = time.strftime("%Y-%m-%d %H:%M %Z")
    facts["load_average_start"] = facts.pop("load_average")
    runs = [run_script(name, script_args, args.out / f"{name}.log") for name, script_args in chosen]
    facts["load_average_end"] = machine()["load_average"]
    facts["scripts"] = [{k: v for k, v in run.items() if k != "lines"} for run in runs]

    lines = [line for run in runs for line in run["lines"]]
    with open(args.out / "latest.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(line) + "\n" for line in lines)
    (args.out / "machine.json").write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    rows = table(lines)
    (args.out / "latest.md").write_text(render_markdown(rows, facts), encoding="utf-8")

    print()
    print(render_text(rows))
    print(f"\n{len(lines)} figures from {len(runs)} scripts on {facts['cpus']} CPUs, {facts['memory_gib']} GiB, "
          f"Python {facts['python']}; load average {facts['load_average_start']} -> {facts['load_average_end']}."
          f"\nSaved to {args.out / 'latest.jsonl'} (table: {args.out / 'latest.md'}).")
    failed = [run["script"] for run in runs if run["exit_code"] != 0 and not run["lines"]]
    missed = [row[0] for row in rows[1:] if row[-1] == "NO"]
    if failed:
        print(f"Failed without a figure: {', '.join(failed)}", file=sys.stderr)
    if missed:
        print(f"Targets missed: {', '.join(missed)}", file=sys.stderr)
    return 1 if failed or (args.strict and missed) else 0


if __name__ == "__main__":
    raise SystemExit(main())
