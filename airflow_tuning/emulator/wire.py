"""What the emulator puts on the wire: Google's error shape, JSON responses, key casing, timestamps.

Google APIs accept both ``camelCase`` and ``snake_case`` field names in request bodies (the genai SDK sends
``preTunedModel.tuned_model_name``), answer in ``camelCase``, encode int64 as strings and RFC 3339
timestamps, and report errors as ``{"error": {"code", "message", "status"}}``.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from typing import Any

from starlette.responses import Response

#: HTTP status -> canonical google.rpc status name.
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "DEADLINE_EXCEEDED",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
#: google.rpc.Code numbers used inside resources (e.g. a failed job's ``error.code``).
RPC_INVALID_ARGUMENT = 3
RPC_CANCELLED = 1

_CAMEL_RE = re.compile(r"_([a-z0-9])")
# Map-typed fields: their keys are user data, never field names.
_MAP_FIELDS = frozenset({"labels"})


class ApiError(Exception):
    """An error answer: HTTP ``code``, canonical ``status`` and a human ``message``."""

    def __init__(self, code: int, message: str, status: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS_NAMES.get(code, "UNKNOWN")

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


def invalid(message: str) -> ApiError:
    return ApiError(400, message, "INVALID_ARGUMENT")


def not_found(message: str) -> ApiError:
    return ApiError(404, message, "NOT_FOUND")


def failed_precondition(message: str) -> ApiError:
    return ApiError(400, message, "FAILED_PRECONDITION")


def error_response(code: int, message: str, status: str | None = None) -> Response:
    return json_response(ApiError(code, message, status).body(), status_code=code)


def json_response(body: Any, status_code: int = 200) -> Response:
    """Standard JSON only (``allow_nan=False``): Google never writes a bare NaN or Infinity."""
    return Response(
        content=json.dumps(body, separators=(",", ":"), allow_nan=False).encode(),
        status_code=status_code,
        media_type="application/json",
    )


async def read_json(request: Any, *, allow_empty: bool = False) -> dict[str, Any]:
    """The request body as a JSON object, or INVALID_ARGUMENT naming what is wrong with it."""
    raw = await request.body()
    if not raw.strip():
        if allow_empty:
            return {}
        raise invalid("Invalid JSON payload received. The request body is empty.")
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise invalid("Invalid JSON payload received. The body is nested too deeply.") from None
    except ValueError as err:
        raise invalid(f"Invalid JSON payload received. {err}.") from None
    if not isinstance(body, dict):
        raise invalid("Invalid JSON payload received. The request body must be a JSON object.")
    return body


def _reject_constant(name: str) -> Any:
    """``NaN``, ``Infinity`` and ``-Infinity`` are not JSON; Google's parsers refuse them, and so do we."""
    raise ValueError(f"Unexpected token {name}: not a JSON value (NaN and Infinity are not JSON)")


def finite(value: Any, field: str) -> float:
    """``value`` as a finite number (JSON numbers, or the strings proto3 JSON allows), else INVALID_ARGUMENT."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise invalid(f"Invalid value for {field}: expected a number, got {type(value).__name__}.")
    try:
        number = float(value)
    except ValueError:
        raise invalid(f"Invalid value for {field}: {value!r} is not a number.") from None
    if not math.isfinite(number):
        raise invalid(f"Invalid value for {field}: {value!r} is not a finite number.")
    return number


def camel(name: str) -> str:
    return _CAMEL_RE.sub(lambda m: m.group(1).upper(), name)


def camelize(value: Any) -> Any:
    """Recursively turn snake_case keys into camelCase, leaving map fields' keys untouched."""
    if isinstance(value, dict):
        return {
            camel(k): (dict(v) if k in _MAP_FIELDS and isinstance(v, dict) else camelize(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [camelize(v) for v in value]
    return value


def timestamp(epoch: float) -> str:
    """RFC 3339 UTC with microseconds, as Google APIs write ``google.protobuf.Timestamp``."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def int64(value: int) -> str:
    return str(int(value))
