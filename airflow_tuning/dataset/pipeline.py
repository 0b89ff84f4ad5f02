"""Merge sources, validate and convert every record, drop exact duplicates, split, and write the files.

One streaming pass: each record is decoded, checked, rewritten as one canonical Vertex Gemini SFT line
(sorted keys, compact, UTF-8) and hashed. The SHA-256 of that line identifies the example: equal lines are
duplicates, and the hash decides the train/validation side (see ``split``). Lines go straight to a local
training file or, for validation candidates, to a side file; memory holds a 16-byte digest per unique
example (about 100 bytes with Python's overhead), never the data.

The dataset hash covers the set of examples and their sides, not the order they arrived in: the same
examples from reordered or re-split source files give the same hash, hence the same object names.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, BinaryIO, cast

from airflow_tuning.dataset import method_scan
from airflow_tuning.dataset.duplicate_keys import CheckBudget, check_duplicate_keys
from airflow_tuning.dataset.formats import (
    MAX_LINE_BYTES,
    OVERSIZED,
    CsvColumns,
    Source,
    iter_csv,
    iter_items,
    iter_lines,
)
from airflow_tuning.dataset.json_line import json_line
from airflow_tuning.dataset.limits import Limits
from airflow_tuning.dataset.outliers import LengthTracker
from airflow_tuning.dataset.report import DatasetValidationError, SourceStats, ValidationReport
from airflow_tuning.dataset.sniff import SniffedStream
from airflow_tuning.dataset.split import (
    DEFAULT_VALIDATION_FRACTION,
    DEFAULT_VALIDATION_MAX,
    SplitSink,
    ValidationSelector,
)
from airflow_tuning.dataset.tokens import stream_tokens
from airflow_tuning.dataset.validation import (
    InvalidExample,
    encode_example,
    pair_example,
)
from airflow_tuning.dataset.verbatim import UNSURE, verbatim_line

log = logging.getLogger(__name__)

HASH_VERSION = b"airflow-tuning/vertex-gemini-sft/1\n"
ON_INVALID = ("fail", "skip")
PROGRESS_EVERY = 1 << 14  # records between clock checks
HASH_SLICE = 1 << 16  # example digests hashed per join
_sha256 = hashlib.sha256

Progress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Options:
    """How to read, check and split; the operator's and the CLI's parameters in one place."""

    columns: CsvColumns = field(default_factory=CsvColumns)
    system_instruction: str | None = None
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION
    validation_max: int = DEFAULT_VALIDATION_MAX
    on_invalid: str = "fail"
    max_invalid_fraction: float = 0.05
    max_problems: int = 20
    limits: Limits = field(default_factory=Limits)
    progress_interval: float = 10.0

    def __post_init__(self) -> None:
        if self.on_invalid not in ON_INVALID:
            raise ValueError(f"on_invalid must be one of {ON_INVALID}, got {self.on_invalid!r}")
        if not 0.0 <= self.max_invalid_fraction <= 1.0:
            raise ValueError(f"max_invalid_fraction must be in [0, 1], got {self.max_invalid_fraction}")
        ValidationSelector(self.validation_fraction, self.validation_max)  # range checks


@dataclass(frozen=True)
class OutputFile:
    path: str
    examples: int
    size: int


@dataclass
class PreparedDataset:
    """Local files ready to upload, the dataset hash and the validation report."""

    sha256: str
    train: OutputFile
    validation: OutputFile | None
    report: ValidationReport
    options: Options
    train_tokens: int = 0

    def manifest(self) -> dict[str, Any]:
        """What the manifest records about the data (the publisher adds object names and checksums)."""
        report = self.report
        return {
            "format": method_scan.manifest_format({s.format for s in report.sources}),
            "sha256": self.sha256,
            "examples": report.examples,
            "training_examples": self.train.examples,
            "validation_examples": self.validation.examples if self.validation else 0,
            "invalid": report.invalid,
            "duplicates": report.duplicates,
            "blank_lines": report.blank,
            "estimated_tokens": report.estimated_tokens,
            "estimated_training_tokens": self.train_tokens,
            "kinds": dict(report.kinds),
            "sources": [s.to_dict() for s in report.sources],
            "split": {
                "validation_fraction": self.options.validation_fraction,
                "validation_max": self.options.validation_max,
            },
            "limits": self.options.limits.preset,
            "system_instruction_applied": bool(self.options.system_instruction),
            "warnings": list(report.warnings),
            "problems": [str(p) for p in report.problems],
        }


def validate(sources: Sequence[Source], options: Options | None = None, progress: Progress | None = None
             ) -> ValidationReport:
    """Check every record (duplicates included) without writing anything; the CLI's pass."""
    options = options or Options()
    scan = _Scan(options, progress)
    for source in sources:
        scan.run(source, None)
    scan.report.finish()
    return scan.report


