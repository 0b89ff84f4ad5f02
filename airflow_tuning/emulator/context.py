"""What every route of the emulator shares, and the route type that records its own template.

Routes are registered once per API version (``/v1`` and ``/v1beta1``) under
``/{version}/projects/{p}/locations/{l}/...``; the template of the route that answered a request (for
instance ``GET /v1beta1/projects/{p}/locations/{l}/tuningJobs/{id}``) is what ``/_emulator/stats`` counts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

if TYPE_CHECKING:
    from airflow_tuning.emulator.faults import FaultPlan
    from airflow_tuning.emulator.learner import Learner
    from airflow_tuning.emulator.lifecycle import Lifecycle
    from airflow_tuning.emulator.state import Config, Stats, Store

API_VERSIONS = ("v1", "v1beta1")
TEMPLATE_KEY = "emulator.route"

Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class Context:
    store: Store
    config: Config
    stats: Stats
    lifecycle: Lifecycle
    faults: FaultPlan
    learners: dict[str, Learner] = field(default_factory=dict)


class TemplateRoute(Route):
    """A route that writes ``"METHOD /path/{template}"`` into the scope when it matches."""

    def matches(self, scope: Any) -> tuple[Match, Any]:
        match, child_scope = super().matches(scope)
        if match == Match.FULL:
            child_scope[TEMPLATE_KEY] = f"{scope['method']} {self.path}"
        return match, child_scope


def versioned(suffix: str, handler: Handler, method: str) -> list[Route]:
    """The same handler under ``/v1`` and ``/v1beta1`` (``suffix`` follows ``locations/{l}/``)."""
    return [
        TemplateRoute(f"/{version}/projects/{{p}}/locations/{{l}}/{suffix}", handler, methods=[method])
        for version in API_VERSIONS
    ]


def api_version(request: Request) -> str:
    return request.scope["path"].split("/", 2)[1]


def parent_of(request: Request) -> str:
    params = request.path_params
    return f"projects/{params['p']}/locations/{params['l']}"
