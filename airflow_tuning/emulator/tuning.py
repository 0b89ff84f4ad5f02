"""Vertex AI ``tuningJobs``: create, get, list (filter, paging) and cancel, under /v1 and /v1beta1.

Requests are checked as Vertex AI checks them (unknown fields, base model, hyper-parameters, labels) and
answered 200 with the TuningJob; errors use Google's ``{"error": {...}}`` shape.
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from airflow_tuning.emulator import filters, methods, proto_check, registry, timeline
from airflow_tuning.emulator.context import Context, api_version, parent_of, versioned
from airflow_tuning.emulator.lifecycle import DEFAULT_EPOCHS, DURATION_LABEL
from airflow_tuning.emulator.wire import camelize, finite, int64, invalid, json_response, not_found, read_json

BASE_MODELS = (
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.5-pro",
    "gemini-2.0-flash-001",
    "gemini-2.0-flash-lite-001",
)
ADAPTER_SIZES = ("ADAPTER_SIZE_ONE", "ADAPTER_SIZE_TWO", "ADAPTER_SIZE_FOUR", "ADAPTER_SIZE_EIGHT",
                 "ADAPTER_SIZE_SIXTEEN", "ADAPTER_SIZE_THIRTY_TWO")
_REQUEST_FIELDS = {"baseModel", "preTunedModel", *methods.METHODS, "tunedModelDisplayName", "description",
                   "labels", "experiment", "serviceAccount", "encryptionSpec", "outputUri"}
_OUTPUT_ONLY = {"name", "state", "createTime", "startTime", "endTime", "updateTime", "error", "tunedModel",
                "tuningDataStats", "pipelineJob", "evaluateDatasetRuns"}
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}\Z")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}\Z")


def base_model_id(value: str) -> str | None:
    """``gemini-2.5-flash`` for any of its spellings, or None when it is not a tunable base model."""
    short = value.rsplit("/", 1)[-1] if isinstance(value, str) else ""
    if isinstance(value, str) and "/" in value and not re.match(
        r"^(projects/[^/]+/locations/[^/]+/)?publishers/google/models/[^/]+$|^models/[^/]+$", value
    ):
        return None
    return short if short in BASE_MODELS else None


def _unknown(name: str) -> Exception:
    return invalid(f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.')


def validate_request(body: dict[str, Any]) -> dict[str, Any]:
    """The create request, camelCased, checked and with hyper-parameter defaults filled in."""
    proto_check.check(body, "TuningJob")
    body = camelize(body)
    for key in body:
        if key not in _REQUEST_FIELDS and key not in _OUTPUT_ONLY:
            raise _unknown(key)
    request = {k: v for k, v in body.items() if k in _REQUEST_FIELDS}
    if ("baseModel" in request) == ("preTunedModel" in request):
        raise invalid("Exactly one of baseModel or preTunedModel must be set.")
    if "baseModel" in request and base_model_id(request["baseModel"]) is None:
        raise invalid(f"Base model {request['baseModel']!r} is not supported for tuning. "
                      f"Supported base models: {', '.join(BASE_MODELS)}.")
    if "preTunedModel" in request and not isinstance(request["preTunedModel"], dict):
        raise invalid("preTunedModel must be an object with tunedModelName and optional checkpointId.")
    given = [key for key in methods.METHODS if key in request]
    if len(given) != 1:
        raise invalid(f"Exactly one of {', '.join(methods.METHODS)} must be set"
                      + (f"; got {', '.join(given)}." if given else "."))
    _check_spec(methods.METHODS[given[0]], request[given[0]])
    labels = request.get("labels") or {}
    if not isinstance(labels, dict) or len(labels) > 64:
        raise invalid("labels must be a map of at most 64 string keys to string values.")
    for key, value in labels.items():
        if not isinstance(value, str) or not _LABEL_KEY.match(key) or not _LABEL_VALUE.match(value):
            raise invalid(f"Label {key!r}={value!r} is invalid: keys start with a lowercase letter and hold at "
                          "most 63 lowercase letters, digits, '_' or '-'; values likewise, may be empty.")
    timeline.check_label(labels)
    if DURATION_LABEL in labels and not labels[DURATION_LABEL].isdigit():
        raise invalid(f"Label {DURATION_LABEL!r} must be a whole number of milliseconds.")
    return request


def _check_spec(method: methods.Method, spec: Any) -> None:
    """One method's spec: known fields, gs:// data URIs, a teacher for distillation, hyper-parameters."""
    name = method.spec
    if not isinstance(spec, dict):
        raise invalid(f"{name} must be an object.")
    for key in spec:
        if key not in method.fields:
            raise _unknown(f"{name}.{key}")
    data_field = next((f for f in method.dataset_fields if f in spec), method.dataset_fields[0])
    for key in (data_field, "validationDatasetUri"):
        uri = spec.get(key)
        if key == data_field or uri is not None:
            if not isinstance(uri, str) or not re.match(r"^gs://[^/]+/.+", uri):
                raise invalid(f"{name}.{key} must be a gs://BUCKET/OBJECT URI, got {uri!r}.")
    if method is methods.DISTILLATION:
        teachers = [k for k in ("baseTeacherModel", "tunedTeacherModelSource") if spec.get(k)]
        if len(teachers) != 1:
            raise invalid(f"{name}: exactly one of baseTeacherModel or tunedTeacherModelSource must be set.")
        teacher = spec.get("baseTeacherModel")
        if teacher and not re.match(r"^(projects/[^/]+/locations/[^/]+/)?(publishers/google/models/)?gemini-[\w.-]+$",
                                    str(teacher)):
            raise invalid(f"{name}.baseTeacherModel {teacher!r} is not a Gemini model that can teach.")
    spec["hyperParameters"] = _hyper_parameters(spec.get("hyperParameters") or {}, method)


