"""Content-addressed publishing of a prepared dataset to Cloud Storage.

Layout under the destination ``gs://bucket/prefix``::

    prefix/<sha256[:16]>/train.jsonl
    prefix/<sha256[:16]>/validation.jsonl     (when a validation set was selected)
    prefix/<sha256[:16]>/manifest.json        (written last: its presence means the data is complete)

If the manifest for the hash already exists, nothing is uploaded and the result says ``changed: False``.
A new manifest carries the fingerprint of the sources it was made from in its custom metadata, so that a
later run from the same sources finds it without reading them (``reuse``).

No partial or unverified object ever sits at a final name: each file is streamed into a resumable upload
session at ``prefix/_tmp/<uuid>`` with its CRC32C declared (the service refuses a mismatch), the CRC32C
and size the service reports are compared with the local ones, and only then is the object rewritten to
its final name (a server-side copy: the bytes are not sent again) and the temporary object deleted.

The training file, nearly all of the bytes, can be sent while it is being validated (``staging``): its
session is finalized only once the data proved valid and its hash is known, and cancelled otherwise (an
unfinalized session creates no object), also when the dataset is already published.

Generation preconditions are not used (the offline storage emulator ignores them); content addressing
makes a concurrent duplicate publish harmless.

The client is passed in (``google.cloud.storage.Client``); nothing here imports Airflow.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from airflow_tuning.common.retry import RetryPolicy
from airflow_tuning.common.storage_errors import BucketNotFoundError
from airflow_tuning.dataset.pipeline import PreparedDataset
from airflow_tuning.dataset.sources import split_gs_uri
from airflow_tuning.dataset.staged_upload import StagedFile, StagedUploadError, file_crc32c

log = logging.getLogger(__name__)

HASH_CHARS = 16
TMP_DIR = "_tmp"
UPLOAD_ATTEMPTS = 5
UPLOAD_TIMEOUT = (30.0, 600.0)  # connect, read (the service checksums the whole object before answering)
JSONL_TYPE = "application/jsonl"
MANIFEST = "manifest.json"  # written last: its presence means the dataset is complete
SOURCES_METADATA_KEY = "airflow-tuning-sources"  # a new manifest's custom metadata: see ``reuse``
MAX_OBJECT_NAME_BYTES = 1024  # Cloud Storage's limit on an object name (UTF-8)
LONGEST_SUFFIX = len(f"/{TMP_DIR}/{'0' * 32}-validation.jsonl")  # the longest name published under the prefix
MAX_PREFIX_BYTES = MAX_OBJECT_NAME_BYTES - LONGEST_SUFFIX


class PublishError(RuntimeError):
    """An upload could not be completed or verified; no object was published under a final name."""


__all__ = ["BucketNotFoundError", "PublishError", "publish", "staging"]


@dataclass(frozen=True)
class Destination:
    bucket: str
    prefix: str

    @classmethod
    def parse(cls, uri: str) -> Destination:
        bucket, path = split_gs_uri(uri.strip())
        prefix = path.strip("/")
        size = len(prefix.encode("utf-8"))
        if size > MAX_PREFIX_BYTES:
            raise ValueError(
                f"the prefix of {uri[:60]!r}... is {size:,} bytes; Cloud Storage object names are at most "
                f"{MAX_OBJECT_NAME_BYTES:,} bytes and the names under it add {LONGEST_SUFFIX} more: use a prefix "
                f"of at most {MAX_PREFIX_BYTES:,} bytes"
            )
        return cls(bucket, prefix)

    def name(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def uri(self, name: str) -> str:
        return f"gs://{self.bucket}/{name}"


@contextmanager
def staging(client: Any, destination: str, workdir: str, *, chunk_size: int | None = None,
            retry: Any = None) -> Iterator[StagedFile]:
    """Start sending ``workdir``/train.jsonl to ``destination``'s temporary area as ``prepare`` writes it.

    ``retry``: the google-api-core ``Retry`` for each chunk (the connection's policy; ``publish`` takes the same).

    Pass the result to ``publish(staged=...)``. Leaving the block without ``publish`` having finalized it
    (invalid data, any exception) cancels the session: nothing is created in the bucket.
    """
    dest = Destination.parse(destination)
    bucket = client.bucket(dest.bucket)
    train = os.path.join(workdir, "train.jsonl")
    if os.path.exists(train):  # left by an earlier run: prepare rewrites it, and only new bytes may be followed
        os.remove(train)
    staged = StagedFile.start(bucket, train, dest.name(TMP_DIR), JSONL_TYPE, chunk_size=chunk_size, retry=retry)
    try:
        yield staged
    finally:
        staged.abandon()


def publish(client: Any, prepared: PreparedDataset, destination: str, *, retry: Any = None,
            staged: StagedFile | None = None, sources_fingerprint: str | None = None) -> dict[str, Any]:
    """Upload ``prepared`` under ``destination`` unless that exact dataset is already there.

    ``staged``: the training file already on its way (``staging``); it is finalized here, or cancelled
    when the dataset is already published. ``sources_fingerprint``: what ``prepared`` was made from (see
    ``source_fingerprint``), kept in a new manifest's metadata so that ``reuse`` finds it without reading
    the same sources again. Returns the result the operator pushes to XCom (URIs, counts, ``sha256``,
    ``changed``).
    """
    try:
        return _publish(client, prepared, destination, retry, staged, sources_fingerprint)
    finally:
        if staged is not None:
            staged.abandon()  # a no-op once finalized


def _publish(client: Any, prepared: PreparedDataset, destination: str, retry: Any,
             staged: StagedFile | None, sources_fingerprint: str | None) -> dict[str, Any]:
    dest = Destination.parse(destination)
    folder = prepared.sha256[:HASH_CHARS]
    names = {kind: dest.name(folder, f"{kind}.jsonl") for kind in ("train", "validation")}
    manifest_name = dest.name(folder, MANIFEST)
    bucket = client.bucket(dest.bucket)
    kwargs = {"retry": retry} if retry is not None else {}

    existing = _read_manifest(bucket, manifest_name, kwargs)
    if existing is not None:
        if existing.get("sha256") != prepared.sha256:
            raise PublishError(
                f"{dest.uri(manifest_name)} belongs to dataset {existing.get('sha256')}, not {prepared.sha256}"
            )
        log.info(
            "dataset %s is already published at %s: nothing uploaded", prepared.sha256, dest.uri(dest.name(folder))
        )
        has_validation = bool(existing.get("files", {}).get("validation"))
        return dataset_result(dest, folder, has_validation, prepared.manifest(), changed=False)

    files: dict[str, Any] = {}
    uploads = [("train", prepared.train.path)]
    if prepared.validation is not None:
        uploads.append(("validation", prepared.validation.path))
    for kind, path in uploads:
        if kind == "train" and staged is not None:
            files[kind] = _publish_staged(bucket, staged, names[kind], kwargs)
        else:
            files[kind] = publish_file(bucket, path, names[kind], dest.name(TMP_DIR), JSONL_TYPE, kwargs)
        files[kind]["uri"] = dest.uri(names[kind])
    manifest = {
        **prepared.manifest(),
        "files": files,
        "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    manifest_path = os.path.join(os.path.dirname(prepared.train.path), MANIFEST)
    with open(manifest_path, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=True, ensure_ascii=False)
    metadata = {SOURCES_METADATA_KEY: sources_fingerprint} if sources_fingerprint else None
    publish_file(bucket, manifest_path, manifest_name, dest.name(TMP_DIR), "application/json", kwargs,
                 metadata=metadata)
    return dataset_result(dest, folder, prepared.validation is not None, manifest, changed=True)


def dataset_result(dest: Destination, folder: str, has_validation: bool, manifest: dict[str, Any], *,
                   changed: bool) -> dict[str, Any]:
    """The result the operator pushes to XCom, from a manifest's facts (``PreparedDataset.manifest``)."""
    return {
        "training_dataset_uri": dest.uri(dest.name(folder, "train.jsonl")),
        "validation_dataset_uri": dest.uri(dest.name(folder, "validation.jsonl")) if has_validation else None,
        "manifest_uri": dest.uri(dest.name(folder, MANIFEST)),
        "examples": int(manifest["training_examples"]),
        "validation_examples": int(manifest["validation_examples"]),
        "estimated_training_tokens": int(manifest["estimated_training_tokens"]),
        "invalid": int(manifest["invalid"]),
        "duplicates": int(manifest["duplicates"]),
        "sha256": manifest["sha256"],
        "changed": changed,
    }


def _read_manifest(bucket: Any, name: str, kwargs: dict[str, Any]) -> dict[str, Any] | None:
    blob = bucket.get_blob(name, **kwargs)
    if blob is None:
        return None
    try:
        return json.loads(blob.download_as_bytes(**kwargs))
    except ValueError as err:
        raise PublishError(f"gs://{bucket.name}/{name} is not a valid manifest: {err}") from None


def publish_file(bucket: Any, path: str, final_name: str, tmp_prefix: str, content_type: str,
                 kwargs: dict[str, Any], *, metadata: dict[str, str] | None = None) -> dict[str, Any]:
    """Upload ``path`` to ``final_name`` through a verified temporary object; reuse an identical one.

    ``metadata``: custom metadata of the object (an identical object already there keeps its own).
    """
    size = os.path.getsize(path)
    crc32c = file_crc32c(path)
    current = bucket.get_blob(final_name, **kwargs)
    if current is not None and current.crc32c == crc32c and current.size == size:
        log.info("gs://%s/%s already holds these %s bytes: not uploaded again", bucket.name, final_name, f"{size:,}")
        return {"size": size, "crc32c": crc32c, "generation": current.generation}
    tmp = bucket.blob(f"{tmp_prefix}/{uuid.uuid4().hex}-{os.path.basename(final_name)}")
    tmp.crc32c = crc32c  # declared up front: the service refuses an upload whose bytes do not match
    if metadata:
        tmp.metadata = metadata
    started = time.monotonic()
    try:
        session = _open_session(tmp, content_type, size)
        stream_upload(session, path, size)
        tmp.reload(**kwargs)
        if tmp.crc32c != crc32c or tmp.size != size:
            raise PublishError(
                f"gs://{bucket.name}/{tmp.name}: the service stored {tmp.size} bytes with CRC32C {tmp.crc32c}, "
                f"expected {size} bytes with CRC32C {crc32c}"
            )
        generation = _promote(bucket, tmp, final_name, crc32c, kwargs, metadata)
    finally:
        _delete_quietly(tmp, kwargs)
    elapsed = max(time.monotonic() - started, 1e-6)
    log.info("uploaded gs://%s/%s: %s bytes in %.1f s (%.1f MB/s)", bucket.name, final_name, f"{size:,}",
             elapsed, size / elapsed / 1e6)
    return {"size": size, "crc32c": crc32c, "generation": generation}


def _publish_staged(bucket: Any, staged: StagedFile, final_name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Finalize the staged training file and give it its content-addressed name (a server-side copy)."""
    from google.api_core.exceptions import NotFound

    try:
        try:
            facts = staged.finish()
        except StagedUploadError as err:
            if isinstance(err.__cause__, NotFound):
                raise BucketNotFoundError(bucket.name) from None
            raise PublishError(str(err)) from err
        current = bucket.get_blob(final_name, **kwargs)
        if current is not None and current.crc32c == facts["crc32c"] and current.size == facts["size"]:
            log.info("gs://%s/%s already holds these bytes: kept", bucket.name, final_name)
            return {**facts, "generation": current.generation}
        return {**facts, "generation": _promote(bucket, staged.blob, final_name, facts["crc32c"], kwargs)}
    finally:
        _delete_quietly(staged.blob, kwargs)


def _promote(bucket: Any, tmp: Any, final_name: str, crc32c: str, kwargs: dict[str, Any],
             metadata: dict[str, str] | None = None) -> Any:
    """Copy the verified temporary object to its final name on the server; return the new generation."""
    final = bucket.blob(final_name)
    if metadata:
        final.metadata = metadata  # stated for the copy, not left to how the service treats the request body
    token = None
    while True:
        token, _done, _total = final.rewrite(tmp, token=token, **kwargs)
        if token is None:
            break
    if final.crc32c != crc32c:
        final.delete(**kwargs)
        raise PublishError(f"gs://{bucket.name}/{final_name}: CRC32C changed during the copy; deleted")
    return final.generation


def _open_session(blob: Any, content_type: str, size: int) -> str:
    """A resumable upload session; a 404 here can only mean the bucket does not exist."""
    from google.api_core.exceptions import NotFound

    try:
        return blob.create_resumable_upload_session(content_type=content_type, size=size, checksum=None)
    except NotFound:
        raise BucketNotFoundError(blob.bucket.name) from None


def _delete_quietly(blob: Any, kwargs: dict[str, Any]) -> None:
    from google.api_core.exceptions import NotFound

    try:
        blob.delete(**kwargs)
    except NotFound:
        pass
    except Exception as err:  # the data is published or the error below matters more; say so and go on
        log.warning("could not delete temporary object gs://%s/%s: %s", blob.bucket.name, blob.name, err)


class _Interrupted(Exception):
    """An upload attempt that stopped short (network, 5xx, 429, 308): resume from the committed offset."""


def stream_upload(session_url: str, path: str, size: int, attempts: int = UPLOAD_ATTEMPTS, *,
                  resume: bool = False) -> None:
    """Send a file into a resumable upload session as one streamed PUT, resuming where the service stopped.

    One request keeps memory flat (the library's chunked upload holds a whole chunk, 100 MB by default,
    in memory); after a dropped connection or a 5xx answer, the session's committed offset is asked for
    and the rest is sent, paced by the provider's one retry loop. ``resume=True`` asks first: for a session
    an earlier process left half-done.
    """
    import requests

    policy = RetryPolicy(attempts=attempts, initial_delay=2.0, max_delay=30.0, jitter=0.0)
    retryable = lambda err: isinstance(err, _Interrupted)  # noqa: E731
    with requests.Session() as http:
        try:
            for attempt in policy.retrying(retryable):
                with attempt:
                    ask_first = resume or attempt.retry_state.attempt_number > 1
                    _upload_attempt(http, session_url, path, size, ask_first, attempt.retry_state.attempt_number)
        except _Interrupted as err:
            raise PublishError(f"upload failed after {attempts} attempts: {err}") from None


def _upload_attempt(http: Any, session_url: str, path: str, size: int, ask_first: bool, number: int) -> None:
    import requests

    offset = 0
    if ask_first:
        try:
            committed = _committed_offset(http, session_url, size)
        except requests.RequestException as err:
            raise _Interrupted(f"status query failed: {err}") from None
        if committed is None:
            return
        offset = committed
    remaining = offset < size
    headers = {"Content-Range": f"bytes {offset}-{size - 1}/{size}" if remaining else f"bytes */{size}"}
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            response = http.put(session_url, data=fh if remaining else b"", headers=headers, timeout=UPLOAD_TIMEOUT)
    except requests.RequestException as err:
        log.warning("upload interrupted at attempt %d: %s: %s; resuming", number, type(err).__name__, err)
        raise _Interrupted(f"{type(err).__name__}: {err}") from None
    if response.status_code in (200, 201):
        return
    problem = f"HTTP {response.status_code}: {response.text[:500]}"
    if response.status_code != 308 and response.status_code < 500 and response.status_code != 429:
        raise PublishError(f"upload refused: {problem}")
    log.warning("upload incomplete at attempt %d (%s); resuming", number, problem)
    raise _Interrupted(problem)


def _committed_offset(http: Any, session_url: str, size: int) -> int | None:
    """Bytes the session holds (resume from there), or None when the upload is already complete."""
    response = http.put(session_url, headers={"Content-Range": f"bytes */{size}"}, timeout=UPLOAD_TIMEOUT)
    if response.status_code in (200, 201):
        return None
    if response.status_code != 308:
        raise PublishError(f"upload session status: HTTP {response.status_code}: {response.text[:500]}")
    received = response.headers.get("Range")  # "bytes=0-N"
    return int(received.rsplit("-", 1)[1]) + 1 if received else 0
