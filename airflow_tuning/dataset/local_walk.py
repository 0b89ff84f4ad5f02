"""Enumerate local files for directories and globs: each file once, symlink loops skipped, the walk bounded.

``glob.glob(recursive=True)`` follows directory symlinks without remembering where it has been: a
``self -> .`` link makes ``dir/**/*.jsonl`` read the same file again and again, and two such links (or an
``up -> ..``) make it grow without bound. This walk visits each real directory once (by device and inode),
skips a directory link that leads back to where it has already been with a message saying so, reports a file
link loop or a dangling link as a clear error, and stops with an error past ``MAX_ENTRIES`` entries.
"""

from __future__ import annotations

import errno
import fnmatch
import logging
import os
import re
from collections.abc import Callable, Iterator
from functools import cache

from airflow_tuning.dataset.report import SourceError

MAX_ENTRIES = 1_000_000  # directory entries one pattern may visit
GLOB_CHARS = frozenset("*?[")

log = logging.getLogger(__name__)


def has_glob(text: str) -> bool:
    return bool(GLOB_CHARS & set(text))


def _component_regex(component: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(component))


def _matcher(parts: list[str]) -> Callable[[tuple[str, ...]], bool]:
    """A matcher of relative path components against glob components (``**``: zero or more directories).

    As ``glob`` does, a wildcard does not match a name starting with ``.`` unless the component does.
    """
    regexes = [None if part == "**" else _component_regex(part) for part in parts]

    def matches(names: tuple[str, ...]) -> bool:
        @cache
        def at(i: int, j: int) -> bool:
            if i == len(parts):
                return j == len(names)
            if regexes[i] is None:
                if at(i + 1, j):
                    return True
                return j < len(names) - 1 and not names[j].startswith(".") and at(i, j + 1)
            if j == len(names):
                return False
            hidden_ok = parts[i].startswith(".") or not names[j].startswith(".")
            regex = regexes[i]  # not None: that case returned above
            return hidden_ok and regex is not None and regex.match(names[j]) is not None and at(i + 1, j + 1)

        return at(0, 0)

    return matches


def check_file(path: str) -> None:
    """Raise a clear ``SourceError`` for a link loop or a dangling link (instead of a raw ``OSError``)."""
    try:
        os.stat(path)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise SourceError(
                f"{path}: symbolic link loop (too many levels of symbolic links); fix or remove the link"
            ) from None
        if os.path.islink(path):
            raise SourceError(f"{path}: symbolic link to a missing file ({os.readlink(path)})") from None
        raise SourceError(f"{path}: cannot be read: {err.strerror}") from None


def walk_files(top: str, max_depth: int | None = None, skip_hidden: bool = False) -> Iterator[str]:
    """Files under ``top`` (links followed), each real directory visited once; loops skipped with a log line.

    ``max_depth`` limits how many directory levels below ``top`` are entered (None: no limit).
    """
    seen: set[tuple[int, int]] = set()
    entries = 0
    stack: list[tuple[str, int]] = [(top, 0)]
    while stack:
        directory, depth = stack.pop()
        try:
            info = os.stat(directory)
        except OSError as err:
            raise SourceError(f"{directory}: cannot be read: {err.strerror}") from None
        key = (info.st_dev, info.st_ino)
        if key in seen:
            log.warning(
                "Skipping %s: it leads to a directory already read (a symbolic link loop or a second link "
                "to the same directory)", directory,
            )  # fmt: skip
            continue
        seen.add(key)
        try:
            with os.scandir(directory) as scan:
                children = sorted(scan, key=lambda entry: entry.name)
        except OSError as err:
            raise SourceError(f"{directory}: cannot be listed: {err.strerror}") from None
        entries += len(children)
        if entries > MAX_ENTRIES:
            raise SourceError(
                f"{top}: more than {MAX_ENTRIES:,} directory entries under it; name a narrower directory or "
                "pattern"
            )
        subdirs = []
        for entry in children:
            if skip_hidden and entry.name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if max_depth is None or depth < max_depth:
                    subdirs.append((entry.path, depth + 1))
            else:
                yield entry.path
        stack.extend(reversed(subdirs))


def glob_files(pattern: str) -> list[str]:
    """The files a glob matches (``**`` recursive), sorted; without ``**`` only the levels it names."""
    parts = pattern.split(os.sep)
    first = next(i for i, part in enumerate(parts) if has_glob(part))
    base_parts, rest = parts[:first], parts[first:]
    if base_parts == [""]:  # an absolute pattern whose first component is a wildcard: "/*.jsonl"
        base = os.sep
    else:
        base = os.sep.join(base_parts)
    if not base:
        top = os.curdir
    elif not os.path.isdir(base):
        return []
    else:
        top = base
    depth = None if "**" in rest else len(rest) - 1
    matches = _matcher(rest)
    found = []
    for path in walk_files(top, max_depth=depth):
        rel = os.path.relpath(path, top)
        if matches(tuple(rel.split(os.sep))):
            found.append(path if base else rel)
    return sorted(found)


def directory_files(directory: str, suffixes: tuple[str, ...]) -> list[str]:
    """The data files (by suffix) under a directory, sorted."""
    return sorted(path for path in walk_files(directory) if path.lower().endswith(suffixes))


def unique_by_real_path(paths: list[str], seen: set[str]) -> list[str]:
    """Each file once: drop paths whose resolved real path was already taken (recorded in ``seen``)."""
    kept = []
    for path in paths:
        check_file(path)
        real = os.path.realpath(path)
        if real in seen:
            log.info("Skipping %s: the same file as one already read (%s)", path, real)
            continue
        seen.add(real)
        kept.append(path)
    return kept
