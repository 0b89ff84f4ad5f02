"""Reading preference and prompt data: the record loop for ``format="preference"`` and ``format="prompts"``.

Same guarantees as supervised data, through the same report, sink and split: every bad record is named as
``FILE:LINE: reason``, duplicates (by canonical line) are dropped, the validation split is by content hash
and nothing is written when the policy fails. Sources: JSONL (Vertex preference lines, or TRL
``prompt``/``chosen``/``rejected`` rows converted), in-line items, and CSV with configurable prompt / chosen
/ rejected columns (``PreferenceColumns``). The supervised loop (``pipeline._Scan._loop``) stays untouched.
"""

from __future__ import annotations

import csv
import hashlib
from typing import Any, BinaryIO, cast

from airflow_tuning.dataset.formats import (
    FORMATS,
    MAX_LINE_BYTES,
    OVERSIZED,
    CsvColumns,
    SourceError,
    decode_json_line,
    iter_items,
    iter_lines,
)
from airflow_tuning.dataset.preference import (
    MAX_PREFERENCE_VALIDATION_EXAMPLES,
    check_preference,
    check_prompts,
    from_trl,
)
from airflow_tuning.dataset.report import SourceStats
from airflow_tuning.dataset.sniff import SniffedStream
from airflow_tuning.dataset.split import ValidationSelector
from airflow_tuning.dataset.validation import InvalidExample, encode_example

METHOD_FORMATS = ("preference", "prompts")


def validation_max(formats: set[str], requested: int) -> int:
    """Vertex AI takes at most 5,000 preference validation examples."""
    return min(requested, MAX_PREFERENCE_VALIDATION_EXAMPLES) if "preference" in formats else requested


def validation_selector(options: Any, formats: set[str]) -> ValidationSelector:
    """The content-hash split of ``options``, its cap lowered to what the data's format allows."""
    return ValidationSelector(options.validation_fraction, validation_max(formats, options.validation_max))


def manifest_format(formats: set[str]) -> str:
    """The manifest's name for what was written: preference, prompt or supervised Gemini JSONL."""
    if formats == {"preference"}:
        return "vertex-gemini-preference-jsonl"
    if formats == {"prompts"}:
        return "vertex-gemini-prompts-jsonl"
    return "vertex-gemini-sft-jsonl"


def _csv_records(source: Any, stream: Any, columns: CsvColumns, fmt: str) -> Any:
    """``(line, dict)`` per CSV record; the header is line 1; missing columns fail the source by name."""
    state = {"line": 0}

    def text_lines() -> Any:
        for number, raw in iter_lines(stream):
            state["line"] = number
            if raw is OVERSIZED:
                raise SourceError(f"{source.name}:{number}: line is longer than {MAX_LINE_BYTES:,} bytes")
            yield raw.decode("utf-8", "replace") + "\n"

    reader = csv.reader(text_lines(), strict=True)
    header: list[str] | None = None
    wanted = [columns.prompt] + ([columns.chosen, columns.rejected] if fmt == "preference" else [])
    while True:
        start = state["line"] + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            yield start, InvalidExample(f"malformed CSV: {err}")
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            yield start, None
            continue
        if header is None:
            header = [name.strip() for name in row]
            missing = [repr(name) for name in wanted if name not in header]
            if missing:
                raise SourceError(f"{source.name}: the CSV header has no column {', '.join(missing)} "
                                  f"(columns: {', '.join(header)}); set the prompt/chosen/rejected column names")
            continue
        if len(row) != len(header):
            yield start, InvalidExample(f"record has {len(row)} field(s); the header has {len(header)}")
            continue
        values = dict(zip(header, row, strict=True))
        if fmt == "preference":
            yield start, {"prompt": values[columns.prompt], "chosen": values[columns.chosen],
                          "rejected": values[columns.rejected]}
        else:
            yield start, {"contents": [{"role": "user", "parts": [{"text": values[columns.prompt]}]}]}


def scanned(scan: Any, source: Any, fmt: str, sink: Any) -> bool:
    """The pipeline's hook: refuse an unknown format; read preference / prompt data here (True when done)."""
    if fmt not in FORMATS:
        raise ValueError(f"{source.name}: unknown format {fmt!r}; expected one of {FORMATS}")
    if fmt not in METHOD_FORMATS:
        return False
    scan_source(scan, source, fmt, sink, scan.options.columns)
    return True


def scan_source(scan: Any, source: Any, fmt: str, sink: Any, columns: CsvColumns) -> None:
    """Check, convert, dedupe and hand to ``sink`` every record of one source (``scan`` is the pipeline's)."""
    check = check_preference if fmt == "preference" else check_prompts
    stats = SourceStats(name=source.name, format=fmt)
    scan.report.sources.append(stats)
    if source.items is not None:
        _loop(scan, source, stats, iter_items(source.items), check, sink, None)
        return
    with source.open() as opened:
        stream = cast(BinaryIO, SniffedStream(source.name, opened))
        if source.name.lower().endswith(".csv"):
            records = _csv_records(source, stream, columns, fmt)
        else:
            records = iter_lines(stream)
        _loop(scan, source, stats, records, check, sink, stream)


def _loop(scan: Any, source: Any, stats: SourceStats, records: Any, check: Any, sink: Any, stream: Any) -> None:
    report, seen, limits = scan.report, scan.seen, scan.options.limits
    records_n = blank = valid = duplicates = tokens_total = 0
    for number, payload in records:
        if payload is None or (type(payload) is bytes and (not payload or payload.isspace())):
            blank += 1
            continue
        records_n += 1
        try:
            if isinstance(payload, InvalidExample):
                raise payload
            if payload is OVERSIZED:
                raise InvalidExample(f"line is longer than {MAX_LINE_BYTES:,} bytes")
            obj = decode_json_line(payload) if type(payload) is bytes else payload
            if check is check_prompts and isinstance(obj, dict) and {"prompt"} == set(obj):
                obj = {"contents": from_trl({"prompt": obj["prompt"], "chosen": "-", "rejected": "-"})["contents"]}
            line, tokens = encode_example(check(obj), 0, limits)
        except InvalidExample as err:
            report.add_problem(stats, number, str(err), display=source.display)
            continue
        valid += 1
        key = hashlib.sha256(line).digest()[:16]
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        tokens_total += tokens
        if sink is not None:
            sink.add(line, key)
    position = 0
    if stream is not None:
        try:
            position = stream.tell()
        except (OSError, ValueError, AttributeError):
            position = 0
    stats.records, stats.blank, stats.bytes, stats.valid, stats.duplicates = (
        records_n, blank, position, valid, duplicates)
    report.records += records_n
    report.valid += valid
    report.blank += blank
    report.bytes += position
    report.duplicates += duplicates
    report.estimated_tokens += tokens_total
    kind = "preference" if check is check_preference else "prompts"
    if valid - duplicates:
        report.kinds.update({kind: valid - duplicates})