def _hyper_parameters(hyper: Any, method: methods.Method = methods.SUPERVISED) -> dict[str, Any]:
    where = f"{method.spec}.hyperParameters"
    if not isinstance(hyper, dict):
        raise invalid(f"{where} must be an object.")
    for key in hyper:
        if key not in method.hyper:
            raise _unknown(f"{where}.{key}")
    out = dict(hyper)
    for key in ("beta", "sftLossWeightMultiplier"):
        if key in hyper:
            out[key] = finite(hyper[key], key)
            if out[key] < 0:
                raise invalid(f"{key} must not be negative, got {out[key]}.")
    try:
        epochs = int(hyper.get("epochCount", DEFAULT_EPOCHS))
    except (TypeError, ValueError):
        raise invalid("epochCount must be an integer.") from None
    multiplier = finite(hyper.get("learningRateMultiplier", 1.0), "learningRateMultiplier")
    if "learningRate" in hyper:
        out["learningRate"] = finite(hyper["learningRate"], "learningRate")
    if not 1 <= epochs <= 100:
        raise invalid(f"epochCount must be between 1 and 100, got {epochs}.")
    if multiplier <= 0:
        raise invalid(f"learningRateMultiplier must be greater than 0, got {multiplier}.")
    adapter = hyper.get("adapterSize", "ADAPTER_SIZE_FOUR")
    if adapter not in ADAPTER_SIZES:
        raise invalid(f"Invalid adapterSize {adapter!r}; expected one of {', '.join(ADAPTER_SIZES)}.")
    if "batchSize" in hyper:
        out["batchSize"] = int64(hyper["batchSize"])
    out.update(epochCount=int64(epochs), learningRateMultiplier=multiplier, adapterSize=adapter)
    return out


# -- list filter --------------------------------------------------------------------------------------
_FILTER_FIELDS = filters.spellings(
    "state", "baseModel", "tunedModelDisplayName", "description", "createTime", "updateTime", "endTime",
    aliases={"display_name": "tunedModelDisplayName", "displayName": "tunedModelDisplayName"},
)


