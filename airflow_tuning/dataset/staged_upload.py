"""Send the training file to Cloud Storage while it is still being written, publishing nothing until told.

Validation, conversion and the upload each take about as long as reading the data once; done one after the
other they cost the sum. Here a background thread follows the local training file as the pipeline appends
to it and writes it, piece by piece, into a resumable upload session at a temporary name
(google-cloud-storage's ``BlobWriter``). A resumable upload creates no object before its last chunk is
sent, so while the input is still being checked nothing exists in the bucket at all:

- ``finish()``, called only once the whole input proved valid and its content hash is known, sends the
  rest, finalizes the temporary object and checks its size and CRC32C against the bytes sent;
- ``abandon()`` (invalid data, an unchanged dataset, any error) cancels the session: the service discards
  what it received and no object is ever created.

The thread holds at most about two chunks (``chunk_size``) in memory; the file itself stays on disk.
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
READ_SIZE = 1 << 20  # bytes read from the growing file at a time
POLL_SECONDS = 0.02  # how often the follower looks for new bytes


class StagedUploadError(RuntimeError):
    """The staged upload failed or its result did not match the bytes sent; nothing was published."""


class StagedFile:
    """One local file, uploaded as it grows into an unfinalized resumable session at ``tmp_name``."""

    def __init__(self, bucket: Any, path: str, tmp_name: str, content_type: str, *,
                 chunk_size: int | None = None) -> None:
        self.bucket = bucket
        self.path = path
        self.blob = bucket.blob(tmp_name)
        self.content_type = content_type
        self.chunk_size = chunk_size or CHUNK_SIZE
        self.sent = 0
        self._crc: Any = None
        self._writer: Any = None
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
        crc32c = base64.b64encode(self._crc.digest()).decode("ascii")
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
        import google_crc32c

        self._crc = google_crc32c.Checksum()
        try:
            while not os.path.exists(self.path):
                if self._stop.is_set() or (self._complete.is_set() and not os.path.exists(self.path)):
                    return
                time.sleep(POLL_SECONDS)
            with open(self.path, "rb") as source:
                while not self._stop.is_set():
                    complete = self._complete.is_set()  # read before the size: no byte written later is missed
                    available = os.fstat(source.fileno()).st_size - self.sent
                    while available > 0 and not self._stop.is_set():
                        data = source.read(min(READ_SIZE, available))
                        if not data:
                            break
                        self._write(data)
                        available -= len(data)
                    if complete:
                        break
                    self._complete.wait(POLL_SECONDS)
            if not self._stop.is_set():
                self._open_writer().close()  # the last chunk: only now does the object exist
                self._writer = None
        except BaseException as err:  # reported by finish(); abandon() cancels the session
            self._error = err

    def _write(self, data: bytes) -> None:
        self._open_writer().write(data)
        self._crc.update(data)
        self.sent += len(data)

    def _open_writer(self) -> Any:
        if self._writer is None:
            # checksum=None: the CRC32C is computed here once, over the bytes read, and compared in finish()
            # with the one the service computed over the bytes it stored.
            self._writer = self.blob.open("wb", chunk_size=self.chunk_size, ignore_flush=True,
                                          content_type=self.content_type, checksum=None)
        return self._writer

    def _cancel(self) -> None:
        """Make the writer unable to finalize, then DELETE the session URI (Cloud Storage's documented cancel).

        A ``BlobWriter`` finalizes its upload when closed, and an IO object is closed when garbage-collected:
        its buffer is closed first so that neither can happen. ``BlobWriter.terminate()`` would do that too,
        but sends its DELETE to the URL that created the session rather than to the session.
        """
        writer, self._writer = self._writer, None
        if writer is None:
            return
        writer._buffer.close()  # close() and __del__ now send nothing
        state = writer._upload_and_transport
        if not state:
            return  # no chunk was ever sent: no session exists
        upload, transport = state
        url = upload.resumable_url
        if not url:
            return
        try:
            response = transport.delete(url, timeout=30)
        except Exception as err:  # the service expires it within a week, still without creating an object
            log.warning("could not cancel upload session for gs://%s/%s: %s", self.bucket.name, self.blob.name, err)
            return
        if response.status_code not in (200, 204, 404, 410, 499):
            log.warning("cancelling upload session for gs://%s/%s answered HTTP %s", self.bucket.name,
                        self.blob.name, response.status_code)
