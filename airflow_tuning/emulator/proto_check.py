"""Request bodies checked against the real protos (google-cloud-aiplatform), as Vertex AI's JSON parser does.

A field of the wrong type (``batchSize`` as an object, an integer ``tunedModelName``, a label that is not a
string) is INVALID_ARGUMENT naming the field, never a crash in a handler. Unknown fields are left to each
route's own check, which words Vertex AI's ``Unknown name`` message. The protos cost about a second to
import, so :func:`load` is called when the emulator starts.
"""

from __future__ import annotations

import importlib
from typing import Any

from airflow_tuning.emulator.wire import invalid

#: message name -> module under google.cloud.aiplatform_{version}.types
_MODULES = {"TuningJob": "tuning_job", "Model": "model"}


def _message_class(message: str, version: str) -> Any:
    module = importlib.import_module(f"google.cloud.aiplatform_{version}.types.{_MODULES[message]}")
    return getattr(module, message)


def check(body: dict[str, Any], message: str, version: str = "v1beta1") -> None:
    """Raise INVALID_ARGUMENT when ``body`` does not parse as ``message`` (types, enums, maps, nesting)."""
    from google.protobuf import json_format

    proto_class = _message_class(message, "v1" if version == "v1" else "v1beta1")
    try:
        json_format.ParseDict(body, proto_class.pb()(), ignore_unknown_fields=True)
    except json_format.ParseError as err:
        raise invalid(f"Invalid JSON payload received. {message}: {err}") from None
    except RecursionError:
        raise invalid("Invalid JSON payload received. The body is nested too deeply.") from None


def load() -> None:
    """Import the protos now (about a second, once per process), so that no request waits for them.

    Synchronous on purpose: importing google.cloud.aiplatform_* on a second thread while the caller's
    thread imports it too leaves partially initialised modules behind.
    """
    for version in ("v1beta1", "v1"):
        for message in _MODULES:
            _message_class(message, version)
