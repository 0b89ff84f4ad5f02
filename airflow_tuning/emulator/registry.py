"""Model Registry: tuned models, their versions, aliases and checkpoints, as Vertex AI keeps them.

A successful tuning job publishes a model version (a new model, or a new version of its parent's model
for continuous tuning) with one checkpoint per epoch, each served by its own endpoint. An alias lives on
one version at a time; ``default`` follows the newest version. What a checkpoint "knows" is recorded as
sources: its parent's sources plus a prefix of its own job's examples, and how overfit it is as a degree
(see checkpoints.py). A version's default checkpoint (the last one at first; ``PATCH`` on the model
version changes it) is what the version serves and what continuous tuning starts from.
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from airflow_tuning.emulator import checkpoints as ckpt
from airflow_tuning.emulator import methods, model_filters
from airflow_tuning.emulator.context import Context, parent_of, versioned
from airflow_tuning.emulator.datasets import steps_per_epoch
from airflow_tuning.emulator.state import Store
from airflow_tuning.emulator.wire import (
    ApiError,
    int64,
    invalid,
    json_response,
    not_found,
    read_json,
    timestamp,
)

DEFAULT_ALIAS = "default"
#: What Vertex AI labels a tuned model with; google-genai lists tuned models by ``labels.tune-type:*``.
TUNED_MODEL_LABELS = {"tune-type": "sft"}
BASE_MODEL_LABEL = "google-vertex-llm-tuning-base-model-id"
ALIAS_RE = re.compile(r"^[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]$")
MODEL_NAME_RE = re.compile(r"^(?:(projects/[^/]+/locations/[^/]+)/)?models/([^/@]+)(?:@([^/@]+))?$")


# -- publishing and resolving --------------------------------------------------------------------------
def publish(store: Store, job: dict[str, Any], examples: list[Any]) -> dict[str, Any]:
    """Register a succeeded job's model version and checkpoint endpoints; return its ``tunedModel``."""
    parent = job["name"].split("/tuningJobs/", 1)[0]
    request, pre = job["request"], job["pre"]
    when = job["endTime"]
    display = request.get("tunedModelDisplayName")
    base = pre["baseModel"] if pre else request["baseModel"]
    parent_sources = pre["sources"] if pre else []
    if pre and (not display or display == store.models[pre["model"]]["displayName"]):
        model = store.models[pre["model"]]
    else:
        name = f"{parent}/models/{store.new_id()}"
        model = {
            "name": name,
            "displayName": display or f"{base.rsplit('/', 1)[-1]}-tuned-{job['name'].rsplit('/', 1)[-1]}",
            "description": request.get("description", ""),
            # Vertex AI labels a tuned model with its base model (dots become '_'); google-genai reads it.
            "labels": {**(request.get("labels") or {}), **TUNED_MODEL_LABELS,
                       BASE_MODEL_LABEL: base.rsplit("/", 1)[-1].replace(".", "_")},
            "createTime": when,
            "versions": {},
        }
        store.models[name] = model
    version_id = str(len(model["versions"]) + 1)
    examples_count, epochs = len(examples), job["epochs"]
    steps = steps_per_epoch(examples_count)
    spec = methods.method_of(request)[1]
    exported = [epochs] if spec.get("exportLastCheckpointOnly") else list(range(1, epochs + 1))
    checkpoints = []
    for epoch in exported:
        endpoint = f"{parent}/endpoints/{store.new_id()}"
        store.endpoints[endpoint] = {
            "name": endpoint,
            "model": model["name"],
            "versionId": version_id,
            "checkpointId": str(epoch),
            "baseModel": base,
            "sources": [*parent_sources, [job["name"], ckpt.known_examples(examples_count, epoch, epochs)]],
            "overfit": ckpt.overfit_degree(examples_count, epoch, epochs),
        }
        checkpoints.append(
            {"checkpointId": str(epoch), "epoch": int64(epoch), "step": int64(epoch * steps), "endpoint": endpoint}
        )
    for other in model["versions"].values():
        if DEFAULT_ALIAS in other["aliases"]:
            other["aliases"].remove(DEFAULT_ALIAS)
            other["updateTime"] = when
    model["versions"][version_id] = {
        "versionId": version_id,
        "aliases": [DEFAULT_ALIAS],
        "createTime": when,
        "updateTime": when,
        "job": job["name"],
        "checkpoints": checkpoints,
        "defaultCheckpointId": checkpoints[-1]["checkpointId"],
        "baseModel": base,
        "description": request.get("description", ""),
    }
    model["updateTime"] = when
    return {"model": f"{model['name']}@{version_id}", "endpoint": checkpoints[-1]["endpoint"],
            "checkpoints": checkpoints}


