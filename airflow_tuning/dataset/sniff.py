"""Recognise a file that is not UTF-8 text before reading it line by line, and say what it probably is.

A gzip archive or a UTF-16 export read as UTF-8 gives one "not valid UTF-8" problem per line, none of which
names the cause. The first bytes usually do: a compression or archive signature, a UTF-16 byte-order mark,
or NUL bytes between ASCII characters (UTF-16 without a mark).
"""

from __future__ import annotations

from typing import Any, BinaryIO

from airflow_tuning.dataset.report import SourceError

SNIFF_BYTES = 4096
SIGNATURES = (
    (b"\x1f\x8b", "gzip-compressed", "decompress it first (gunzip FILE)"),
    (b"BZh", "bzip2-compressed", "decompress it first (bunzip2 FILE)"),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it first (unxz FILE)"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", "decompress it first (unzstd FILE)"),
    (b"PK\x03\x04", "a zip archive (or an Excel .xlsx workbook)", "extract it, or export the sheet as CSV (UTF-8)"),
    (b"PAR1", "a Parquet file", "export it as JSONL or CSV (UTF-8)"),
    (b"\xff\xfe", "UTF-16 encoded (little-endian byte-order mark)", "save it as UTF-8"),
    (b"\xfe\xff", "UTF-16 encoded (big-endian byte-order mark)", "save it as UTF-8"),
)


def diagnose(head: bytes) -> tuple[str, str] | None:
    """(what the bytes look like, what to do) for a file that is not UTF-8 text, else None."""
    for signature, what, advice in SIGNATURES:
        if head.startswith(signature):
            if signature == b"BZh" and not head[3:4].isdigit():
                continue
            return what, advice
    if head and head.count(0) * 4 >= len(head):  # ASCII in UTF-16: every other byte is NUL
        return "UTF-16 or binary (a quarter or more of its first bytes are NUL)", "save it as UTF-8 text"
    return None


class SniffedStream:
    """A binary stream whose first bytes were checked; reads serve those bytes first, then the rest."""

    def __init__(self, name: str, stream: BinaryIO) -> None:
        self._stream = stream
        self._head = stream.read(SNIFF_BYTES)
        found = diagnose(self._head)
        if found:
            raise SourceError(f"{name}: the file is {found[0]}, not UTF-8 text; {found[1]}")

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._stream.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            if len(data) < size:
                data += self._stream.read(size - len(data))
            return data
        return self._stream.read(size)

    def tell(self) -> int:
        return int(self._stream.tell()) - len(self._head)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