def prepare(sources: Sequence[Source], workdir: str, options: Options | None = None,
            progress: Progress | None = None) -> PreparedDataset:
    """Validate, convert, dedupe and split into ``workdir``/train.jsonl and validation.jsonl.

    Raises ``DatasetValidationError`` (with the report) when the invalid-record policy is not met or
    nothing valid remains; nothing is left in ``workdir`` then.
    """
    options = options or Options()
    scan = _Scan(options, progress)
    train_path = os.path.join(workdir, "train.jsonl")
    candidates_path = os.path.join(workdir, "validation-candidates.jsonl")
    validation_path = os.path.join(workdir, "validation.jsonl")
    selector = method_scan.validation_selector(options, {s.effective_format for s in sources})
    try:
        with open(train_path, "wb", buffering=1 << 20) as train, \
                open(candidates_path, "w+b", buffering=1 << 20) as candidates:
            sink = SplitSink(train, candidates, selector)
            for source in sources:
                scan.run(source, sink)
            sink.flush()
            report = scan.report
            _enforce_policy(report, options)
            kept = sink.kept()
            # Everything is training when the validation set would take every example.
            chosen = {key for key, _ in kept} if len(kept) < report.examples else set()
            train_count, validation_count = sink.train_count, 0
            with open(validation_path, "wb") as validation:
                for key, line in kept:
                    (validation if key in chosen else train).write(line + b"\n")
                    validation_count += key in chosen
                    train_count += key not in chosen
    except BaseException:
        for path in (train_path, candidates_path, validation_path):
            _remove(path)
        raise
    _remove(candidates_path)
    digest = _dataset_hash(scan.seen, chosen)
    scan.seen.clear()
    report.finish(train_count)
    if not validation_count:
        _remove(validation_path)
    train_tokens = report.estimated_tokens - (_file_tokens(validation_path) if validation_count else 0)
    return PreparedDataset(
        sha256=digest,
        train=OutputFile(train_path, train_count, os.path.getsize(train_path)),
        validation=OutputFile(validation_path, validation_count, os.path.getsize(validation_path))
        if validation_count else None,
        report=report,
        options=options,
        train_tokens=max(0, train_tokens),
    )


def _file_tokens(path: str) -> int:
    """Token estimate of a written file (the validation split: small, at most ``validation_max`` lines)."""
    with open(path, "rb") as fh:
        return stream_tokens(fh)[1]


def _enforce_policy(report: ValidationReport, options: Options) -> None:
    if options.on_invalid == "fail" and report.invalid:
        reason = "invalid records found (on_invalid='fail')"
    elif report.invalid_fraction > options.max_invalid_fraction:
        reason = (f"{report.invalid_fraction:.2%} of records are invalid, more than max_invalid_fraction="
                  f"{options.max_invalid_fraction:.2%}")
    elif not report.examples:
        reason = "no valid example found"
    else:
        return
    report.finish()
    raise DatasetValidationError(f"Dataset validation failed: {reason}.\n{report.render()}", report)


def _dataset_hash(keys: set[bytes], validation: set[bytes]) -> str:
    """SHA-256 over the sorted example digests, each tagged with its side: order-independent, split-aware."""
    ordered = sorted(keys)
    marks = sorted(bisect.bisect_left(ordered, key) for key in validation)
    digest = _sha256(HASH_VERSION)
    # Every key is 16 bytes: a slice of keys is tagged "T" in one join, then its few validation tags are set
    # in place; slices keep the extra memory small next to the keys themselves.
    for start in range(0, len(ordered), HASH_SLICE):
        tagged = bytearray(b"T".join(ordered[start:start + HASH_SLICE]))
        tagged.append(ord("T"))
        for index in marks[bisect.bisect_left(marks, start):bisect.bisect_left(marks, start + HASH_SLICE)]:
            tagged[(index - start) * 17 + 16] = ord("V")
        digest.update(tagged)
    return digest.hexdigest()


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


