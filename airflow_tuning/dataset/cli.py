"""``airflow-tuning validate [--format auto|vertex|pairs|csv] FILE...``: check tuning data before uploading it.

Prints the same report the upload operator gives (every bad line as ``FILE:LINE: reason``, or
``line N: reason`` for standard input, ``-``) and exits 0 when every record is valid, 1 when some are
not (or none is valid), 2 on a usage error or an unreadable file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from airflow_tuning.dataset.formats import FORMATS, CsvColumns
from airflow_tuning.dataset.limits import PRESETS, Limits
from airflow_tuning.dataset.pipeline import Options, validate
from airflow_tuning.dataset.report import SourceError, ValidationReport
from airflow_tuning.dataset.sources import local_sources


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="airflow-tuning validate",
        description="Validate tuning data (Vertex Gemini JSONL, input/output pairs JSONL, CSV; preference or "
        "prompt data with --format preference|prompts) line by line.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="files, directories or globs; '-' is stdin")
    parser.add_argument("--format", choices=FORMATS, default="auto",
                        help="input format (default: detected; CSV by the .csv suffix)")
    parser.add_argument("--input-column", help="CSV column of the prompt (default: input, else text_input)")
    parser.add_argument("--output-column", default="output", help="CSV column of the response")
    parser.add_argument("--prompt-column", default="prompt", help="preference/prompts CSV: column of the prompt")
    parser.add_argument("--chosen-column", default="chosen", help="preference CSV: column of the preferred answer")
    parser.add_argument("--rejected-column", default="rejected",
                        help="preference CSV: column of the dispreferred answer")
    parser.add_argument("--limits", choices=sorted(PRESETS), default="vertex",
                        help="per-example limits: vertex (Gemini 2.x) or gemini-api (40,000/5,000 characters)")
    parser.add_argument("--max-problems", type=int, default=50, help="bad lines to list (default 50)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def invalid_reason(report: ValidationReport) -> str:
    """Why a report is not OK, in one line (a header-only CSV has no bad line to show, so say so)."""
    if report.invalid:
        return f"{report.invalid:,} invalid record(s)"
    empty = [s.name for s in report.sources if not s.records]
    if empty:
        return f"no valid example found; no records in {', '.join(empty)} (only a header or blank lines?)"
    return "no valid example found"


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # file names need not be valid UTF-8 (shown escaped)
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    options = Options(
        columns=CsvColumns(args.input_column, args.output_column, args.prompt_column, args.chosen_column,
                           args.rejected_column),
        limits=Limits.resolve(args.limits),
        max_problems=max(args.max_problems, 0),
    )
    try:
        report = validate(local_sources(args.files, args.format), options)
    except (SourceError, OSError) as err:
        print(f"airflow-tuning validate: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"ok": report.ok, **report.to_dict()}, indent=2, ensure_ascii=False))
    else:
        print(report.render())
        if not report.ok:
            print(f"reason: {invalid_reason(report)}")
        print("OK" if report.ok else "INVALID")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
