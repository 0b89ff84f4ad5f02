"""Send the training file to Cloud Storage while it is still being written, publishing nothing until told.

Validation, conversion and the upload each take about as long as reading the data once; done one after the
other they cost the sum. Here a background thread follows the local training file as the pipeline appends
to it and sends it, chunk by chunk, into a resumable upload session at a temporary name
(google-cloud-storage's own resumable upload). A resumable upload creates no object before its last chunk
is sent, so while the input is still being checked nothing exists in the bucket at all:

- ``finish()``, called only once the whole input proved valid and its content hash is known, sends the
  rest, finalizes the temporary object and checks its size and CRC32C against the local file's;
- ``abandon()`` (invalid data, an unchanged dataset, any error) cancels the session: the service discards
  what it received and no object is ever created.

The thread holds one chunk (``chunk_size``) in memory at a time; the file itself stays on disk.
Nothing here imports Airflow; the bucket is a ``google.cloud.storage.Bucket``.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
import time
import uuid
from typing import Any

log = logging.getLogger(__name__)

CHUNK_SIZE = 8 << 20  # bytes per request (a multiple of 256 KiB, as resumable uploads require)
POLL_SECONDS = 0.02  # how often the follower looks for new bytes


class StagedUploadError(RuntimeError):
    """The staged upload failed or its result did not match the bytes sent; nothing was published."""


class StagedFile:
    """One local file, uploaded as it grows into an unfinalized resumable session at ``tmp_name``."""

    def __init__(self, bucket: Any, path: str, tmp_name: str, content_type: str, *,
                 chunk_size: int | None = None, retry: Any = None) -> None:
        self.bucket = bucket
        self.path = path
        self.blob = bucket.blob(tmp_name)
        self.content_type = content_type
        self.chunk_size = chunk_size or CHUNK_SIZE
        self.retry = retry  # the connection's google-api-core Retry; the storage library's default when None
        self.sent = 0
        self._upload: Any = None  # (resumable upload, transport) once the first chunk is due
        self._error: BaseException | None = None
        self._complete = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name=f"staged-upload-{uuid.uuid4().hex[:8]}",
                                        daemon=True)
        self._started = time.monotonic()

    @classmethod
    def start(cls, bucket: Any, path: str, tmp_prefix: str, content_type: str, **kwargs: Any) -> StagedFile:
        name = f"{tmp_prefix}/{uuid.uuid4().hex}-{os.path.basename(path)}"
        staged = cls(bucket, path, name, content_type, **kwargs)
        staged._thread.start()
        return staged

    # -- the caller's side ---------------------------------------------------------------------------
    def finish(self) -> dict[str, Any]:
        """Send the rest of the (now complete) file and finalize the temporary object; return its facts.

        Raises ``StagedUploadError`` (after cancelling the session) when the upload failed, or when the
        stored size or CRC32C differs from the local file's.
        """
        self._complete.set()
        self._thread.join()
        if self._error is not None:
            self._cancel()
            raise StagedUploadError(f"upload of {self.path} failed: {self._error}") from self._error
        size = os.path.getsize(self.path)
        crc32c = file_crc32c(self.path)  # read back from the page cache: about 10 GB/s
        self.blob.reload()
        if self.sent != size or self.blob.size != size or self.blob.crc32c != crc32c:
            raise StagedUploadError(
                f"gs://{self.bucket.name}/{self.blob.name}: the service stored {self.blob.size} bytes with CRC32C "
                f"{self.blob.crc32c}, expected {size} bytes with CRC32C {crc32c}"
            )
        elapsed = max(time.monotonic() - self._started, 1e-6)
        log.info("staged %s bytes at gs://%s/%s in %.1f s (%.1f MB/s, while validating)", f"{size:,}",
                 self.bucket.name, self.blob.name, elapsed, size / elapsed / 1e6)
        return {"size": size, "crc32c": crc32c, "generation": self.blob.generation}

    def abandon(self) -> None:
        """Stop sending and cancel the session: no object is created. Safe to call more than once."""
        self._stop.set()
        self._complete.set()
        self._thread.join()
        self._cancel()

    # -- the follower thread -------------------------------------------------------------------------
    def _follow(self) -> None:
        try:
            while not os.path.exists(self.path):
                if self._stop.is_set() or self._complete.is_set():
                    return
                time.sleep(POLL_SECONDS)
            with open(self.path, "rb") as source:
                while not self._stop.is_set():
                    complete = self._complete.is_set()  # read before the size: no byte written later is missed
                    size = os.fstat(source.fileno()).st_size
                    # A chunk shorter than chunk_size ends the upload: one is sent only when it is there whole,
                    # or once the file is complete.
                    while not self._stop.is_set() and (size - self.sent >= self.chunk_size or complete):
                        upload, transport = self._session(source)
                        upload.transmit_next_chunk(transport)
                        self.sent = upload.bytes_uploaded
                        if upload.finished:  # the last chunk: only now does the object exist
                            return
                    self._complete.wait(POLL_SECONDS)
        except BaseException as err:  # reported by finish(); abandon() cancels the session
            self._error = _as_api_error(err)

    def _session(self, source: Any) -> tuple[Any, Any]:
        """The resumable upload reading ``source``, started (and the session created) on first use.

        google-cloud-storage's own upload (what ``BlobWriter`` and ``upload_from_file`` use), fed from the
        file rather than through ``BlobWriter``'s in-memory buffer: one copy of each chunk instead of three.
        """
        if self._upload is None:
            from google.cloud.storage.retry import DEFAULT_RETRY

            self._upload = self.blob._initiate_resumable_upload(
                self.bucket.client, source, self.content_type, None, chunk_size=self.chunk_size, checksum=None,
                retry=DEFAULT_RETRY if self.retry is None else self.retry,
            )
        return self._upload

    def _cancel(self) -> None:
        """DELETE the session URI, as Cloud Storage documents for cancelling a resumable upload.

        (``BlobWriter.terminate()`` sends its DELETE to the URL that created the session, not to the session.)
        """
        state, self._upload = self._upload, None
        if state is None:
            return  # no chunk was ever due: no session exists
        upload, transport = state
        if upload.finished or not upload.resumable_url:
            return
        try:
            response = transport.delete(upload.resumable_url, timeout=30)
        except Exception as err:  # the service expires it within a week, still without creating an object
            log.warning("could not cancel upload session for gs://%s/%s: %s", self.bucket.name, self.blob.name, err)
            return
        if response.status_code not in (200, 204, 404, 410, 499):
            log.warning("cancelling upload session for gs://%s/%s answered HTTP %s", self.bucket.name,
                        self.blob.name, response.status_code)


def _as_api_error(err: BaseException) -> BaseException:
    """The storage library's HTTP error (``NotFound``...) for a failed request of its upload layer."""
    from google.api_core.exceptions import from_http_response
    from google.cloud.storage.exceptions import InvalidResponse

    if isinstance(err, InvalidResponse) and getattr(err, "response", None) is not None:
        return from_http_response(err.response)
    return err


def file_crc32c(path: str) -> str:
    """Base64 CRC32C of a file, as Cloud Storage reports it."""
    import google_crc32c

    checksum = google_crc32c.Checksum()
    with open(path, "rb") as fh:
        while block := fh.read(8 << 20):
            checksum.update(block)
    return base64.b64encode(checksum.digest()).decode("ascii")
