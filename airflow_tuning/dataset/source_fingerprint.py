"""One digest for everything an upload's result depends on, known before any line is read.

A scheduled retraining re-reads the same sources most weeks. The dataset hash tells unchanged data apart
only once every line was validated, converted and (while validating, see ``publish.staging``) sent; this
digest tells it apart up front, from what is known without reading the data through the pipeline: each
source's name, format and identity (a Cloud Storage object's CRC32C and size as listed, a local file's
CRC32C and size, in-line examples themselves), every option that changes the output or whether the task
succeeds, and the versions of the canonical format and of this package. Equal digests mean the pipeline
would produce the same files, counts and verdict; ``reuse`` then returns the dataset published from them.

A source with no identity (standard input) gives no digest: the data is then read as usual.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_tuning import __version__
from airflow_tuning.dataset.formats import Source
from airflow_tuning.dataset.pipeline import HASH_VERSION, Options

FINGERPRINT_VERSION = b"airflow-tuning/sources/1\n"
# Options that change only how the run reports (not its files, counts or verdict) stay out of the digest.
_REPORTING_OPTIONS = frozenset({"max_problems", "progress_interval"})


@dataclass(frozen=True)
class Fingerprint:
    """The digest, and how to tell that no local file changed since it was taken."""

    digest: str
    stamps: tuple[tuple[Callable[[], Any], Any], ...] = ()  # (how to stamp a file, its stamp before the read)

    def still_holds(self) -> bool:
        """False when a local file changed after it was fingerprinted: the data read since may be other bytes
        than the digest describes, and must not be published under it."""
        return all(stamp() == before for stamp, before in self.stamps)


def sources_fingerprint(sources: Sequence[Source], options: Options) -> Fingerprint | None:
    """The sources' identities and the output-changing options in one digest, or None if a source has none.

    Reads each local file once (CRC32C, at memory speed); Cloud Storage objects are not read (and are later
    read at the listed generation).
    """
    digest = hashlib.sha256(FINGERPRINT_VERSION + HASH_VERSION + f"{__version__}\n".encode())
    stamps = []
    try:
        settings = {k: v for k, v in dataclasses.asdict(options).items() if k not in _REPORTING_OPTIONS}
        digest.update(_canonical(settings) + b"\n")
        for source in sources:
            if source.stamp is not None:
                stamps.append((source.stamp, source.stamp()))  # before the identity: a change during it shows
            identity = _identity(source)
            if identity is None:
                return None
            digest.update(_canonical([source.name, source.effective_format, identity]) + b"\n")
    except (TypeError, ValueError):  # something that is not JSON data: nothing stable to compare, read as usual
        return None
    return Fingerprint(digest.hexdigest(), tuple(stamps))


def _identity(source: Source) -> str | None:
    if source.items is not None:
        return "items-sha256=" + hashlib.sha256(_canonical(list(source.items))).hexdigest()
    return source.identity() if source.identity is not None else None


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
