"""gcp-storage-emulator with three costs Cloud Storage does not have removed, and resumable uploads that
can be cancelled (``DELETE`` on the session URI answers 499 and frees what was received, as Cloud Storage
documents; the session then answers 404).

- A resumable upload sent in many chunks: the backend rebuilt the received bytes on every chunk (time
  quadratic in the object's size); in memory, chunks are now appended in place.
- Finalizing a resumable upload: the backend hashed the whole object (MD5 and CRC32C) before answering.
  Like Cloud Storage, it now hashes each chunk as it arrives; a declared checksum is still enforced.
- A rewrite (server-side copy): the backend recomputed MD5 and CRC32C of the whole object. Cloud Storage
  copies an object's checksums with its bytes; so does this backend now.

Used by ``Emulator`` and by the upload benchmark (``python -m airflow_tuning.emulator.gcs_backend start
...`` takes gcp-storage-emulator's own arguments), so the bare upload and the pipeline meet the same server.
"""

from __future__ import annotations

import sys
from typing import Any

_patched = False
_running: dict[str, list[Any]] = {}  # resumable upload id -> [md5, crc32c, bytes hashed]


def patch() -> None:
    """Apply both changes once, before a server is created."""
    global _patched
    if _patched:
        return
    from gcp_storage_emulator import server, storage
    from gcp_storage_emulator.handlers import objects

    storage.Storage.add_to_resumable_upload = _add_to_resumable_upload
    objects._finalize_resumable_object = _finalize_resumable_object
    for _regex, handlers in server.HANDLERS:
        for method, handler in list(handlers.items()):
            if handler is objects.rewrite:
                handlers[method] = _rewrite
            if handler is objects.upload_partial:
                handlers[server.DELETE] = _cancel_upload
    _patched = True


def _add_to_resumable_upload(self: Any, file_id: str, content: bytes, total_size: int | None = None,
                             expected_start: int | None = None) -> bytes | None:
    """gcp-storage-emulator's ``Storage.add_to_resumable_upload``, appending in place in memory."""
    from gcp_storage_emulator.exceptions import BadRequest, NotFound
    from gcp_storage_emulator.storage import RESUMABLE_DIR

    safe_id = self.safe_id(file_id)
    try:
        received = self.get_file(RESUMABLE_DIR, safe_id, False)
    except NotFound:
        received = b""
    if expected_start is not None and expected_start != len(received):
        raise BadRequest(f"Invalid Content-Range start: expected {len(received)}, got {expected_start}")
    if not isinstance(received, bytearray):
        received = bytearray(received)
    received += content or b""
    if content:
        _hashes(file_id, content)
    self._store.write_bytes(self._object_path(RESUMABLE_DIR, safe_id), received)  # in memory: no copy
    if total_size is None or len(received) < total_size:
        return None
    return bytes(memoryview(received)[:total_size])  # one copy of the object, not two


def _hashes(upload_id: str, content: bytes) -> None:
    import hashlib

    import google_crc32c

    state = _running.setdefault(upload_id, [hashlib.md5(), google_crc32c.Checksum(), 0])  # noqa: S324 - GCS's md5Hash
    state[0].update(content)
    state[1].update(content)
    state[2] += len(content)


def _finalize_resumable_object(response: Any, storage: Any, obj: dict[str, Any], data: bytes,
                               upload_id: str) -> None:
    """``objects._finalize_resumable_object`` using the hashes taken as the chunks arrived."""
    from base64 import b64encode

    from gcp_storage_emulator.exceptions import Conflict
    from gcp_storage_emulator.handlers import objects

    state = _running.pop(upload_id, None)
    if state is None or state[2] != len(data):
        obj = objects._checksums(data, obj)
    else:
        md5 = b64encode(state[0].digest()).decode("ascii")
        crc32c = b64encode(state[1].digest()).decode("ascii")
        if obj.get("crc32c") and obj["crc32c"] != crc32c:
            raise Conflict(objects.CRC32C_CHECKSUM_ERROR.format(obj["crc32c"], crc32c))
        if obj.get("md5Hash") and obj["md5Hash"] != md5:
            raise Conflict(objects.MD5_CHECKSUM_ERROR.format(obj["md5Hash"], md5))
        obj["crc32c"], obj["md5Hash"] = crc32c, md5
        obj["etag"] = obj.get("etag") or md5
    obj["size"] = str(len(data))
    storage.create_file(obj["bucket"], obj["name"], data, obj, upload_id)
    response.json(obj)


def _cancel_upload(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> None:
    """``DELETE`` on a resumable session URI: the session and the bytes it received are dropped."""
    from http import HTTPStatus

    from gcp_storage_emulator.storage import RESUMABLE_DIR

    upload_id = (request.query.get("upload_id") or [None])[0]
    if upload_id is None or upload_id not in storage.resumable:
        response.status = HTTPStatus.NOT_FOUND
        return
    storage.delete_resumable_file_obj(upload_id)
    storage._delete_file(RESUMABLE_DIR, storage.safe_id(upload_id))
    _running.pop(upload_id, None)
    response.status = _CANCELLED


class _Status:
    """What the backend's response needs of a status: 499 is in no ``HTTPStatus`` enum."""

    def __init__(self, value: int, phrase: str) -> None:
        self.value, self.phrase = value, phrase


_CANCELLED = _Status(499, "Client Closed Request")


def _rewrite(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> None:
    """``objects.rewrite`` keeping the source's checksums instead of hashing the bytes again."""
    from http import HTTPStatus

    from gcp_storage_emulator.exceptions import NotFound
    from gcp_storage_emulator.handlers.objects import _make_object_resource

    params = request.params
    try:
        source = storage.get_file_obj(params["bucket_name"], params["object_id"])
        data = storage.get_file(params["bucket_name"], params["object_id"])
    except NotFound:
        response.status = HTTPStatus.NOT_FOUND
        return
    target = _make_object_resource(request.base_url, params["dest_bucket_name"], params["dest_object_id"],
                                   source["contentType"], source["size"], source)
    for key in ("crc32c", "md5Hash", "etag"):
        if source.get(key):
            target[key] = source[key]
    try:
        storage.create_file(params["dest_bucket_name"], params["dest_object_id"], data, target)
    except NotFound:
        response.status = HTTPStatus.NOT_FOUND
        return
    size = str(target["size"])
    response.json({"kind": "storage#rewriteResponse", "totalBytesRewritten": size, "objectSize": size,
                   "done": True, "resource": target})


def main(argv: list[str] | None = None) -> None:
    from gcp_storage_emulator.__main__ import main as emulator_main

    patch()
    emulator_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
