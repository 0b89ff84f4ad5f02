"""The emulator's ASGI application: API routes, Google-shaped errors, admin routes, faults and stats.

Plain Starlette (what FastAPI is built on) without request models: every handler reads and writes JSON
itself, which keeps a job GET to a dict lookup and one ``json.dumps``. Counting and fault injection live in
one pure-ASGI middleware so that they cost nothing when no fault is configured.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from airflow_tuning.emulator import endpoints, gemini_api, model_admin, pages, publishers, registry, serving, tuning
from airflow_tuning.emulator.context import TEMPLATE_KEY, Context
from airflow_tuning.emulator.faults import FaultPlan
from airflow_tuning.emulator.lifecycle import Lifecycle
from airflow_tuning.emulator.state import Config, Stats, Store
from airflow_tuning.emulator.wire import ApiError, error_response, invalid, json_response, read_json

logger = logging.getLogger(__name__)
ADMIN_PREFIX = "/_emulator"
FAULT_MESSAGE = "Injected fault (emulator): the service is temporarily unable to handle the request."


def build_context(*, store: Store, config: Config, storage_url: str | None,
                  faults: list[Any] | None = None, seed: int = 0) -> Context:
    return Context(store=store, config=config, stats=Stats(),
                   lifecycle=Lifecycle(store, config, storage_url), faults=FaultPlan(faults, seed))


def create_app(ctx: Context) -> EmulatorMiddleware:
    """The whole emulator as one ASGI callable."""
    # Most frequent first: Starlette tries routes in order, and job polling dominates the traffic.
    api_routes = [*tuning.routes(ctx), *registry.routes(ctx), *model_admin.routes(ctx), *serving.routes(ctx),
                  *endpoints.routes(ctx), *publishers.routes(), *gemini_api.routes(ctx)]
    app = Starlette(
        routes=[*admin_routes(ctx), *pages.routes(ctx), *api_routes],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, RecursionError: _too_deep,
                            Exception: _internal_error},
    )
    return EmulatorMiddleware(app, ctx, api_routes)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return json_response(exc.body(), status_code=exc.code)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: f"The requested URL {request.url.path} was not found on this server.",
               405: f"Method {request.method} is not allowed for {request.url.path}."}
    return error_response(exc.status_code, message.get(exc.status_code, str(exc.detail)))


async def _too_deep(request: Request, exc: Exception) -> Response:
    return error_response(400, "Invalid JSON payload received. The body is nested too deeply.")


async def _internal_error(request: Request, exc: Exception) -> Response:
    return error_response(500, f"Internal error in the emulator: {type(exc).__name__}: {exc}")


class EmulatorMiddleware:
    """Counts requests per route template and applies global latency and injected faults."""

    def __init__(self, app: Any, ctx: Context, api_routes: list[Route]) -> None:
        self.app = app
        self.ctx = ctx
        self.api_routes = api_routes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        ctx = self.ctx
        decision = ctx.faults.decide(f"{scope['method']} {scope['path']}") if ctx.faults.faults else None
        delay = ctx.config.latency + (decision.delay if decision else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)
        if decision is not None and (decision.drop or decision.status):
            ctx.stats.requests[self._template(scope)] += 1
            if decision.after:  # the request takes effect; only its answer is lost
                await self.app(scope, receive, _discard)
            if decision.drop:
                ctx.stats.faults["drop"] += 1
                _drop_connection(send)
                return
            ctx.stats.faults[str(decision.status)] += 1
            response = error_response(decision.status or 503, FAULT_MESSAGE)
            await response(scope, receive, send)
            return
        if decision is not None:
            ctx.stats.faults["latency"] += 1
        try:
            await _answer_keeping_connection(self.app, scope, receive, send)
        finally:
            ctx.stats.requests[scope.get(TEMPLATE_KEY) or f"{scope['method']} (no route)"] += 1

    def _template(self, scope: Any) -> str:
        for route in self.api_routes:
            match, child = route.matches(scope)
            if match == Match.FULL:
                return child[TEMPLATE_KEY]
        return f"{scope['method']} (no route)"


async def _answer_keeping_connection(app: Any, scope: Any, receive: Any, send: Any) -> None:
    """Run ``app``; an unexpected error it has already answered (500) is logged, not re-raised.

    Starlette answers an unhandled exception with our 500 body and then re-raises it, and uvicorn closes
    the connection of any request that raised: a client keeping the connection alive would then see its
    next request fail. Swallowing the already-answered error keeps the connection usable.
    """
    completed = False

    async def tracking_send(message: Any) -> None:
        nonlocal completed
        await send(message)
        if message.get("type") == "http.response.body" and not message.get("more_body", False):
            completed = True

    try:
        await app(scope, receive, tracking_send)
    except Exception:
        if not completed:
            raise
        logger.exception("Internal error in the emulator while answering %s %s", scope["method"], scope["path"])


async def _discard(message: Any) -> None:
    """An ASGI ``send`` that loses the answer (faults with ``after``)."""


def _drop_connection(send: Any) -> None:
    """Close the client's socket without an answer (uvicorn keeps the transport on the send callable)."""
    cycle: Any = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionAbortedError("injected fault: connection dropped")
    transport.close()
    cycle.disconnected = True


