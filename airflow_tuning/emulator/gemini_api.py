"""Gemini Developer API tuning: ``v1beta/tunedModels`` (create, get, list, delete, generateContent) and the
create operation under ``v1/`` (and ``v1beta/``), as Google's Gemini API tuning tutorial uses them.

A create answers with an operation ``tunedModels/{id}/operations/{op}`` whose ``metadata.completedPercent``
grows with time; the tuned model is CREATING until the configured job duration has passed, then ACTIVE, and
the operation is ``done`` with the tuned model as its ``response``. ``operations/{op}:cancel`` stops a run:
the operation ends with ``error.code`` 1 (CANCELLED) and the model is FAILED, to be deleted. Examples the
tutorial's limits refuse (input over 40,000 characters, output over 5,000, missing or non-text fields) fail
the model shortly after the start, as a real run fails: FAILED, with the operation's ``error.message``
naming the example. An ACTIVE model answers ``generateContent`` from its examples (see learner.py).

Every call needs an API key (``x-goog-api-key`` header or ``?key=``) or a bearer token, else Google's 403;
the key is never stored or logged. Tuned models and their examples are stored under ``tunedModels/{id}``.
"""

from __future__ import annotations

import math
import re
import string
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from airflow_tuning.dataset.limits import PRESETS
from airflow_tuning.emulator.context import Context, TemplateRoute
from airflow_tuning.emulator.learner import Learner, count_tokens, generic_reply
from airflow_tuning.emulator.serving import prompt_text
from airflow_tuning.emulator.wire import (
    RPC_CANCELLED,
    RPC_INVALID_ARGUMENT,
    ApiError,
    camelize,
    failed_precondition,
    invalid,
    json_response,
    not_found,
    read_json,
    timestamp,
)