def find_model(store: Store, parent: str, name: str) -> tuple[dict[str, Any], str | None]:
    """The model named ``[projects/P/locations/L/]models/ID[@REF]`` and the REF (version or alias)."""
    match = MODEL_NAME_RE.match(name or "")
    if not match:
        raise invalid(f"Invalid model name {name!r}; expected "
                      "projects/{project}/locations/{location}/models/{model}@{version_or_alias}.")
    full = f"{match.group(1) or parent}/models/{match.group(2)}"
    model = store.models.get(full)
    if model is None:
        raise not_found(f'The Model "{full}" does not exist.')
    return model, match.group(3)


def find_version(model: dict[str, Any], ref: str | None) -> dict[str, Any]:
    """A version by id or alias (the default version when ``ref`` is None)."""
    ref = ref or DEFAULT_ALIAS
    version = model["versions"].get(ref)
    if version is None:
        version = next((v for v in model["versions"].values() if ref in v["aliases"]), None)
    if version is None:
        raise not_found(f'The Model "{model["name"]}@{ref}" does not exist: no version or alias {ref!r}.')
    return version


def default_endpoint(version: dict[str, Any]) -> str:
    """The endpoint of the version's default checkpoint: what calls on ``models/ID@VERSION`` reach."""
    wanted = version["defaultCheckpointId"]
    return next(c["endpoint"] for c in version["checkpoints"] if c["checkpointId"] == wanted)


def resolve_pretuned(store: Store, parent: str, pre: dict[str, Any]) -> dict[str, Any]:
    """What continuous tuning starts from: the parent model version, checkpoint and what it knows."""
    name = pre.get("tunedModelName")
    if not name:
        raise invalid("preTunedModel.tunedModelName is required.")
    model, ref = find_model(store, parent, name)
    version = find_version(model, ref)
    checkpoint_id = str(pre.get("checkpointId") or version["defaultCheckpointId"])
    checkpoint = next((c for c in version["checkpoints"] if c["checkpointId"] == checkpoint_id), None)
    if checkpoint is None:
        known = ", ".join(c["checkpointId"] for c in version["checkpoints"])
        raise invalid(f'Checkpoint "{checkpoint_id}" does not exist in model {model["name"]}@'
                      f'{version["versionId"]}; its checkpoints are: {known}.')
    return {
        "tunedModelName": name,
        "checkpointId": checkpoint_id,
        "baseModel": version["baseModel"],
        "model": model["name"],
        "versionId": version["versionId"],
        "sources": store.endpoints[checkpoint["endpoint"]]["sources"],
    }


# -- rendering ------------------------------------------------------------------------------------------
def render(model: dict[str, Any], version: dict[str, Any]) -> dict[str, Any]:
    """A model version as ``aiplatform.Model`` JSON (parses in v1 and v1beta1)."""
    etag = hashlib.sha256(f"{model['name']}@{version['versionId']}:{version['updateTime']}:"
                          f"{','.join(version['aliases'])}".encode()).hexdigest()[:16]
    return {
        "name": model["name"],
        "versionId": version["versionId"],
        "versionAliases": list(version["aliases"]),
        "versionCreateTime": timestamp(version["createTime"]),
        "versionUpdateTime": timestamp(version["updateTime"]),
        "displayName": model["displayName"],
        "description": model.get("description", ""),
        "versionDescription": version.get("description", ""),
        "createTime": timestamp(model["createTime"]),
        "updateTime": timestamp(model["updateTime"]),
        "labels": {**model.get("labels", {}), **version.get("labels", {})},
        "deployedModels": [
            {"endpoint": c["endpoint"], "deployedModelId": c["endpoint"].rsplit("/", 1)[-1]}
            for c in version["checkpoints"]
        ],
        "defaultCheckpointId": version["defaultCheckpointId"],
        "checkpoints": [
            {"checkpointId": c["checkpointId"], "epoch": c["epoch"], "step": c["step"]}
            for c in version["checkpoints"]
        ],
        "etag": etag,
    }


