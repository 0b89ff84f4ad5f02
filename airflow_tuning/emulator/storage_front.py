"""A thin layer in front of gcp-storage-emulator: concurrency, generation preconditions and list paging.

gcp-storage-emulator answers one request at a time on a socket with a listen backlog of 5, ignores
``ifGenerationMatch`` and friends, and returns every object of a listing in one page. Clients see this
layer instead (uvicorn, backlog 4096); it queues requests to the single-threaded backend one at a time and,
while it holds that turn, checks preconditions against the object's live generation, so "create only if
absent" (``if_generation_match=0``) holds under any concurrency, as it does on GCS:

- writes (uploads, including every chunk of a resumable upload, copy / rewrite / compose destinations,
  metadata patches, deletes) answer 412 ``conditionNotMet`` when a condition fails;
- reads answer 412 when an ``ifGenerationMatch`` / ``ifMetagenerationMatch`` fails and 304 when an
  ``...NotMatch`` fails;
- object and bucket listings honour ``maxResults`` and ``pageToken`` (items and prefixes share a page, in
  name order, as GCS pages them);
- a resumable upload session can be cancelled: ``DELETE`` on the session URI answers 499 and the session
  accepts nothing more (404), as Cloud Storage documents; its object is never created.

Every resumable session and what became of it (open, finalized, cancelled) is listed at
``GET /_emulator/uploads``, for tests that must prove an upload was never finalized; how many times each
object's bytes were read (``alt=media``, whole or by range) at ``GET /_emulator/downloads``, for tests
that must prove data was not read.

Storage has its own fault plan, apart from the API's (an API outage leaves storage up):
``POST /_emulator/faults`` on this port with ``{"faults": [...]}`` as for the API, ``DELETE`` to clear it.
A fault whose route matches ``"METHOD /storage/v1/..."`` answers its error status in Cloud Storage's shape
(403 ``forbidden`` for a missing permission, 429, 5xx) after its latency; storage requests are not dropped.
"""

from __future__ import annotations

import asyncio
import base64
import email
import json
import re
import urllib.parse
from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from airflow_tuning.emulator.faults import FaultPlan

CONDITIONS = ("ifGenerationMatch", "ifGenerationNotMatch", "ifMetagenerationMatch", "ifMetagenerationNotMatch")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "upgrade", "te", "trailer",
               "proxy-connection"}
_OBJECT = re.compile(r"^/(?:storage|download/storage)/v1/b/([^/]+)/o/([^/]+)$")
_COPY = re.compile(r"^/storage/v1/b/[^/]+/o/[^/]+/(?:copyTo|rewriteTo)/b/([^/]+)/o/([^/]+)$")
_COMPOSE = re.compile(r"^/storage/v1/b/([^/]+)/o/([^/]+)/compose$")
_UPLOAD = re.compile(r"^/upload/storage/v1/b/([^/]+)/o$")
_LIST_OBJECTS = re.compile(r"^/storage/v1/b/([^/]+)/o$")
_MEDIA = re.compile(r"^/(?:download/)?storage/v1/b/([^/]+)/o/(.+)$")  # a mediaLink keeps the name's slashes
_LIST_BUCKETS = "/storage/v1/b"
NOT_MET = "At least one of the pre-conditions you specified did not hold."
ADMIN_PREFIX = "/_emulator"
UPLOADS_PATH = f"{ADMIN_PREFIX}/uploads"
DOWNLOADS_PATH = f"{ADMIN_PREFIX}/downloads"
FAULTS_PATH = f"{ADMIN_PREFIX}/faults"
CANCELLED = 499  # Cloud Storage's answer to DELETE on a resumable session URI


