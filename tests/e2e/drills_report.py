"""Run the drills and print their table, or print the table of the last run.

python tests/e2e/drills_report.py            # every drill on both topologies (as `make drills`), then the table
python tests/e2e/drills_report.py --fast     # only the fast drills (those `make test` runs)
python tests/e2e/drills_report.py --topology distributed   # only the CeleryExecutor / two-triggerer stack
python tests/e2e/drills_report.py --last     # print the table of the last run (artifacts/e2e/drills.json)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.e2e.harness.report import REPORT_PATH, format_table, read_report  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--fast", action="store_true", help="run only the drills marked fast_drill")
    group.add_argument("--last", action="store_true", help="print the last report without running anything")
    parser.add_argument(
        "--topology",
        choices=("local", "distributed", "both"),
        default=os.environ.get("E2E_TOPOLOGY") or "both",
        help="where drills that run on either topology run (default: both, or $E2E_TOPOLOGY)",
    )
    args = parser.parse_args(argv)
    code = 0
    if not args.last:
        marker = "fast_drill" if args.fast else "drill"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/e2e", "-m", marker]
        code = subprocess.call(command, cwd=REPO, env={**os.environ, "E2E_TOPOLOGY": args.topology})
    if not REPORT_PATH.exists():
        print(f"no drill report at {REPORT_PATH}", file=sys.stderr)
        return code or 1
    records, timings = read_report()
    print(format_table(records, timings))
    failed = [r.drill for r in records if r.result != "passed"]
    summary = f"{len(records) - len(failed)} of {len(records)} drills passed"
    print(summary + (f"; not passed: {failed}" if failed else ""))
    return code


if __name__ == "__main__":
    sys.exit(main())
