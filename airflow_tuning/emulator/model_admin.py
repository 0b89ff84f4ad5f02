"""Model Registry writes beyond aliases: ``UpdateModel`` (PATCH), ``DeleteModel`` and ``DeleteModelVersion``.

As ``UpdateModelRequest`` documents: a name without ``@`` (or with ``@-``) updates the model
(``display_name``, ``description``, ``labels``); a name with ``@version`` updates that version
(``version_description``, ``labels``, ``default_checkpoint_id``), and a model field sent with a version
name is FAILED_PRECONDITION. Version fields sent with a model name go to the default version: that is how
google-genai's ``models.update(config={"default_checkpoint_id": ...})`` changes a tuned model's default
checkpoint. The ``update_mask`` names what changes (aiplatform sends the whole Model back); without one,
as google-genai sends it, the updatable fields present in the body change. A new default checkpoint must
be one of the version's checkpoints. Returned models merge model and version labels.

Deletes answer a finished long-running operation. Deleting a model removes its versions and the endpoints
its tuning jobs deployed; a version carrying the ``default`` alias cannot be deleted (move the alias first,
or delete the model).
"""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from airflow_tuning.emulator import proto_check, registry
from airflow_tuning.emulator.context import Context, api_version, parent_of, versioned
from airflow_tuning.emulator.wire import ApiError, camel, invalid, json_response, not_found, read_json

MODEL_FIELDS = frozenset({"displayName", "description", "labels"})
VERSION_FIELDS = frozenset({"versionDescription", "labels", "defaultCheckpointId"})
MAX_DISPLAY_NAME = 128
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}\Z")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}\Z")
EMPTY = "type.googleapis.com/google.protobuf.Empty"


def _precondition(message: str) -> ApiError:
    return ApiError(400, message, "FAILED_PRECONDITION")


def update_mask(request: Request, body: dict[str, Any]) -> list[str]:
    """The ``updateMask`` query parameter (camelCase or snake_case paths).

    Without one (google-genai's ``models.update`` sends none), the updatable fields present in the body.
    """
    raw = request.query_params.get("updateMask") or request.query_params.get("update_mask") or ""
    paths = [camel(p.strip()) for p in raw.split(",") if p.strip()]
    if not raw:
        paths = [key for key in body if key in MODEL_FIELDS | VERSION_FIELDS]
    if not paths:
        raise invalid("update_mask is required: name the fields to update, e.g. updateMask=description,labels.")
    return paths


def check_labels(labels: Any) -> dict[str, str]:
    if not isinstance(labels, dict) or len(labels) > 64:
        raise invalid("labels must be a map of at most 64 string keys to string values.")
    for key, value in labels.items():
        if not isinstance(value, str) or not _LABEL_KEY.match(key) or not _LABEL_VALUE.match(value):
            raise invalid(f"Label {key!r}={value!r} is invalid: keys start with a lowercase letter and hold at "
                          "most 63 lowercase letters, digits, '_' or '-'; values likewise, may be empty.")
    return dict(labels)


def apply_update(model: dict[str, Any], version: dict[str, Any] | None, body: dict[str, Any],
                 paths: list[str], default: dict[str, Any] | None = None) -> None:
    """Check every masked field first, then apply them all (nothing half-applied).

    ``version`` is the version the name points at (None for the model itself); version-only fields sent
    with a model name (``defaultCheckpointId`` through google-genai's ``models.update``) go to ``default``,
    the default version.
    """
    for path in paths:
        if path not in MODEL_FIELDS | VERSION_FIELDS:
            raise invalid(f"Field {path!r} of a Model cannot be updated; updatable fields: "
                          f"{', '.join(sorted(MODEL_FIELDS | VERSION_FIELDS))}.")
        if version is not None and path not in VERSION_FIELDS:
            raise _precondition(f"Field {path!r} cannot be updated on a model version: send it with the name "
                                "models/{model}, without @version.")
    changes: dict[str, Any] = {}
    for path in paths:
        value = body.get(path)
        if path == "labels":
            changes[path] = check_labels(value or {})
        elif path == "displayName":
            if not isinstance(value, str) or not value.strip() or len(value) > MAX_DISPLAY_NAME:
                raise invalid(f"displayName must be 1 to {MAX_DISPLAY_NAME} characters, got {value!r}.")
            changes[path] = value
        elif path == "defaultCheckpointId":
            target = version or default or {}
            value = "" if value is None else str(value)
            known = [c["checkpointId"] for c in target.get("checkpoints") or []]
            if known and value not in known:
                raise invalid(f'Checkpoint "{value}" does not exist in model {model["name"]}@'
                              f'{target.get("versionId")}; its checkpoints are: {", ".join(known)}.')
            changes[path] = value
        else:
            changes[path] = "" if value is None else str(value)
    now = time.time()
    for path, value in changes.items():
        on_version = version is not None or path in VERSION_FIELDS - MODEL_FIELDS
        changed = (version or default) if on_version else model
        if changed is None:
            continue
        changed["description" if path == "versionDescription" else path] = value
        changed["updateTime"] = now
    model["updateTime"] = now


