"""Serving: ``generateContent``, ``streamGenerateContent`` (SSE) and ``countTokens``.

Three kinds of target, as the SDK addresses them: a tuned checkpoint's endpoint
(``.../endpoints/{id}``), a Model Registry version (``.../models/{id}@{version}``) and a Google base model
(``.../publishers/google/models/{name}``, or ``.../models/{name}`` when the SDK is given ``models/{name}``).
Tuned targets answer from what they learned (see learner.py); base models give a generic reply.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from airflow_tuning.emulator import checkpoints, proto_check, registry
from airflow_tuning.emulator.context import Context, api_version, parent_of, versioned
from airflow_tuning.emulator.learner import Learner, count_tokens, generic_reply
from airflow_tuning.emulator.wire import camelize, invalid, json_response, not_found, read_json, timestamp

STREAM_CHUNKS = 3


def prompt_text(body: dict[str, Any]) -> tuple[str, int]:
    """The user turns' text (what the learner matches on) and the prompt's token count."""
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise invalid("contents is required and must be a non-empty list.")
    user_texts, prompt_tokens = [], 0
    for index, content in enumerate(contents):
        if not isinstance(content, dict) or not isinstance(content.get("parts"), list) or not content["parts"]:
            raise invalid(f"contents[{index}] must be an object with a non-empty parts list.")
        text = " ".join(p["text"] for p in content["parts"] if isinstance(p, dict) and isinstance(p.get("text"), str))
        prompt_tokens += count_tokens(text)
        if content.get("role", "user") == "user":
            user_texts.append(text)
    system = body.get("systemInstruction")
    if isinstance(system, dict):
        prompt_tokens += sum(count_tokens(p.get("text", "")) for p in system.get("parts", []) if isinstance(p, dict))
    return "\n".join(user_texts), prompt_tokens


class Answerer:
    """Resolves a serving target to a reply function, caching one learner per endpoint."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def learner(self, endpoint: dict[str, Any]) -> Learner:
        learner = self.ctx.learners.get(endpoint["name"])
        if learner is None:
            examples: list[tuple[str, str]] = []
            for job_name, limit in endpoint["sources"]:
                examples.extend((u, m) for u, m in self.ctx.store.examples.get(job_name, [])[:limit])
            learner = self.ctx.learners[endpoint["name"]] = Learner(examples)
        return learner

    def tuned(self, endpoint: dict[str, Any], prompt: str) -> tuple[str, str]:
        answer = checkpoints.answer(self.learner(endpoint), prompt, endpoint.get("overfit", 0))
        base = endpoint["baseModel"].rsplit("/", 1)[-1]
        return (answer if answer is not None else generic_reply(base, prompt)), base

    def for_endpoint(self, parent: str, endpoint_id: str, prompt: str) -> tuple[str, str]:
        endpoint = self.ctx.store.endpoints.get(f"{parent}/endpoints/{endpoint_id}")
        if endpoint is None:
            raise not_found(f'The Endpoint "{parent}/endpoints/{endpoint_id}" does not exist.')
        return self.tuned(endpoint, prompt)

    def for_model(self, parent: str, model: str, prompt: str) -> tuple[str, str]:
        if "@" in model or model.isdigit():
            found, ref = registry.find_model(self.ctx.store, parent, f"models/{model}")
            version = registry.find_version(found, ref)
            return self.tuned(self.ctx.store.endpoints[registry.default_endpoint(version)], prompt)
        if not model.startswith("gemini-"):
            raise not_found(f"Publisher Model `{parent}/publishers/google/models/{model}` was not found "
                            "or your project does not have access to it.")
        return generic_reply(model, prompt), model


def _truncate(text: str, body: dict[str, Any]) -> tuple[str, str]:
    config = body.get("generationConfig") or {}
    limit = config.get("maxOutputTokens")
    words = text.split(" ")
    if isinstance(limit, int) and 0 < limit < len(words):
        return " ".join(words[:limit]), "MAX_TOKENS"
    return text, "STOP"


def _response(text: str, finish: str | None, model: str, usage: dict[str, int] | None,
              response_id: str, created: str) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}}
    if finish:
        candidate["finishReason"] = finish
    body: dict[str, Any] = {"candidates": [candidate], "modelVersion": model, "createTime": created,
                            "responseId": response_id}
    if usage is not None:
        body["usageMetadata"] = usage
    return body


def routes(ctx: Context) -> list[Any]:
    answerer = Answerer(ctx)

    async def reply(request: Request, kind: str) -> tuple[str, str, dict[str, Any], int]:
        raw = await read_json(request)
        proto_check.check(raw, "GenerateContentRequest", api_version(request))
        body = camelize(raw)
        prompt, prompt_tokens = prompt_text(body)
        parent, target = parent_of(request), request.path_params["id"]
        if kind == "endpoint":
            text, model = answerer.for_endpoint(parent, target, prompt)
        else:
            text, model = answerer.for_model(parent, target, prompt)
        ctx.stats.generate_calls += 1
        return text, model, body, prompt_tokens

    def usage(prompt_tokens: int, text: str) -> dict[str, int]:
        out = count_tokens(text)
        return {"promptTokenCount": prompt_tokens, "candidatesTokenCount": out,
                "totalTokenCount": prompt_tokens + out}

    def make_generate(kind: str) -> Any:
        async def generate(request: Request) -> Response:
            text, model, body, prompt_tokens = await reply(request, kind)
            text, finish = _truncate(text, body)
            return json_response(_response(text, finish, model, usage(prompt_tokens, text),
                                           uuid.uuid4().hex[:20], timestamp(time.time())))
        return generate

    def make_stream(kind: str) -> Any:
        async def stream(request: Request) -> Response:
            text, model, body, prompt_tokens = await reply(request, kind)
            text, finish = _truncate(text, body)
            words = text.split(" ")
            size = max(1, -(-len(words) // STREAM_CHUNKS))
            pieces = [" ".join(words[i:i + size]) + (" " if i + size < len(words) else "")
                      for i in range(0, len(words), size)]
            response_id, created = uuid.uuid4().hex[:20], timestamp(time.time())
            chunks = [
                _response(piece, finish if last else None, model, usage(prompt_tokens, text) if last else None,
                          response_id, created)
                for last, piece in ((i == len(pieces) - 1, p) for i, p in enumerate(pieces))
            ]
            if request.query_params.get("alt") != "sse":
                return json_response(chunks)

            async def frames() -> AsyncIterator[bytes]:
                for chunk in chunks:
                    yield b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\r\n\r\n"

            return StreamingResponse(frames(), media_type="text/event-stream")
        return stream

    def make_count(kind: str) -> Any:
        async def count(request: Request) -> Response:
            raw = await read_json(request)
            proto_check.check(raw, "CountTokensRequest", api_version(request))
            body = camelize(raw)
            _, prompt_tokens = prompt_text(body)
            parent, target = parent_of(request), request.path_params["id"]
            if kind == "endpoint":
                answerer.for_endpoint(parent, target, "")
            else:
                answerer.for_model(parent, target, "")
            return json_response({"totalTokens": prompt_tokens, "totalBillableCharacters": 0})
        return count

    found: list[Any] = []
    for kind, prefix in (("endpoint", "endpoints"), ("publisher", "publishers/google/models"),
                         ("model", "models")):
        found += versioned(f"{prefix}/{{id}}:generateContent", make_generate(kind), "POST")
        found += versioned(f"{prefix}/{{id}}:streamGenerateContent", make_stream(kind), "POST")
        found += versioned(f"{prefix}/{{id}}:countTokens", make_count(kind), "POST")
    return found
