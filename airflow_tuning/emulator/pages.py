"""The emulator's own small web pages, so the extra links on Airflow tasks work offline.

- ``/_emulator/ui/``: every tuning job, newest first;
- ``/_emulator/ui/projects/P/locations/L/tuningJobs/ID``: one job (state, models, data, hyperparameters,
  error), refreshing itself every 5 s until the job has ended;
- ``/_emulator/ui/report?uri=gs://BUCKET/OBJECT.html``: an HTML object of the emulated Cloud Storage (the
  evaluation report), served as a page.

They live under the admin prefix: faults and request counts never apply to them.
"""

from __future__ import annotations

import asyncio
import html
import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from airflow_tuning.emulator.context import Context
from airflow_tuning.emulator.datasets import DatasetError, read_object
from airflow_tuning.jobs import states as js

PREFIX = "/_emulator/ui"
STYLE = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}"
         "th{background:#f1f3f4}.note{color:#5f6368}pre{margin:0;white-space:pre-wrap}")


def _page(title: str, body: str, *, refresh: bool = False, status: int = 200) -> HTMLResponse:
    meta = '<meta http-equiv="refresh" content="5">' if refresh else ""
    return HTMLResponse(
        f'<!doctype html><html><head><meta charset="utf-8">{meta}<title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}"
        '<p class="note">airflow-tuning emulator: an offline stand-in for Vertex AI.</p></body></html>',
        status_code=status,
    )


def _rows(pairs: list[tuple[str, Any]]) -> str:
    cells = []
    for key, value in pairs:
        if value in (None, "", {}, []):
            continue
        text = value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True)
        cells.append(f"<tr><th>{html.escape(key)}</th><td><pre>{html.escape(text)}</pre></td></tr>")
    return "<table>" + "".join(cells) + "</table>"


def _job_pairs(view: dict[str, Any]) -> list[tuple[str, Any]]:
    spec = view.get("supervisedTuningSpec") or {}
    tuned = view.get("tunedModel") or {}
    return [
        ("state", view.get("state")),
        ("display name", view.get("tunedModelDisplayName")),
        ("base model", view.get("baseModel")),
        ("continued from", (view.get("preTunedModel") or {}).get("tunedModelName")),
        ("created", view.get("createTime")),
        ("started", view.get("startTime")),
        ("ended", view.get("endTime")),
        ("training data", spec.get("trainingDatasetUri")),
        ("validation data", spec.get("validationDatasetUri")),
        ("hyperparameters", spec.get("hyperParameters")),
        ("tuned model", tuned.get("model")),
        ("endpoint", tuned.get("endpoint")),
        ("checkpoints", tuned.get("checkpoints")),
        ("error", view.get("error")),
        ("labels", view.get("labels")),
        ("data statistics", view.get("tuningDataStats")),
    ]


def routes(ctx: Context) -> list[Route]:
    async def index(request: Request) -> Response:
        now = time.time()
        rows = []
        for job in sorted(ctx.store.jobs.values(), key=lambda j: j["createTime"], reverse=True):
            state = await ctx.lifecycle.observe(job, now)
            name = html.escape(job["name"])
            rows.append(f'<tr><td><a href="{PREFIX}/{name}">{name}</a></td><td>{html.escape(state)}</td></tr>')
        body = ("<table><tr><th>tuning job</th><th>state</th></tr>" + "".join(rows) + "</table>") if rows else (
            "<p>No tuning jobs yet.</p>")
        return _page("Tuning jobs", body)

    async def job_page(request: Request) -> Response:
        name = request.path_params["name"]
        job = ctx.store.jobs.get(name)
        if job is None:
            return _page("Tuning job not found", f"<p>No tuning job {html.escape(name)} in this emulator.</p>",
                         status=404)
        now = time.time()
        state = await ctx.lifecycle.observe(job, now)
        view = ctx.lifecycle.render(job, "v1beta1", now)
        return _page(f"Tuning job {name.rsplit('/', 1)[-1]}", f"<p>{html.escape(name)}</p>" + _rows(_job_pairs(view)),
                     refresh=state not in js.ENDED_STATES)

    async def report(request: Request) -> Response:
        uri = request.query_params.get("uri", "")
        try:
            data = await asyncio.to_thread(read_object, ctx.lifecycle._storage(), uri)
        except DatasetError as err:
            return _page("Report not found", f"<p>{html.escape(str(err))}</p>", status=404)
        return Response(data, media_type="text/html; charset=utf-8")

    return [
        Route(f"{PREFIX}/", index, methods=["GET"]),
        Route(f"{PREFIX}/report", report, methods=["GET"]),
        Route(f"{PREFIX}/{{name:path}}", job_page, methods=["GET"]),
    ]
