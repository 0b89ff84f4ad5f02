"""Turn what a user names (paths, globs, directories, ``gs://`` objects, prefixes or globs, in-line lists)
into ``Source`` objects the pipeline can read.

Directories and ``gs://`` prefixes contribute their ``*.jsonl`` and ``*.csv`` files (so a manifest or a
README beside the data is not read as data); a file or object named exactly, or matched by a glob, is read
whatever its extension. A name that matches nothing is an error rather than an empty dataset.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any, BinaryIO

from airflow_tuning.common.names import parse_gs_prefix
from airflow_tuning.dataset.formats import FORMATS, Source
from airflow_tuning.dataset.local_walk import directory_files, glob_files, unique_by_real_path
from airflow_tuning.dataset.report import SourceError

DATA_SUFFIXES = (".jsonl", ".csv")
GLOB_CHARS = frozenset("*?[")
READ_CHUNK = 8 << 20


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    return fmt


def local_sources(patterns: Iterable[str], fmt: str = "auto", seen: set[str] | None = None) -> list[Source]:
    """Files for local paths, directories and globs (``**`` recursive), each pattern's matches sorted.

    Each file is read once (by real path, also across calls sharing ``seen``); symbolic link loops are
    skipped or refused with a message (see ``local_walk``).
    """
    check_format(fmt)
    seen = set() if seen is None else seen
    sources: list[Source] = []
    for pattern in patterns:
        if pattern == "-":
            sources.append(Source(name="<stdin>", format=fmt, display="",
                                  open=lambda: contextlib.nullcontext(sys.stdin.buffer)))
            continue
        pattern = os.path.expanduser(pattern)
        if GLOB_CHARS & set(pattern):
            paths = glob_files(pattern)
        elif os.path.isdir(pattern):
            paths = directory_files(pattern, DATA_SUFFIXES)
        elif os.path.isfile(pattern) or os.path.islink(pattern):
            paths = [pattern]
        else:
            raise SourceError(f"{pattern}: no such file or directory")
        if not paths:
            raise SourceError(f"{pattern}: matches no data file")
        paths = unique_by_real_path(paths, seen)
        sources.extend(Source(name=path, format=fmt, open=partial(_open_binary, path),
                              identity=partial(_file_identity, path), stamp=partial(_file_stamp, path))
                       for path in paths)
    return sources


def split_gs_uri(uri: str) -> tuple[str, str]:
    """``gs://bucket/path`` -> (bucket, path); path may be empty (a prefix)."""
    return parse_gs_prefix(uri, what="gs:// URI")


def gcs_sources(client: Any, uris: Iterable[str], fmt: str = "auto") -> list[Source]:
    """Objects for ``gs://`` URIs: an exact object, a prefix (its .jsonl/.csv objects) or a glob.

    ``client`` is a ``google.cloud.storage.Client``; objects are streamed with ``blob.open("rb")``. A prefix
    written with a trailing ``/`` or a glob may match nothing (an empty "incoming" folder next to the
    accumulated history is normal); a name without one must exist.
    """
    check_format(fmt)
    sources: list[Source] = []
    for uri in uris:
        bucket_name, path = split_gs_uri(uri)
        bucket = client.bucket(bucket_name)
        if GLOB_CHARS & set(path):
            literal = min(path.index(c) for c in GLOB_CHARS if c in path)
            blobs = list(client.list_blobs(bucket_name, prefix=path[:literal] or None, match_glob=path))
        else:
            exact = bucket.get_blob(path) if path and not path.endswith("/") else None
            if exact is not None:
                blobs = [exact]
            else:
                prefix = path if not path or path.endswith("/") else path + "/"
                blobs = [b for b in client.list_blobs(bucket_name, prefix=prefix or None)
                         if b.name.lower().endswith(DATA_SUFFIXES)]
        blobs = sorted((b for b in blobs if not b.name.endswith("/")), key=lambda b: b.name)
        may_be_empty = path.endswith("/") or bool(GLOB_CHARS & set(path))
        if not blobs and not may_be_empty:
            raise SourceError(f"{uri}: matches no object")
        sources.extend(
            Source(name=f"gs://{bucket_name}/{blob.name}", format=fmt, open=partial(_open_blob, blob),
                   identity=partial(_blob_identity, blob))
            for blob in blobs
        )
    return sources


def _open_blob(blob: Any) -> Any:
    return blob.open("rb", chunk_size=READ_CHUNK)


def _blob_identity(blob: Any) -> str | None:
    """The object's CRC32C and size, as listed: known without reading a byte."""
    return f"crc32c={blob.crc32c} size={blob.size}" if blob.crc32c and blob.size is not None else None


def _file_stamp(path: str) -> tuple[int, ...] | None:
    """Size, modification and change times, inode: any write, truncation or replacement changes one."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev


def _file_identity(path: str) -> str | None:
    """A regular file's CRC32C and size: one read at memory speed, much cheaper than the pipeline's.

    None for anything else (a named pipe would lose what this read) or a file that cannot be read: the
    pipeline then reads it as usual and reports what is wrong with it.
    """
    from airflow_tuning.dataset.staged_upload import file_crc32c

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        return f"crc32c={file_crc32c(path)} size={os.path.getsize(path)}"
    except OSError:
        return None


def inline_source(items: Sequence[Any], fmt: str = "auto", name: str = "examples") -> Source:
    """In-line examples (dicts or JSON strings), e.g. pulled from XCom; problems read ``examples:N``."""
    if fmt == "csv":
        raise ValueError("in-line examples are JSON objects; format 'csv' does not apply to them")
    return Source(name=name, format=check_format(fmt), items=list(items))


def _open_binary(path: str) -> BinaryIO:
    return open(path, "rb")