class PreconditionFailed(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _unquote(segment: str) -> str:
    return urllib.parse.unquote(segment)


def evaluate(conditions: dict[str, int], live: tuple[int, int] | None, *, read: bool) -> None:
    """Raise :class:`PreconditionFailed` (412, or 304 for a read's ``...NotMatch``) unless all hold.

    ``live`` is the object's (generation, metageneration), None when it does not exist; generation 0 in
    ``ifGenerationMatch`` means "does not exist".
    """
    generation, metageneration = live if live is not None else (0, None)
    for key, wanted in conditions.items():
        if key == "ifGenerationMatch":
            ok = generation == wanted
        elif key == "ifGenerationNotMatch":
            ok = generation != wanted
        elif key == "ifMetagenerationMatch":
            ok = metageneration == wanted
        else:
            ok = metageneration != wanted
        if not ok:
            raise PreconditionFailed(304 if read and key.endswith("NotMatch") else 412)


def conditions_of(query: dict[str, str]) -> dict[str, int]:
    out = {}
    for key in CONDITIONS:
        if key in query:
            try:
                out[key] = int(query[key])
            except ValueError:
                raise ValueError(f"{key} must be an integer, got {query[key]!r}") from None
    return out


def upload_name(query: dict[str, str], headers: Any, body: bytes) -> str | None:
    """The object an upload creates: ``name`` in the query, or in the (multipart or JSON) metadata."""
    if query.get("name"):
        return query["name"]
    content_type = headers.get("content-type", "")
    try:
        if content_type.startswith("multipart/"):
            message = email.message_from_bytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
            parts: Any = message.get_payload()
            metadata = json.loads(parts[0].get_payload()) if isinstance(parts, list) and parts else {}
        else:
            metadata = json.loads(body or b"{}")
    except (ValueError, TypeError):
        return None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else None


def paginate(body: dict[str, Any], key: str, query: dict[str, str]) -> dict[str, Any]:
    """One page of a listing: items (and prefixes) after ``pageToken``, at most ``maxResults`` of them."""
    size = int(query.get("maxResults") or 1000)
    size = max(1, min(size, 1000))
    after = base64.urlsafe_b64decode(query["pageToken"].encode()).decode() if query.get("pageToken") else None
    entries = [(item.get("name") or item.get("id") or "", "item", item) for item in body.get(key) or []]
    entries += [(prefix, "prefix", prefix) for prefix in body.get("prefixes") or []]
    entries.sort(key=lambda e: e[0])
    if after is not None:
        entries = [e for e in entries if e[0] > after]
    page, more = entries[:size], len(entries) > size
    out = {k: v for k, v in body.items() if k not in (key, "prefixes", "nextPageToken")}
    out[key] = [e[2] for e in page if e[1] == "item"]
    prefixes = [e[2] for e in page if e[1] == "prefix"]
    if prefixes or "prefixes" in body:
        out["prefixes"] = prefixes
    if more:
        out["nextPageToken"] = base64.urlsafe_b64encode(page[-1][0].encode()).decode()
    return out


_FAULT_REASONS = {400: "invalid", 401: "required", 403: "forbidden", 404: "notFound", 429: "rateLimitExceeded"}


def _error(status: int, message: str, reason: str) -> Response:
    if status == 304:
        return Response(status_code=304)
    body = {"error": {"code": status, "message": message,
                      "errors": [{"message": message, "domain": "global", "reason": reason}]}}
    return Response(json.dumps(body), status_code=status, media_type="application/json")


class StorageFront:
    """The ASGI app: every request is forwarded to ``backend_url``, one at a time."""

    def __init__(self, backend_url: str) -> None:
        self.backend_url = backend_url.rstrip("/")
        self.faults = FaultPlan()  # storage's own (see the module's doc)
        self._turn: asyncio.Lock | None = None
        self._client: Any = None
        self._uploads: dict[str, tuple[str, str]] = {}  # resumable upload id -> (bucket, object)
        self._upload_states: dict[str, str] = {}  # resumable upload id -> open | finalized | cancelled
        self._downloads: Counter[str] = Counter()  # "bucket/object" -> media reads

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        import httpx

        if self._turn is None:
            self._turn = asyncio.Lock()
            self._client = httpx.AsyncClient(timeout=120.0, limits=httpx.Limits(max_connections=1))
        request = Request(scope, receive)
        body = await request.body()
        async with self._turn:
            response = await self._handle(request, body)
        await response(scope, receive, send)

    async def _handle(self, request: Request, body: bytes) -> Response:
        path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        query_bytes = request.scope.get("query_string", b"")
        raw_path = f"{path}?{query_bytes.decode('latin-1')}" if query_bytes else path
        query = dict(request.query_params)
        method = request.method
        if path == FAULTS_PATH:
            return await self._set_faults(method, body)
        faulted = self.faults.faults and not path.startswith(ADMIN_PREFIX)
        decision = self.faults.decide(f"{method} {path}") if faulted else None
        if decision is not None:
            await asyncio.sleep(decision.delay)
            if decision.status or decision.drop:
                status = decision.status or 503
                return _error(status, "Injected fault (emulator).", _FAULT_REASONS.get(status, "backendError"))
        try:
            conditions = conditions_of(query)
        except ValueError as err:
            return _error(400, str(err), "invalid")
        if conditions:
            target = self._target(method, path, query, request.headers, body)
            if target is not None:
                bucket, name, creates = target
                live = await self._live(bucket, name)
                if live is not None or creates:
                    try:
                        evaluate(conditions, live, read=method == "GET")
                    except PreconditionFailed as failed:
                        return _error(failed.status, NOT_MET, "conditionNotMet")
        if path == UPLOADS_PATH and method == "GET":
            records = [{"upload_id": upload_id, "bucket": bucket, "name": name,
                        "state": self._upload_states.get(upload_id, "open")}
                       for upload_id, (bucket, name) in self._uploads.items()]
            return Response(json.dumps({"uploads": records}), media_type="application/json")
        if path == DOWNLOADS_PATH and method == "GET":
            return Response(json.dumps({"downloads": dict(self._downloads)}), media_type="application/json")
        if method == "GET" and query.get("alt") == "media" and (read := _MEDIA.match(path)):
            self._downloads[f"{_unquote(read[1])}/{_unquote(read[2])}"] += 1
        upload_id = query.get("upload_id") if _UPLOAD.match(path) else None
        if upload_id is not None:
            state = self._upload_states.get(upload_id)
            if method == "DELETE":
                if upload_id not in self._uploads or state == "finalized":
                    return _error(404, "No such upload session.", "notFound")
                self._upload_states[upload_id] = "cancelled"
                await self._forward(request, raw_path, body)  # the backend drops what it received
                return Response(status_code=CANCELLED)
            if state == "cancelled":
                return _error(404, "The upload session was cancelled.", "notFound")
        listing = None
        if method == "GET" and (path == _LIST_BUCKETS or _LIST_OBJECTS.match(path)):
            listing = "items"
            query_string = urllib.parse.urlencode(
                [(k, v) for k, v in request.query_params.multi_items() if k not in ("maxResults", "pageToken")])
            raw_path = f"{path}?{query_string}" if query_string else path
        status, upstream_headers, content = await self._forward(request, raw_path, body)
        if listing and status == 200:
            try:
                page = paginate(json.loads(content), listing, query)
            except (ValueError, TypeError):
                return _error(400, f"Invalid pageToken {query.get('pageToken')!r}.", "invalid")
            return Response(json.dumps(page), media_type="application/json")
        if method == "POST" and query.get("uploadType") == "resumable" and "location" in upstream_headers:
            self._remember_upload(upstream_headers["location"], path, query, request.headers, body)
        if upload_id is not None and method == "PUT" and status in (200, 201):
            self._upload_states[upload_id] = "finalized"
        headers = {k: v for k, v in upstream_headers.items() if k.lower() not in _HOP_BY_HOP}
        return Response(content, status_code=status, headers=headers)

    async def _set_faults(self, method: str, body: bytes) -> Response:
        try:
            if method == "DELETE":
                self.faults.clear()
            elif method == "POST":
                spec = json.loads(body or b"{}")
                self.faults.set(spec.get("faults", []), spec.get("seed"))
        except (ValueError, AttributeError) as err:
            return _error(400, str(err), "invalid")
        return Response(json.dumps({"faults": [f.describe() for f in self.faults.faults]}),
                        media_type="application/json")

    def _target(self, method: str, path: str, query: dict[str, str], headers: Any,
                body: bytes) -> tuple[str, str, bool] | None:
        """(bucket, object, whether the request creates it) for a conditional request, else None."""
        match = _UPLOAD.match(path)
        if match:
            if method == "PUT" and query.get("upload_id") in self._uploads:
                return (*self._uploads[query["upload_id"]], True)
            name = upload_name(query, headers, body)
            return (_unquote(match.group(1)), name, True) if name else None
        for pattern in (_COPY, _COMPOSE):
            match = pattern.match(path)
            if match and method == "POST":
                return _unquote(match.group(1)), _unquote(match.group(2)), True
        match = _OBJECT.match(path)
        if match:
            return _unquote(match.group(1)), _unquote(match.group(2)), False
        return None

    def _remember_upload(self, location: str, path: str, query: dict[str, str], headers: Any,
                         body: bytes) -> None:
        upload_id = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("upload_id", [None])[0]
        name = upload_name(query, headers, body)
        match = _UPLOAD.match(path)
        if upload_id and name and match:
            self._uploads[upload_id] = (_unquote(match.group(1)), name)

    async def _live(self, bucket: str, name: str) -> tuple[int, int] | None:
        quoted = urllib.parse.quote(name, safe="")
        bucket = urllib.parse.quote(bucket, safe="")
        response = await self._client.get(f"{self.backend_url}/storage/v1/b/{bucket}/o/{quoted}")
        if response.status_code != 200:
            return None
        meta = response.json()
        return int(meta.get("generation") or 0), int(meta.get("metageneration") or 1)

    async def _forward(self, request: Request, raw_path: str, body: bytes) -> tuple[int, Any, bytes]:
        """The backend's status, headers and body bytes exactly as sent (no content decoding)."""
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP]
        outgoing = self._client.build_request(request.method, self.backend_url + raw_path, headers=headers,
                                              content=body)
        response = await self._client.send(outgoing, stream=True)
        try:
            content = b"".join([chunk async for chunk in response.aiter_raw()])
        finally:
            await response.aclose()
        return response.status_code, response.headers, content
