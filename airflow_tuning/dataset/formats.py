"""Readers for the accepted input formats: Vertex Gemini JSONL, input/output pairs JSONL, and CSV.

Everything is read as bytes, one physical line at a time, from any object with ``read(n)`` (a local file,
a Cloud Storage ``BlobReader``), so memory stays flat whatever the file size. A UTF-8 byte-order mark and
CRLF line ends are accepted; blank lines are skipped; a line that is not UTF-8 or not JSON is reported as
that line and the rest of the file is still read.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, BinaryIO

import msgspec

from airflow_tuning.dataset.report import SourceError
from airflow_tuning.dataset.validation import PAIR_INPUT_KEYS, InvalidExample

FORMATS = ("auto", "vertex", "pairs", "csv", "preference", "prompts")
BOM = b"\xef\xbb\xbf"
BLOCK_SIZE = 1 << 20
MAX_LINE_BYTES = 64 << 20
OVERSIZED = object()  # stands in for a line longer than MAX_LINE_BYTES, which is never held in memory
_decode = msgspec.json.decode
#: What decoding one JSON line can raise: malformed or mistyped JSON, nesting too deep, a number out of range.
DECODE_ERRORS = (msgspec.DecodeError, RecursionError, ValueError)


@dataclass(frozen=True)
class Source:
    """One input: a name for messages, how to open it (bytes), and its format.

    ``items`` holds in-line examples instead (dicts or JSON strings), e.g. a list pulled from XCom.
    """

    name: str
    format: str = "auto"
    open: Callable[[], AbstractContextManager[BinaryIO]] | None = None
    items: Sequence[Any] | None = None
    display: str | None = None  # how problems name it; "" renders as "line N" (standard input)
    #: Tells this source's bytes apart without reading them through the pipeline (a file's or an object's
    #: CRC32C and size); None where nothing can (standard input). See ``source_fingerprint``.
    identity: Callable[[], str | None] | None = None
    #: A cheap stamp that changes whenever the bytes may have (a local file's size, times and inode), taken
    #: around the identity and the read; None where the read itself is pinned (an object's generation).
    stamp: Callable[[], Any] | None = None

    @property
    def effective_format(self) -> str:
        """``csv`` for ``auto`` sources named *.csv; JSONL lines are otherwise told apart by their keys."""
        if self.format == "auto" and self.items is None and self.name.lower().endswith(".csv"):
            return "csv"
        return self.format


def iter_lines(stream: BinaryIO, block_size: int = BLOCK_SIZE, max_line: int = MAX_LINE_BYTES
               ) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, bytes)`` for every physical line, line end removed, BOM stripped.

    Each block is walked by ``io.BytesIO``'s line iterator, which finds line ends with ``memchr`` and copies
    each line once (``bytes.split`` compares byte by byte, at about three times the cost per line); only a
    line that spans blocks is joined. A line longer than ``max_line`` yields ``OVERSIZED`` and is skipped
    without being held in memory.
    """
    number = 0
    tail: list[bytes] = []  # pieces of the line that the previous block(s) left unfinished
    tail_size = 0
    oversized = False
    block = stream.read(block_size)
    while 0 < len(block) < len(BOM) and BOM.startswith(block):  # a first read too short to tell
        more = stream.read(block_size)
        if not more:
            break
        block += more
    if block.startswith(BOM):
        block = block[len(BOM):] or stream.read(block_size)
    while block:
        lines = io.BytesIO(block)
        if tail or oversized:
            piece = lines.readline()
            if piece.endswith(b"\n"):
                number += 1
                if oversized:
                    oversized = False
                    yield number, OVERSIZED
                else:
                    tail.append(piece)
                    yield number, _without_line_end(b"".join(tail))
                tail, tail_size = [], 0
            else:
                lines.seek(0)  # no line end in this block: all of it continues the unfinished line
        rest = b""
        crlf = b"\r" in block
        for line in lines:
            if line[-1] != 10:  # no b"\n": the block's unfinished last line
                rest = line
                continue
            number += 1
            yield number, _without_line_end(line) if crlf else line[:-1]
        if rest and not oversized:
            tail.append(rest)
            tail_size += len(rest)
            if tail_size > max_line:
                oversized, tail, tail_size = True, [], 0
        block = stream.read(block_size)
    if oversized:
        yield number + 1, OVERSIZED
    elif tail:
        line = b"".join(tail)
        yield number + 1, line[:-1] if line.endswith(b"\r") else line


def _without_line_end(line: bytes) -> bytes:
    """``line`` without its ``\\n`` or ``\\r\\n``."""
    return line[:-2] if line.endswith(b"\r\n") else line[:-1]


def decode_json_line(raw: bytes) -> Any:
    """Decode one JSON line; raise ``InvalidExample`` with a precise reason (UTF-8, syntax, NaN, depth)."""
    try:
        return _decode(raw)
    except DECODE_ERRORS as err:
        raise InvalidExample(explain_bad_json(raw, err)) from None