TUNABLE_BASE_MODELS = ("models/gemini-1.5-flash-001-tuning", "models/gemini-1.0-pro-001")
MAX_INPUT_CHARS = PRESETS["gemini-api"].max_input_chars or 40_000
MAX_OUTPUT_CHARS = PRESETS["gemini-api"].max_output_chars or 5_000
DEFAULTS = {"epochCount": 5, "batchSize": 4, "learningRate": 0.001}
METADATA_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.CreateTunedModelMetadata"
MODEL_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.TunedModel"
PREFIX = "tunedModels/"
MODEL_ID_RE = re.compile(r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$")
NO_IDENTITY = ("Method doesn't allow unregistered callers (callers without established identity). "
               "Please use API Key or other form of API consumer identity to call this API.")
_FIELDS = {"displayName", "description", "baseModel", "tuningTask", "temperature", "topP", "topK"}
_OUTPUT_ONLY = {"name", "state", "createTime", "updateTime"}
_TASK_FIELDS = {"hyperparameters", "trainingData"}
_HYPER_FIELDS = {"epochCount", "batchSize", "learningRate", "learningRateMultiplier"}
_ALPHABET = string.ascii_lowercase + string.digits


def require_identity(request: Request) -> None:
    """An API key (header or ``?key=``) or a bearer token, as Google requires; the value is not kept."""
    key = request.headers.get("x-goog-api-key")
    if key is None:
        key = request.query_params.get("key")
    if key is not None:
        if not key.strip():
            raise ApiError(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT")
        return
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        if not authorization[7:].strip():
            raise ApiError(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED")
        return
    raise ApiError(403, NO_IDENTITY, "PERMISSION_DENIED")


def _unknown(name: str) -> ApiError:
    return invalid(f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.')


def _check_object(value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"{where} must be an object.")
    for key in value:
        if key not in allowed:
            raise _unknown(f"{where}.{key}")
    return value


def _hyperparameters(value: Any) -> dict[str, Any]:
    hyper = _check_object(value or {}, "tuning_task.hyperparameters", _HYPER_FIELDS)
    if "learningRate" in hyper and "learningRateMultiplier" in hyper:
        raise invalid("learning_rate and learning_rate_multiplier are mutually exclusive (oneof).")
    out = dict(DEFAULTS)
    if "learningRateMultiplier" in hyper:
        out.pop("learningRate")
    try:
        for key in ("epochCount", "batchSize"):
            if key in hyper:
                out[key] = int(hyper[key])
        for key in ("learningRate", "learningRateMultiplier"):
            if key in hyper:
                out[key] = float(hyper[key])
    except (TypeError, ValueError):
        raise invalid("epoch_count and batch_size must be integers, learning_rate a number.") from None
    if out["epochCount"] < 1 or out["batchSize"] < 1:
        raise invalid(f"epoch_count and batch_size must be >= 1, got {out['epochCount']} and {out['batchSize']}.")
    for key in ("learningRate", "learningRateMultiplier"):
        if key in out and not 0 < out[key] < math.inf:
            raise invalid(f"{key} must be a finite number > 0, got {out[key]}.")
    return out


def example_problem(index: int, example: Any) -> str | None:
    """Why example ``index`` cannot be tuned on, in the words a failed run reports, or None."""
    where = f"Training example {index}"
    if not isinstance(example, dict):
        return f"{where} must be an object with text_input and output."
    for key in example:
        if key not in ("textInput", "output"):
            return f'{where} has an unknown field "{key}"; examples hold text_input and output only.'
    text_input, output = example.get("textInput"), example.get("output")
    if not isinstance(text_input, str) or not text_input:
        return f"{where} has no text_input."
    if not isinstance(output, str) or not output:
        return f"{where} has no output."
    if len(text_input) > MAX_INPUT_CHARS:
        return f"{where}: text_input has {len(text_input):,} characters; the limit is {MAX_INPUT_CHARS:,}."
    if len(output) > MAX_OUTPUT_CHARS:
        return f"{where}: output has {len(output):,} characters; the limit is {MAX_OUTPUT_CHARS:,}."
    return None


def validate_create(body: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """The checked request (camelCase) and its raw examples; structural errors are answered 400 at once."""
    body = camelize(body)
    for key in body:
        if key not in _FIELDS and key not in _OUTPUT_ONLY:
            raise _unknown(key)
    if "baseModel" not in body:
        raise invalid("base_model is required (tuning from another tuned model is not emulated).")
    if body["baseModel"] not in TUNABLE_BASE_MODELS:
        raise invalid(f"Base model {body['baseModel']!r} does not support tuning. "
                      f"Tunable models: {', '.join(TUNABLE_BASE_MODELS)}.")
    task = _check_object(body.get("tuningTask"), "tuning_task", _TASK_FIELDS)
    data = _check_object(task.get("trainingData"), "tuning_task.training_data", {"examples"})
    holder = _check_object(data.get("examples"), "tuning_task.training_data.examples", {"examples"})
    examples = holder.get("examples")
    if not isinstance(examples, list) or not examples:
        raise invalid("tuning_task.training_data.examples.examples must be a non-empty list of examples.")
    request = {k: v for k, v in body.items() if k in _FIELDS and k != "tuningTask"}
    request["hyperparameters"] = _hyperparameters(task.get("hyperparameters"))
    return request, examples


class TunedModels:
    """Creation, lifecycle by timestamps, rendering and serving of Developer-API tuned models."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.store = ctx.store

    # -- names ------------------------------------------------------------------------------------------
    def _suffix(self, size: int) -> str:
        return "".join(self.store.rng.choice(_ALPHABET) for _ in range(size))

    def _new_id(self, display_name: str | None) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", (display_name or "").lower()).strip("-")[:27].strip("-")
        while True:
            candidate = f"{slug or 'model'}-{self._suffix(12)}"
            if PREFIX + candidate not in self.store.models:
                return candidate

    def find(self, model_id: str) -> dict[str, Any]:
        model = self.store.models.get(PREFIX + model_id)
        if model is None:
            raise not_found(f"Tuned model {PREFIX}{model_id} does not exist.")
        return model

    # -- lifecycle ----------------------------------------------------------------------------------------
    def create(self, body: dict[str, Any], model_id: str | None) -> dict[str, Any]:
        request, examples = validate_create(body)
        if model_id is not None:
            if not MODEL_ID_RE.match(model_id):
                raise invalid(f"tuned_model_id {model_id!r} must match [a-z]([a-z0-9-]{{0,38}}[a-z0-9])?.")
            if PREFIX + model_id in self.store.models:
                raise ApiError(409, f"Tuned model {PREFIX}{model_id} already exists.", "ALREADY_EXISTS")
        name = PREFIX + (model_id or self._new_id(request.get("displayName")))
        problem = next((p for p in (example_problem(i, e) for i, e in enumerate(examples)) if p), None)
        now, duration = time.time(), self.ctx.config.job_duration
        hyper = request["hyperparameters"]
        model = {
            "name": name,
            "operation": f"{name}/operations/{self._suffix(12)}",
            "request": request,
            "examples": len(examples),
            "totalSteps": max(1, math.ceil(len(examples) * hyper["epochCount"] / hyper["batchSize"])),
            "createTime": now,
            "startTime": now + min(0.25 * duration, 2.0),
            "endTime": now + duration,
            "error": None if problem is None else {"code": RPC_INVALID_ARGUMENT, "message": problem},
        }
        self.store.models[name] = model
        if problem is None:
            self.store.examples[name] = [[e["textInput"], e["output"]] for e in examples]
        self.store.save()
        return model

    @staticmethod
    def state(model: dict[str, Any], now: float) -> str:
        if model["error"] is not None and (now >= model["startTime"] or model.get("cancelTime")):
            return "FAILED"
        return "ACTIVE" if now >= model["endTime"] and model["error"] is None else "CREATING"

    def cancel(self, model: dict[str, Any]) -> None:
        """``operations.cancel``: a run still CREATING stops; its operation ends with code 1 (CANCELLED)."""
        now = time.time()
        if self.state(model, now) != "CREATING":
            raise failed_precondition(f"Operation {model['operation']} is already done and cannot be cancelled.")
        model["cancelTime"] = now
        model["error"] = {"code": RPC_CANCELLED, "message": "Operation cancelled."}
        self.store.examples.pop(model["name"], None)
        self.store.save()

    def delete(self, model: dict[str, Any]) -> None:
        self.store.models.pop(model["name"], None)
        self.store.examples.pop(model["name"], None)
        self.ctx.learners.pop(model["name"], None)
        self.store.save()

    # -- rendering ----------------------------------------------------------------------------------------
    def render(self, model: dict[str, Any], now: float) -> dict[str, Any]:
        """The TunedModel resource (``trainingData`` is input-only and never returned)."""
        state = self.state(model, now)
        request = model["request"]
        task: dict[str, Any] = {"startTime": timestamp(model["startTime"]),
                                "hyperparameters": dict(request["hyperparameters"])}
        updated = model["createTime"]
        if state == "ACTIVE":
            updated = model["endTime"]
            task["completeTime"] = timestamp(updated)
            epochs = request["hyperparameters"]["epochCount"]
            task["snapshots"] = [
                {"step": math.ceil(model["totalSteps"] * epoch / epochs), "epoch": epoch,
                 "meanLoss": round(1.0 / (1 + epoch), 4),
                 "computeTime": timestamp(model["startTime"] + (updated - model["startTime"]) * epoch / epochs)}
                for epoch in range(1, epochs + 1)
            ]
        elif state == "FAILED":
            updated = model.get("cancelTime") or model["startTime"]
        out = {"name": model["name"], **{k: v for k, v in request.items() if k != "hyperparameters"},
               "state": state, "createTime": timestamp(model["createTime"]), "updateTime": timestamp(updated),
               "tuningTask": task}
        return out

    def operation(self, model: dict[str, Any], now: float) -> dict[str, Any]:
        """The create operation: progress in ``metadata``, then ``done`` with ``response`` or ``error``."""
        state = self.state(model, now)
        total = model["totalSteps"]
        fraction = 0.0
        stopped = min(now, model.get("cancelTime") or now)
        if stopped > model["startTime"]:
            fraction = min(1.0, (stopped - model["startTime"]) / max(model["endTime"] - model["startTime"], 1e-9))
        if state == "ACTIVE":
            fraction = 1.0
        metadata: dict[str, Any] = {"@type": METADATA_TYPE, "totalSteps": total, "tunedModel": model["name"]}
        steps = int(total * fraction)
        if steps:
            metadata["completedSteps"] = steps
        if state != "FAILED":
            metadata["completedPercent"] = round(100.0 * fraction, 2)
        out: dict[str, Any] = {"name": model["operation"], "metadata": metadata}
        if state == "ACTIVE":
            out.update(done=True, response={"@type": MODEL_TYPE, **self.render(model, now)})
        elif state == "FAILED":
            out.update(done=True, error=model["error"])
        return out

    # -- serving ------------------------------------------------------------------------------------------
    def answer(self, model: dict[str, Any], prompt: str) -> str:
        learner = self.ctx.learners.get(model["name"])
        if learner is None:
            pairs = self.store.examples.get(model["name"], [])
            learner = self.ctx.learners[model["name"]] = Learner([(u, m) for u, m in pairs])
        reply = learner.answer(prompt)
        base = model["request"]["baseModel"].rsplit("/", 1)[-1]
        return reply if reply is not None else generic_reply(base, prompt)


def generate_response(text: str, prompt_tokens: int, model_version: str) -> dict[str, Any]:
    """A Developer-API ``GenerateContentResponse``."""
    out = count_tokens(text)
    return {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": prompt_tokens, "candidatesTokenCount": out,
                          "totalTokenCount": prompt_tokens + out},
        "modelVersion": model_version,
    }


def _page(request: Request, items: list[Any]) -> tuple[list[Any], str | None]:
    params = request.query_params
    try:
        size = int(params.get("pageSize") or params.get("page_size") or 10)
        start = int(params.get("pageToken") or params.get("page_token") or 0)
    except ValueError:
        raise invalid("page_size and page_token must be integers.") from None
    size = max(1, min(size, 1000))
    return items[start:start + size], (str(start + size) if start + size < len(items) else None)


def routes(ctx: Context) -> list[Any]:
    models = TunedModels(ctx)

    def model_of(request: Request) -> dict[str, Any]:
        require_identity(request)
        return models.find(request.path_params["id"])

    async def create(request: Request) -> Response:
        require_identity(request)
        params = request.query_params
        model_id = params.get("tunedModelId", params.get("tuned_model_id"))
        model = models.create(await read_json(request), model_id)
        return json_response(models.operation(model, time.time()))

    async def get(request: Request) -> Response:
        return json_response(models.render(model_of(request), time.time()))

    async def delete(request: Request) -> Response:
        models.delete(model_of(request))
        return json_response({})

    async def list_models(request: Request) -> Response:
        require_identity(request)
        now = time.time()
        found = sorted((m for n, m in ctx.store.models.items() if n.startswith(PREFIX)),
                       key=lambda m: (m["createTime"], m["name"]))
        page, token = _page(request, [models.render(m, now) for m in found])
        body: dict[str, Any] = {"tunedModels": page}
        if token:
            body["nextPageToken"] = token
        return json_response(body)

    async def get_operation(request: Request) -> Response:
        model = model_of(request)
        name = f"{model['name']}/operations/{request.path_params['op']}"
        if name != model["operation"]:
            raise not_found(f"Operation {name} does not exist.")
        return json_response(models.operation(model, time.time()))

    async def cancel_operation(request: Request) -> Response:
        model = model_of(request)
        name = f"{model['name']}/operations/{request.path_params['op']}"
        if name != model["operation"]:
            raise not_found(f"Operation {name} does not exist.")
        models.cancel(model)
        return json_response({})

    async def list_operations(request: Request) -> Response:
        return json_response({"operations": [models.operation(model_of(request), time.time())]})

    async def generate(request: Request) -> Response:
        model = model_of(request)
        state = models.state(model, time.time())
        if state != "ACTIVE":
            raise failed_precondition(f"Tuned model {model['name']} is {state}; only ACTIVE models can serve.")
        prompt, prompt_tokens = prompt_text(camelize(await read_json(request)))
        ctx.stats.generate_calls += 1
        return json_response(generate_response(models.answer(model, prompt), prompt_tokens,
                                               model["request"]["baseModel"].rsplit("/", 1)[-1]))

    async def generate_base(request: Request) -> Response:
        require_identity(request)
        model = request.path_params["id"]
        if not model.startswith("gemini-"):
            raise not_found(f"models/{model} is not found for API version v1beta, or is not supported for "
                            "generateContent.")
        prompt, prompt_tokens = prompt_text(camelize(await read_json(request)))
        ctx.stats.generate_calls += 1
        return json_response(generate_response(generic_reply(model, prompt), prompt_tokens, model))

    found = [
        TemplateRoute("/v1beta/tunedModels/{id}:generateContent", generate, methods=["POST"]),
        TemplateRoute("/v1beta/models/{id}:generateContent", generate_base, methods=["POST"]),
        TemplateRoute("/v1beta/tunedModels", create, methods=["POST"]),
        TemplateRoute("/v1beta/tunedModels", list_models, methods=["GET"]),
    ]
    for version in ("v1", "v1beta"):
        operations = f"/{version}/tunedModels/{{id}}/operations"
        found += [
            TemplateRoute(f"{operations}/{{op}}:cancel", cancel_operation, methods=["POST"]),
            TemplateRoute(f"{operations}/{{op}}", get_operation, methods=["GET"]),
            TemplateRoute(operations, list_operations, methods=["GET"]),
        ]
    found += [
        TemplateRoute("/v1beta/tunedModels/{id}", get, methods=["GET"]),
        TemplateRoute("/v1beta/tunedModels/{id}", delete, methods=["DELETE"]),
    ]
    return found
