"""``GET .../endpoints/{id}`` and ``GET .../endpoints``: the endpoints tuning jobs deploy checkpoints to.

``aiplatform.Endpoint(name)`` reads one of these before anything else. Each endpoint carries one deployed
model (the tuned model version and checkpoint it serves) taking all the traffic; the list accepts the same
``filter`` grammar as the other lists (``display_name``, ``labels``).
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from airflow_tuning.emulator import filters
from airflow_tuning.emulator.context import Context, parent_of, versioned
from airflow_tuning.emulator.registry import _page
from airflow_tuning.emulator.wire import json_response, not_found, timestamp

FIELDS = filters.spellings("displayName", "createTime", "updateTime", aliases={"endpoint": "endpoint"})


def render(store: Any, endpoint: dict[str, Any]) -> dict[str, Any]:
    """An endpoint as ``aiplatform.Endpoint`` JSON (parses in v1 and v1beta1)."""
    endpoint_id = endpoint["name"].rsplit("/", 1)[-1]
    model = store.models.get(endpoint["model"]) or {}
    version = (model.get("versions") or {}).get(endpoint["versionId"]) or {}
    created = timestamp(version.get("createTime") or model.get("createTime") or 0.0)
    display = f"{model.get('displayName', 'tuned-model')}-checkpoint-{endpoint['checkpointId']}"
    deployed = {
        "id": endpoint_id,
        "model": endpoint["model"],
        "modelVersionId": endpoint["versionId"],
        "displayName": display,
        "createTime": created,
        "checkpointId": endpoint["checkpointId"],
    }
    return {
        "name": endpoint["name"],
        "displayName": display,
        "deployedModels": [deployed],
        "trafficSplit": {endpoint_id: 100},
        "etag": hashlib.sha256(f"{endpoint['name']}:{created}".encode()).hexdigest()[:16],
        "createTime": created,
        "updateTime": created,
    }


def _lookup(view: dict[str, Any]) -> Any:
    return lambda field: view["name"].rsplit("/", 1)[-1] if field == "endpoint" else view.get(field)


def routes(ctx: Context) -> list[Any]:
    store = ctx.store

    async def get_endpoint(request: Request) -> Response:
        name = f"{parent_of(request)}/endpoints/{request.path_params['id']}"
        endpoint = store.endpoints.get(name)
        if endpoint is None:
            raise not_found(f'The Endpoint "{name}" does not exist.')
        return json_response(render(store, endpoint))

    async def list_endpoints(request: Request) -> Response:
        prefix = parent_of(request) + "/endpoints/"
        expression = filters.parse(request.query_params.get("filter", ""), FIELDS)
        found = []
        for name, endpoint in sorted(store.endpoints.items()):
            if name.startswith(prefix):
                view = render(store, endpoint)
                if filters.matches(expression, _lookup(view), view.get("labels") or {}):
                    found.append(view)
        page, token = _page(request, found)
        body: dict[str, Any] = {"endpoints": page}
        if token:
            body["nextPageToken"] = token
        return json_response(body)

    return [
        *versioned("endpoints", list_endpoints, "GET"),
        *versioned("endpoints/{id}", get_endpoint, "GET"),
    ]
