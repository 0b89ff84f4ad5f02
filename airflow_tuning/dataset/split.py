"""Deterministic train/validation split by a hash of each example's canonical content.

Each example's rank is the first 64 bits of the SHA-256 of its canonical line, read as a fraction of 2**64.
Examples whose rank is below ``validation_fraction`` are validation candidates; when there are more
candidates than ``validation_max``, the ones with the smallest ranks are kept.

Why this rule: an example's side depends only on its own content and on how many candidates rank below
it. When data is appended, an example already in training never moves to validation (its rank did not
change and the cut-off can only fall), and an example in validation stays there as long as the cap is not
exceeded. A model tuned on an earlier version of the data is therefore never validated on its training
examples.
"""

from __future__ import annotations

import heapq
import os
from array import array
from collections.abc import Iterable
from typing import Any

RANK_SCALE = 1 << 64
DEFAULT_VALIDATION_FRACTION = 0.1
DEFAULT_VALIDATION_MAX = 256  # the limit in Google's tuning docs; Gemini 2.x accepts up to 5,000
VERTEX_VALIDATION_MAX = 5_000


def rank(key: bytes) -> int:
    """The example's position in [0, 2**64): the first 8 bytes of its digest."""
    return int.from_bytes(key[:8], "big")


def fraction_threshold(validation_fraction: float) -> int:
    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
    return int(validation_fraction * RANK_SCALE)


class ValidationSelector:
    """Collects validation candidates while data streams by, then picks the final validation set."""

    def __init__(self, validation_fraction: float, validation_max: int) -> None:
        if validation_max < 0:
            raise ValueError(f"validation_max must be >= 0, got {validation_max}")
        self.threshold = fraction_threshold(validation_fraction) if validation_max else 0
        self.validation_max = validation_max
        self.ranks = array("Q")
        self.keys: list[bytes] = []

    def offer(self, key: bytes) -> bool:
        """True if the example is a validation candidate (recorded, in arrival order)."""
        value = rank(key)
        if value >= self.threshold:
            return False
        self.ranks.append(value)
        self.keys.append(key)
        return True

    def select(self, total_examples: int) -> set[bytes]:
        """Keys of the final validation set: the ``validation_max`` smallest-ranked candidates.

        If that would leave no training example at all, everything is training.
        """
        if len(self.keys) > self.validation_max:
            order = heapq.nsmallest(self.validation_max, range(len(self.keys)), key=self.ranks.__getitem__)
            chosen = {self.keys[i] for i in order}
        else:
            chosen = set(self.keys)
        return chosen if len(chosen) < total_examples else set()


def split_keys(keys: Iterable[bytes], validation_fraction: float, validation_max: int) -> tuple[set, set]:
    """(training keys, validation keys) for a whole set of example keys; the streaming rule, in one call."""
    keys = list(keys)
    selector = ValidationSelector(validation_fraction, validation_max)
    for key in keys:
        selector.offer(key)
    validation = selector.select(len(keys))
    return {key for key in keys if key not in validation}, validation


class SplitSink:
    """Writes the split as the data streams by: training lines at once (one write per MiB of them), validation
    candidates to a side file, keeping only the ``validation_max`` best-ranked so far.

    A candidate pushed out of those by a better-ranked one can never be chosen (the cut-off only falls), so it
    is read back and written to training right away; at the end only the kept candidates are left to place
    (``kept``). The training file therefore grows while the data is read, which lets it be uploaded meanwhile,
    and the side file holds a few thousand lines however large the data. The chosen set is the one
    ``ValidationSelector`` picks: the ``validation_max`` smallest ranks, the earlier arrival first on a tie.
    """

    __slots__ = ("train", "candidates", "limit", "train_count", "cut", "pending", "pending_bytes", "heap",
                 "offset", "seq")
    BATCH_BYTES = 1 << 20

    def __init__(self, train: Any, candidates: Any, selector: ValidationSelector) -> None:
        self.train, self.candidates = train, candidates
        self.limit = selector.validation_max
        self.train_count = 0
        # rank(key) < threshold, compared as bytes: the rank is the key's first 8 bytes, big-endian
        self.cut = selector.threshold.to_bytes(8, "big")
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.heap: list[tuple[int, int, int, int, bytes]] = []  # (-rank, -arrival, offset, length, key)
        self.offset = self.seq = 0

    def add(self, line: bytes, key: bytes) -> None:
        if key < self.cut:
            value = rank(key)
            heap = self.heap
            if len(heap) < self.limit:
                heapq.heappush(heap, self._keep(value, line, key))
                return
            if value < -heap[0][0]:  # better than the worst kept: it stays, the worst becomes training
                _, _, offset, length, _ = heapq.heappushpop(heap, self._keep(value, line, key))
                line = self._read_back(offset, length)
        self.pending.append(line)
        self.pending_bytes += len(line)
        if self.pending_bytes >= self.BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.pending.append(b"")
            self.train.write(b"\n".join(self.pending))
            self.train_count += len(self.pending) - 1
            self.pending, self.pending_bytes = [], 0

    def kept(self) -> list[tuple[bytes, bytes]]:
        """(key, line) of the kept candidates, in arrival order."""
        return [(key, self._read_back(offset, length)) for _, _, offset, length, key in
                sorted(self.heap, key=lambda entry: entry[2])]

    def _keep(self, value: int, line: bytes, key: bytes) -> tuple[int, int, int, int, bytes]:
        self.candidates.write(line)
        self.candidates.write(b"\n")
        entry = (-value, -self.seq, self.offset, len(line), key)
        self.offset += len(line) + 1
        self.seq += 1
        return entry

    def _read_back(self, offset: int, length: int) -> bytes:
        self.candidates.flush()
        return os.pread(self.candidates.fileno(), length, offset)