class _Scan:
    """The per-record loop shared by ``validate`` and ``prepare``."""

    def __init__(self, options: Options, progress: Progress | None) -> None:
        self.options = options
        self.report = ValidationReport(max_problems=options.max_problems)
        self.seen: set[bytes] = set()
        self.progress = progress or _log_progress
        self.started = time.monotonic()
        self.last_progress = self.started
        self.key_checks = CheckBudget()  # how deep each file's first lines are checked for repeated keys

    def run(self, source: Source, sink: SplitSink | None) -> None:
        fmt = source.effective_format
        if method_scan.scanned(self, source, fmt, sink):  # an unknown format, or preference / prompt data
            return
        stats = SourceStats(name=source.name, format=fmt)
        self.report.sources.append(stats)
        if source.items is not None:
            self._loop(source, stats, iter_items(source.items), fmt, sink, None)
            return
        assert source.open is not None
        with source.open() as opened:
            # A gzip or UTF-16 file is named as such; the sniffed stream reads like the file it wraps.
            stream = cast(BinaryIO, SniffedStream(source.name, opened))
            if fmt == "csv":
                records = iter_csv(source, stream, self.options.columns)
            else:
                records = check_duplicate_keys(iter_lines(stream), partial(self._duplicate_key, source),
                                               self.key_checks)
            self._loop(source, stats, records, fmt, sink, stream)

    def _duplicate_key(self, source: Source, line: int, key: str) -> None:
        where = f"line {line}" if source.display == "" else f"{source.display or source.name}:{line}"
        self.report.add_warning(f"{where}: the key {key!r} appears twice in one object; the last value is used")

    def _loop(self, source: Source, stats: SourceStats, records: Any, fmt: str, sink: SplitSink | None,
              stream: Any) -> None:
        # The hot loop, run once per line of files that can hold millions: counters live in locals and are
        # written back at the end, and the common case (a JSON line holding a Vertex example) takes the
        # shortest path.
        report, seen, limits = self.report, self.seen, self.options.limits
        instruction = self.options.system_instruction
        expect = "auto" if fmt in ("auto", "csv") else fmt
        vertex_first = expect != "pairs"
        # Texts can be copied only when no character limit needs them decoded (see ``verbatim``).
        text_line = verbatim_line if vertex_first and not limits.counts_chars else None
        convert = partial(json_line, limits=limits, expect=expect, instruction=instruction)
        single_turn, max_tokens = limits.single_turn, limits.max_example_tokens
        kinds: dict[str, int] = dict.fromkeys(("vertex", "pairs", "csv"), 0)
        add = sink.add if sink is not None else None
        sha256, seen_add = _sha256, seen.add
        records_n = blank = valid = duplicates = tokens_total = 0
        countdown = PROGRESS_EVERY
        measure = (lengths := LengthTracker()).add
        for number, payload in records:
            if type(payload) is bytes and payload and not payload.isspace():
                records_n += 1
                line = text_line(payload, single_turn) if text_line is not None else UNSURE
                if type(line) is bytes and (max_tokens is None or len(line) // 4 <= max_tokens):
                    kind, tokens = "vertex", len(line) // 4  # encode_example's estimate, for a line without files
                else:
                    try:
                        # Past the token limit, the line's decoded example takes the general path's error.
                        line, tokens, kind = convert(payload, line is not None)
                    except InvalidExample as err:
                        report.add_problem(stats, number, str(err), display=source.display)
                        continue
            elif payload is None or type(payload) is bytes:
                blank += 1
                continue
            else:
                records_n += 1
                try:
                    if type(payload) is tuple:
                        prompt, response, input_name, output_name = payload
                        example, files = pair_example(prompt, response, limits, instruction,
                                                      input_name=input_name, output_name=output_name)
                        kind = "csv"
                    elif payload is OVERSIZED:
                        raise InvalidExample(f"line is longer than {MAX_LINE_BYTES:,} bytes")
                    else:
                        raise payload
                    line, tokens = encode_example(example, files, limits)
                except InvalidExample as err:
                    report.add_problem(stats, number, str(err), display=source.display)
                    continue
            key = sha256(line).digest()[:16]
            valid += 1
            measure(len(line), number)
            if key in seen:
                duplicates += 1
                continue
            seen_add(key)
            kinds[kind] += 1
            tokens_total += tokens
            if add is not None:
                add(line, key)
            countdown -= 1
            if not countdown:
                countdown = PROGRESS_EVERY
                self._tick(stats, records_n, _position(stream))
        stats.records, stats.blank, stats.bytes = records_n, blank, _position(stream)
        stats.valid, stats.duplicates = valid, duplicates
        report.records += records_n
        report.valid += valid
        report.blank += blank
        report.bytes += stats.bytes
        report.duplicates += duplicates
        report.estimated_tokens += tokens_total
        report.kinds.update({kind: n for kind, n in kinds.items() if n})
        lengths.report_to(report, source)

    def _tick(self, current: SourceStats, records: int, size: int) -> None:
        now = time.monotonic()
        if now - self.last_progress < self.options.progress_interval:
            return
        self.last_progress = now
        report = self.report
        self.progress({
            "source": current.name,
            "records": report.records + records,
            "examples": len(self.seen),
            "invalid": report.invalid,
            "bytes": report.bytes + size,
            "elapsed": now - self.started,
        })


def _position(stream: Any) -> int:
    """Bytes read so far (0 for in-line examples or a stream that cannot tell)."""
    try:
        return int(stream.tell()) if stream is not None else 0
    except (OSError, ValueError, AttributeError):
        return 0


def _log_progress(progress: dict[str, Any]) -> None:
    elapsed = max(progress["elapsed"], 1e-9)
    log.info(
        "dataset: %s records read (%.0f/s, %.1f MB/s), %s unique examples, %s invalid; reading %s",
        f"{progress['records']:,}", progress["records"] / elapsed, progress["bytes"] / elapsed / 1e6,
        f"{progress['examples']:,}", f"{progress['invalid']:,}", progress["source"],
    )
