"""Google's base models: ``GET /{version}/publishers/google/models[/{model}]`` (Model Garden).

google-genai's ``models.list()`` (``query_base`` true, its default) and ``models.get("gemini-...")`` call
these without a project or location. The catalogue is the base models the emulator can tune and serve.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airflow_tuning.emulator.context import API_VERSIONS, TemplateRoute
from airflow_tuning.emulator.registry import _page
from airflow_tuning.emulator.tuning import BASE_MODELS
from airflow_tuning.emulator.wire import json_response, not_found

PREFIX = "publishers/google/models"


def render(model_id: str) -> dict[str, Any]:
    """A ``PublisherModel`` as Model Garden answers it (parses in v1 and v1beta1)."""
    return {
        "name": f"{PREFIX}/{model_id}",
        "versionId": "default",
        "openSourceCategory": "PROPRIETARY",
        "launchStage": "GA",
        "versionState": "VERSION_STATE_STABLE",
        "publisherModelTemplate": f"projects/{{project}}/locations/{{location}}/{PREFIX}/{model_id}",
    }


async def list_models(request: Request) -> Response:
    page, token = _page(request, [render(m) for m in BASE_MODELS])
    body: dict[str, Any] = {"publisherModels": page}
    if token:
        body["nextPageToken"] = token
    return json_response(body)


async def get_model(request: Request) -> Response:
    model_id = request.path_params["id"]
    if model_id not in BASE_MODELS:
        raise not_found(f"Publisher Model `{PREFIX}/{model_id}` not found.")
    return json_response(render(model_id))


def routes() -> list[Route]:
    out: list[Route] = []
    for version in API_VERSIONS:
        out.append(TemplateRoute(f"/{version}/{PREFIX}", list_models, methods=["GET"]))
        out.append(TemplateRoute(f"/{version}/{PREFIX}/{{id}}", get_model, methods=["GET"]))
    return out