class _Constant(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _Constant(name)


def explain_bad_json(raw: bytes, err: BaseException) -> str:
    """Why a line failed the fast decoder, in the words of the standard library's decoder when it has some."""
    if isinstance(err, RecursionError):
        return "JSON is nested too deeply"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"not valid UTF-8: byte 0x{raw[bad.start]:02x} at byte {bad.start + 1}"
    try:
        json.loads(text, parse_constant=_reject_constant)
    except _Constant as constant:
        return f"{constant} is not valid JSON (NaN and Infinity are not allowed)"
    except RecursionError:
        return "JSON is nested too deeply"
    except json.JSONDecodeError as bad:
        return f"not valid JSON: {bad.msg} at column {bad.colno}"
    detail = str(err).replace("JSON is malformed: ", "")
    if "out of range" in detail:
        return "a number is out of range (too large for a 64-bit float)"
    return f"not valid JSON: {detail}"


def iter_items(items: Iterable[Any]) -> Iterator[tuple[int, Any]]:
    """In-line examples as JSON bytes, numbered from 1 (NaN and Infinity rejected like in files)."""
    for number, item in enumerate(items, start=1):
        if isinstance(item, (bytes, str)):
            yield number, item.encode("utf-8", "surrogatepass") if isinstance(item, str) else item
            continue
        try:
            raw = json.dumps(item, ensure_ascii=False, allow_nan=False).encode("utf-8", "surrogatepass")
        except (TypeError, ValueError) as err:
            yield number, InvalidExample(f"cannot be written as JSON: {err}")
            continue
        yield number, raw


@dataclass(frozen=True)
class CsvColumns:
    """Which CSV columns hold the prompt and the response (``None``: ``input``, else ``text_input``); for
    preference and prompt files, the prompt, chosen and rejected columns."""

    input: str | None = None
    output: str = "output"
    prompt: str = "prompt"
    chosen: str = "chosen"
    rejected: str = "rejected"


def iter_csv(source: Source, stream: BinaryIO, columns: CsvColumns) -> Iterator[tuple[int, Any]]:
    """Yield ``(start line, (prompt, response, input name, output name) or InvalidExample or None)``.

    The line number is the physical line where the record starts (the header is line 1), so a quoted field
    with newlines does not shift the numbers of the records after it. ``None`` stands for a blank line.
    """
    _raise_csv_field_limit()
    state: dict[str, Any] = {"line": 0, "bad": {}}

    def text_lines() -> Iterator[str]:
        for number, raw in iter_lines(stream):
            state["line"] = number
            if raw is OVERSIZED:
                state["bad"][number] = f"line is longer than {MAX_LINE_BYTES:,} bytes"
                raw = b""
            try:
                yield raw.decode("utf-8") + "\n"
            except UnicodeDecodeError as bad:
                state["bad"][number] = f"not valid UTF-8: byte 0x{raw[bad.start]:02x} at byte {bad.start + 1}"
                yield raw.decode("utf-8", "replace") + "\n"

    reader = csv.reader(text_lines(), strict=True)
    header: list[str] | None = None
    input_index = output_index = -1
    while True:
        start = state["line"] + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            yield start, InvalidExample(f"malformed CSV: {err}")
            continue
        bad = [state["bad"][n] for n in sorted(state["bad"]) if n >= start]
        state["bad"].clear()
        blank = not row or (len(row) == 1 and not row[0].strip())
        if header is None and not blank:
            header = [name.strip() for name in row]
            input_index, output_index = _csv_column_indexes(source, header, columns)
        elif bad:
            yield start, InvalidExample(bad[0])
        elif blank or header is None:
            yield start, None
        elif len(row) != len(header):
            yield start, InvalidExample(f"record has {len(row)} field(s); the header has {len(header)}")
        elif any("\x00" in value for value in row):  # as JSONL lines, text holds no NUL control character
            column = next(i for i, value in enumerate(row) if "\x00" in value)
            yield start, InvalidExample(f"column {header[column]!r} contains a NUL byte (\\x00)")
        else:
            yield start, (row[input_index], row[output_index], header[input_index], header[output_index])


def _csv_column_indexes(source: Source, header: list[str], columns: CsvColumns) -> tuple[int, int]:
    wanted_input = [columns.input] if columns.input else list(PAIR_INPUT_KEYS)
    input_name = next((name for name in wanted_input if name in header), None)
    missing = [] if input_name else [" or ".join(repr(name) for name in wanted_input)]
    if columns.output not in header:
        missing.append(repr(columns.output))
    if missing:
        raise SourceError(
            f"{source.name}: the CSV header has no column {' and no column '.join(missing)} "
            f"(columns: {', '.join(header)}). Name the columns that hold the prompt and the response: "
            "`airflow-tuning validate --input-column NAME --output-column NAME`, or "
            "UploadDatasetOperator(input_column=..., output_column=...)"
        )
    assert input_name is not None  # "missing" is empty only when an input column was found
    return header.index(input_name), header.index(columns.output)


def _raise_csv_field_limit() -> None:
    """The csv module refuses fields over 128 KiB by default; a long prompt can be larger than that."""
    if csv.field_size_limit() < MAX_LINE_BYTES:
        csv.field_size_limit(min(sys.maxsize, MAX_LINE_BYTES))