def parse_filter(text: str) -> filters.Expression:
    """``labels.team="a" AND (state="JOB_STATE_RUNNING" OR state="JOB_STATE_QUEUED")``, as Vertex parses it."""
    return filters.parse(text, _FILTER_FIELDS)


def matches(job_view: dict[str, Any], expression: filters.Expression) -> bool:
    return filters.matches(expression, job_view.get, job_view.get("labels") or {})


def _token(job: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps([job["createTime"], job["name"]]).encode()).decode()


def _after(token: str) -> tuple[float, str]:
    try:
        created, name = json.loads(base64.urlsafe_b64decode(token.encode()))
        return float(created), str(name)
    except (ValueError, TypeError):
        raise invalid(f"Invalid pageToken {token!r}.") from None


# -- routes -------------------------------------------------------------------------------------------
def routes(ctx: Context) -> list[Any]:
    store, lifecycle, stats = ctx.store, ctx.lifecycle, ctx.stats
    cache: dict[tuple[str, str], tuple[Any, bytes]] = {}

    def find(request: Request) -> dict[str, Any]:
        name = f"{parent_of(request)}/tuningJobs/{request.path_params['id']}"
        job = store.jobs.get(name)
        if job is None:
            raise not_found(f'The TuningJob "{name}" does not exist.')
        return job

    async def create(request: Request) -> Response:
        parent = parent_of(request)
        body = validate_request(await read_json(request))
        pre = None
        if "preTunedModel" in body:
            pre = registry.resolve_pretuned(store, parent, body.pop("preTunedModel"))
        job = lifecycle.create(parent, body, pre)
        stats.jobs_created += 1
        return json_response(lifecycle.render(job, api_version(request)))

    async def get(request: Request) -> Response:
        job = find(request)
        now = time.time()
        state = await lifecycle.observe(job, now)
        version = api_version(request)
        key = (state, job["dataLoaded"], job["tunedModel"] is not None, job["cancelTime"])
        cached = cache.get((job["name"], version))
        if job.get("detailed"):  # sub-states and progress move within a state: render every time
            cached = (key, json.dumps(lifecycle.render(job, version, now), separators=(",", ":")).encode())
        elif cached is None or cached[0] != key:
            body = json.dumps(lifecycle.render(job, version, now), separators=(",", ":")).encode()
            cached = cache[(job["name"], version)] = (key, body)
        return Response(cached[1], media_type="application/json")

    async def list_jobs(request: Request) -> Response:
        params = request.query_params
        clauses = parse_filter(params.get("filter", ""))
        try:
            size = max(1, min(int(params.get("pageSize") or 100), 1000))
        except ValueError:
            raise invalid("pageSize must be an integer.") from None
        prefix = parent_of(request) + "/tuningJobs/"
        ordered = sorted((j for n, j in store.jobs.items() if n.startswith(prefix)),
                         key=lambda j: (j["createTime"], j["name"]), reverse=True)
        if params.get("pageToken"):
            after = _after(params["pageToken"])
            ordered = [j for j in ordered if (j["createTime"], j["name"]) < after]
        page: list[tuple[dict[str, Any], dict[str, Any]]] = []
        version, more, now = api_version(request), False, time.time()
        for job in ordered:
            await lifecycle.observe(job, now)
            view = lifecycle.render(job, version, now)
            if matches(view, clauses):
                if len(page) == size:
                    more = True
                    break
                page.append((job, view))
        body: dict[str, Any] = {"tuningJobs": [view for _, view in page]}
        if more:
            body["nextPageToken"] = _token(page[-1][0])
        return json_response(body)

    async def cancel(request: Request) -> Response:
        await lifecycle.cancel(find(request))
        return json_response({})

    return [
        *versioned("tuningJobs/{id}:cancel", cancel, "POST"),
        *versioned("tuningJobs", create, "POST"),
        *versioned("tuningJobs", list_jobs, "GET"),
        *versioned("tuningJobs/{id}", get, "GET"),
    ]