def delete_version(store: Any, model: dict[str, Any], version: dict[str, Any]) -> None:
    if registry.DEFAULT_ALIAS in version["aliases"]:
        raise _precondition(f'Model version {model["name"]}@{version["versionId"]} has the "default" alias and '
                            "cannot be deleted: move the alias to another version first, or delete the model.")
    for checkpoint in version.get("checkpoints") or []:
        store.endpoints.pop(checkpoint["endpoint"], None)
    del model["versions"][version["versionId"]]
    model["updateTime"] = time.time()


def delete_model(store: Any, model: dict[str, Any]) -> None:
    for name in [n for n, e in store.endpoints.items() if e.get("model") == model["name"]]:
        del store.endpoints[name]
    del store.models[model["name"]]


def routes(ctx: Context) -> list[Any]:
    store = ctx.store
    operations: dict[str, dict[str, Any]] = {}

    def finished_operation(parent: str) -> dict[str, Any]:
        name = f"{parent}/operations/{store.new_id()}"
        operations[name] = {"name": name, "done": True, "response": {"@type": EMPTY}}
        return operations[name]

    def forget_learners() -> None:
        for name in [n for n in ctx.learners if n not in store.endpoints]:
            del ctx.learners[name]

    async def update(request: Request) -> Response:
        model, ref = registry.find_model(store, parent_of(request), f"models/{request.path_params['id']}")
        body = await read_json(request)
        proto_check.check(body, "Model", api_version(request))
        body = {camel(k): v for k, v in body.items()}
        paths = update_mask(request, body)
        version = None if ref in (None, "-") else registry.find_version(model, ref)
        apply_update(model, version, body, paths, registry.find_version(model, None))
        store.save()
        return json_response(registry.render(model, version or registry.find_version(model, None)))

    async def delete(request: Request) -> Response:
        model, ref = registry.find_model(store, parent_of(request), f"models/{request.path_params['id']}")
        if ref not in (None, "-"):
            raise invalid(f"DeleteModel takes a model name without a version; to delete version {ref!r} "
                          f"use DELETE {model['name']}@{ref}:deleteVersion.")
        delete_model(store, model)
        forget_learners()
        store.save()
        return json_response(finished_operation(parent_of(request)))

    async def delete_model_version(request: Request) -> Response:
        model, ref = registry.find_model(store, parent_of(request), f"models/{request.path_params['id']}")
        if ref in (None, "-"):
            raise invalid("DeleteModelVersion needs a versioned name: models/{model}@{version}.")
        delete_version(store, model, registry.find_version(model, ref))
        forget_learners()
        store.save()
        return json_response(finished_operation(parent_of(request)))

    async def get_operation(request: Request) -> Response:
        name = f"{parent_of(request)}/operations/{request.path_params['id']}"
        if name not in operations:
            raise not_found(f'The Operation "{name}" does not exist.')
        return json_response(operations[name])

    return [
        *versioned("models/{id}:deleteVersion", delete_model_version, "DELETE"),
        *versioned("models/{id}", update, "PATCH"),
        *versioned("models/{id}", delete, "DELETE"),
        *versioned("operations/{id}", get_operation, "GET"),
    ]