# -- routes ---------------------------------------------------------------------------------------------
def routes(ctx: Context) -> list[Any]:
    store = ctx.store

    async def get_model(request: Request) -> Response:
        model, ref = find_model(store, parent_of(request), f"models/{request.path_params['id']}")
        return json_response(render(model, find_version(model, ref)))

    async def list_versions(request: Request) -> Response:
        model, ref = find_model(store, parent_of(request), f"models/{request.path_params['id']}")
        if ref:
            raise invalid("listVersions takes a model name without a version or alias.")
        versions = sorted(model["versions"].values(), key=lambda v: int(v["versionId"]))
        expression = model_filters.parse(request.query_params.get("filter", ""))
        views = [view for v in versions for view in [render(model, v)]
                 if model_filters.matches(expression, view, v["baseModel"])]
        page, token = _page(request, views)
        body: dict[str, Any] = {"models": page}
        if token:
            body["nextPageToken"] = token
        return json_response(body)

    async def list_models(request: Request) -> Response:
        prefix = parent_of(request) + "/models/"
        expression = model_filters.parse(request.query_params.get("filter", ""))
        found = []
        for name, model in sorted(store.models.items()):
            if name.startswith(prefix):
                version = find_version(model, None)
                view = render(model, version)
                if model_filters.matches(expression, view, version["baseModel"]):
                    found.append(view)
        page, token = _page(request, found)
        body: dict[str, Any] = {"models": page}
        if token:
            body["nextPageToken"] = token
        return json_response(body)

    async def merge_aliases(request: Request) -> Response:
        model, ref = find_model(store, parent_of(request), f"models/{request.path_params['id']}")
        if not ref:
            raise invalid("mergeVersionAliases needs a versioned model name: models/{model}@{version}.")
        version = find_version(model, ref)
        body = await read_json(request)
        aliases = body.get("versionAliases", body.get("version_aliases"))
        if not isinstance(aliases, list) or not aliases:
            raise invalid("versionAliases must be a non-empty list of aliases.")
        merge_aliases_into(model, version, aliases)
        store.save()
        return json_response(render(model, version))

    return [
        *versioned("models/{id}:listVersions", list_versions, "GET"),
        *versioned("models/{id}:mergeVersionAliases", merge_aliases, "POST"),
        *versioned("models", list_models, "GET"),
        *versioned("models/{id}", get_model, "GET"),
    ]


def merge_aliases_into(model: dict[str, Any], version: dict[str, Any], aliases: list[Any]) -> None:
    """Apply ``alias`` (add, moving it off any other version) and ``-alias`` (remove) atomically."""
    for alias in aliases:
        bare = alias[1:] if isinstance(alias, str) and alias.startswith("-") else alias
        if not isinstance(bare, str) or not ALIAS_RE.match(bare):
            raise invalid(f"Invalid version alias {alias!r}: an alias matches [a-z][a-zA-Z0-9-]{{0,126}}[a-z0-9] "
                          "and is not a version id.")
        if alias == f"-{DEFAULT_ALIAS}":
            raise ApiError(400, 'The "default" alias cannot be removed; add it to another version instead.',
                           "FAILED_PRECONDITION")
    now = time.time()
    for alias in aliases:
        if alias.startswith("-"):
            if alias[1:] in version["aliases"]:
                version["aliases"].remove(alias[1:])
            continue
        for other in model["versions"].values():
            if other is not version and alias in other["aliases"]:
                other["aliases"].remove(alias)
                other["updateTime"] = now
        if alias not in version["aliases"]:
            version["aliases"].append(alias)
    version["updateTime"] = now
    model["updateTime"] = now


def _page(request: Request, items: list[Any]) -> tuple[list[Any], str | None]:
    try:
        size = int(request.query_params.get("pageSize") or 100)
        start = int(request.query_params.get("pageToken") or 0)
    except ValueError:
        raise invalid("pageSize and pageToken must be integers.") from None
    size = max(1, min(size, 1000))
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)
