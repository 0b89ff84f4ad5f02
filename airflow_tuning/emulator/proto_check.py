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
_MODULES = {"TuningJob": "tuning_job", "Model": "model", "GenerateContentRequest": "prediction_service",
            "CountTokensRequest": "prediction_service"}


def _message_class(message: str, version: str) -> Any:
    module = importlib.import_module(f"google.cloud.aiplatform_{version}.types.{_MODULES[message]}")
    return getattr(module, message)


def check(body: dict[str, Any], message: str, version: str = "v1beta1") -> None:
    """Raise INVALID_ARGUMENT when ``body`` does not parse as ``message`` (types, enums, maps, nesting)."""
    from google.protobuf import json_format

    proto_class = _message_class(message, "v1" if version == "v1" else "v1beta1")
    try:
        _objects_where_messages(body, proto_class.pb().DESCRIPTOR, message)
        json_format.ParseDict(body, proto_class.pb()(), ignore_unknown_fields=True)
    except json_format.ParseError as err:
        raise invalid(f"Invalid JSON payload received. {message}: {err}") from None
    except RecursionError:
        raise invalid("Invalid JSON payload received. The body is nested too deeply.") from None


def _objects_where_messages(value: Any, descriptor: Any, path: str) -> None:
    """Every message-typed field holds an object (a list of them when repeated).

    protobuf's JSON parser, told to ignore unknown fields, would read a string where a message belongs as
    an object whose keys are its characters, all unknown, and accept it.
    """
    if not isinstance(value, dict):
        raise invalid(f"Invalid JSON payload received. Invalid value at '{path}': expected an object, "
                      f"got {type(value).__name__}.")
    for key, item in value.items():
        field = descriptor.fields_by_camelcase_name.get(key) or descriptor.fields_by_name.get(key)
        if field is None or field.message_type is None or field.message_type.full_name.startswith("google.protobuf."):
            continue
        where = f"{path}.{key}"
        if field.message_type.GetOptions().map_entry:
            if not isinstance(item, dict):
                raise invalid(f"Invalid JSON payload received. Invalid value at '{where}': expected a map.")
            inner = field.message_type.fields_by_name["value"].message_type
            if inner is not None and not inner.full_name.startswith("google.protobuf."):
                for entry_key, entry in item.items():
                    _objects_where_messages(entry, inner, f"{where}[{entry_key!r}]")
            continue
        if field.is_repeated:
            if not isinstance(item, list):
                raise invalid(f"Invalid JSON payload received. Invalid value at '{where}': expected a list.")
            for index, element in enumerate(item):
                _objects_where_messages(element, field.message_type, f"{where}[{index}]")
        else:
            _objects_where_messages(item, field.message_type, where)


def load() -> None:
    """Import the protos now (about a second, once per process), so that no request waits for them.

    Synchronous on purpose: importing google.cloud.aiplatform_* on a second thread while the caller's
    thread imports it too leaves partially initialised modules behind.
    """
    for version in ("v1beta1", "v1"):
        for message in _MODULES:
            _message_class(message, version)