# -- admin ----------------------------------------------------------------------------------------------
def admin_routes(ctx: Context) -> list[Route]:
    async def health(request: Request) -> Response:
        return json_response({"status": "ok"})

    async def stats(request: Request) -> Response:
        by_state: Counter[str] = Counter()
        now = time.time()
        for job in list(ctx.store.jobs.values()):
            by_state[await ctx.lifecycle.observe(job, now)] += 1
        return json_response({
            "requests": dict(ctx.stats.requests),
            "jobs_created": ctx.stats.jobs_created,
            "jobs_by_state": dict(by_state),
            "faults_injected": sum(ctx.stats.faults.values()),
            "faults_by_kind": dict(ctx.stats.faults),
            "generate_calls": ctx.stats.generate_calls,
            "config": ctx.config.as_dict(),
        })

    async def reset_stats(request: Request) -> Response:
        ctx.stats.reset()
        return json_response({})

    async def get_faults(request: Request) -> Response:
        return json_response(ctx.faults.describe())

    async def set_faults(request: Request) -> Response:
        body = await read_json(request)
        try:
            ctx.faults.set(body.get("faults", []), body.get("seed"))
        except ValueError as err:
            raise invalid(str(err)) from None
        return json_response(ctx.faults.describe())

    async def clear_faults(request: Request) -> Response:
        ctx.faults.clear()
        return json_response(ctx.faults.describe())

    async def get_config(request: Request) -> Response:
        return json_response(ctx.config.as_dict())

    async def set_config(request: Request) -> Response:
        try:
            ctx.config.update(await read_json(request))
        except (TypeError, ValueError) as err:
            raise invalid(str(err)) from None
        return json_response(ctx.config.as_dict())

    async def jobs(request: Request) -> Response:
        clauses = tuning.parse_filter(request.query_params.get("filter", ""))
        version = request.query_params.get("version", "v1beta1")
        found, now = [], time.time()
        for job in sorted(ctx.store.jobs.values(), key=lambda j: (j["createTime"], j["name"])):
            await ctx.lifecycle.observe(job, now)
            view = ctx.lifecycle.render(job, version, now)
            if tuning.matches(view, clauses):
                found.append(view)
        return json_response({"tuningJobs": found})

    prefix = ADMIN_PREFIX
    return [
        Route(f"{prefix}/health", health, methods=["GET"]),
        Route(f"{prefix}/stats", stats, methods=["GET"]),
        Route(f"{prefix}/stats", reset_stats, methods=["DELETE"]),
        Route(f"{prefix}/faults", get_faults, methods=["GET"]),
        Route(f"{prefix}/faults", set_faults, methods=["POST"]),
        Route(f"{prefix}/faults", clear_faults, methods=["DELETE"]),
        Route(f"{prefix}/config", get_config, methods=["GET"]),
        Route(f"{prefix}/config", set_config, methods=["POST"]),
        Route(f"{prefix}/jobs", jobs, methods=["GET"]),
    ]
