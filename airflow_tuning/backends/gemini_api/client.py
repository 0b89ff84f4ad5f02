"""Gemini Developer API clients: tuned models over REST (sync and async), generation through google-genai.

google-genai's Developer-API ``tunings.tune`` (checked on 2.34) builds its request without
``tuningTask.trainingData`` (the converter's result is discarded) and drops ``learningRateMultiplier``;
``tunings.list`` raises ValueError and ``tunings.get`` cannot read a tuned model's state. So tuned models,
their operations and deletion go straight to the REST API here, with httpx, while ``generateContent`` on a
tuned model works through google-genai's own Developer-API client (:func:`build_gemini_api_genai_client`).

Each API call is written once, as a *plan*: a generator that yields :class:`Call` objects and receives their
decoded answers (or has the error thrown in). The synchronous and the asynchronous client differ only in how
they send a call, so both obey the same requests, the same error mapping and the one retry policy
(:class:`~airflow_tuning.common.retry.RetryPolicy`: its numbers drive tenacity, its ``is_retryable`` decides).
Errors are google-genai's ``ClientError``/``ServerError`` (``.code``, ``.status``, ``.message``), network
failures :class:`GeminiApiTransportError` (a ``ConnectionError``), so callers treat both backends alike.

The API key travels in the ``x-goog-api-key`` header only: never in a URL, a log line, an error or a repr.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from airflow_tuning.backends.gemini_api.jobs import is_operation_name, job_from_api, qualify_name
from airflow_tuning.common.connection import ConnectionConfigError, ConnectionSettings
from airflow_tuning.common.plans import arun_plan, run_plan
from airflow_tuning.common.retry import RetryPolicy

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://generativelanguage.googleapis.com"
#: Tuned models live under v1beta; their operations are read under v1 (the tutorial: "only on v1").
MODELS_VERSION = "v1beta"
OPERATIONS_VERSION = "v1"
REQUEST_TIMEOUT = 60.0
LIST_PAGE_SIZE = 100

Plan = Generator["Call", Any, Any]


class GeminiApiTransportError(ConnectionError):
    """The Gemini API could not be reached (connection refused, reset, timed out): worth a retry."""


@dataclass(frozen=True)
class Call:
    """One REST request: method, path below the endpoint, query parameters and JSON body."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    body: dict[str, Any] | None = None


def endpoint_of(settings: ConnectionSettings) -> str:
    """``gemini_api_endpoint``, else ``api_endpoint`` (one emulator serves both APIs), else Google's."""
    return (settings.gemini_api_endpoint or settings.api_endpoint or DEFAULT_ENDPOINT).rstrip("/")


def require_api_key(settings: ConnectionSettings) -> str:
    if not settings.gemini_api_key:
        raise ConnectionConfigError(
            f"Connection {settings.conn_id!r}: field 'gemini_api_key' is required for backend='gemini_api' "
            "(a Gemini API key from Google AI Studio; the connection's password works too)"
        )
    return settings.gemini_api_key


def _path(name: str) -> str:
    return quote(name, safe="/:")


# -- plans: every call written once --------------------------------------------------------------------
def plan_create(body: dict[str, Any], tuned_model_id: str | None = None) -> Plan:
    params = {"tunedModelId": tuned_model_id} if tuned_model_id else None
    return (yield Call("POST", f"{MODELS_VERSION}/tunedModels", params, body))


def plan_get_tuned_model(name: str) -> Plan:
    return (yield Call("GET", f"{MODELS_VERSION}/{_path(qualify_name(name))}"))


def plan_get_operation(name: str) -> Plan:
    return (yield Call("GET", f"{OPERATIONS_VERSION}/{_path(name)}"))


def plan_list_tuned_models(page_size: int = LIST_PAGE_SIZE, max_items: int | None = None) -> Plan:
    found: list[dict[str, Any]] = []
    token = None
    while True:
        params = {"pageSize": page_size, **({"pageToken": token} if token else {})}
        page = yield Call("GET", f"{MODELS_VERSION}/tunedModels", params)
        found.extend(page.get("tunedModels") or [])
        token = page.get("nextPageToken")
        if not token or (max_items is not None and len(found) >= max_items):
            return found if max_items is None else found[:max_items]


def plan_list_operations(tuned_model: str) -> Plan:
    page = yield Call("GET", f"{MODELS_VERSION}/{_path(qualify_name(tuned_model))}/operations")
    return page.get("operations") or []


def plan_delete(name: str) -> Plan:
    """Delete a tuned model; False when it was already gone (a retried clean-up is not an error)."""
    try:
        yield Call("DELETE", f"{MODELS_VERSION}/{_path(qualify_name(name))}")
    except Exception as err:
        if getattr(err, "code", None) == 404:
            return False
        raise
    return True


def plan_job(name: str) -> Plan:
    """The run as a tuning job: its operation while it tunes (one request per poll), the tuned model once
    the operation is done (the authoritative state), or the tuned model alone when given its name."""
    name = qualify_name(name)
    if not is_operation_name(name):
        return job_from_api(tuned_model=(yield from plan_get_tuned_model(name)))
    operation = yield from plan_get_operation(name)
    if not operation.get("done"):
        return job_from_api(operation)
    try:
        model = yield from plan_get_tuned_model(job_from_api(operation).tuned_model_name)
    except Exception as err:
        if getattr(err, "code", None) != 404 or not operation.get("error"):
            raise
        model = None  # a failed run whose model was deleted: the operation's error tells the story
    return job_from_api(operation, model)


def plan_cancel(name: str) -> Plan:
    """``operations.cancel`` on the run's operation (found by listing when given the tuned model).

    An operation that is already done is refused with 400 FAILED_PRECONDITION, as Vertex refuses to
    cancel an ended tuning job, so one cancel helper serves both backends.
    """
    name = qualify_name(name)
    if not is_operation_name(name):
        operation = yield from plan_find_operation(name)
        if operation is None:
            from google.genai import errors

            message = f"{name} has no tuning operation to cancel."
            errors.APIError.raise_error(400, {"error": {"code": 400, "status": "FAILED_PRECONDITION",
                                                        "message": message}}, None)
        name = operation["name"]
    yield Call("POST", f"{OPERATIONS_VERSION}/{_path(name)}:cancel", body={})
    return name


def plan_find_operation(tuned_model: str) -> Plan:
    """The tuning operation of a tuned model, or None when the service lists none."""
    operations = yield from plan_list_operations(tuned_model)
    return operations[-1] if operations else None


# -- transport ------------------------------------------------------------------------------------------
def _log_retry(policy: RetryPolicy, call: Call) -> Any:
    """The ``before_sleep`` hook of the shared retry loop: one line per retried call."""

    def before_sleep(state: Any) -> None:
        err = state.outcome.exception() if state.outcome else None
        log.info("Gemini API %s %s failed (attempt %d of %d), retrying in %.1fs: %s: %s", call.method, call.path,
                 state.attempt_number, policy.attempts, state.next_action.sleep if state.next_action else 0.0,
                 type(err).__name__, err)

    return before_sleep


def _decode(response: Any) -> dict[str, Any]:
    """The JSON answer, or google-genai's ``ClientError``/``ServerError`` carrying Google's error body."""
    try:
        payload = response.json() if response.content else {}
    except ValueError:
        payload = None
    if response.status_code == 200 and isinstance(payload, dict):
        return payload  # a done operation's own "error" field is data, not a failed call
    from google.genai import errors

    # A 200 that is not a JSON object comes from something in between (a proxy): retryable, like a 502.
    code = response.status_code if response.status_code != 200 else 502
    if not isinstance(payload, dict) or "error" not in payload:
        payload = {"error": {"code": code, "message": response.text[:500]}}
    # The response object is not attached: it holds the request, and the request holds the API key.
    errors.APIError.raise_error(code, payload, None)
    raise AssertionError("unreachable")


def _transport_error(call: Call, err: Exception) -> GeminiApiTransportError:
    return GeminiApiTransportError(f"{call.method} {call.path}: {type(err).__name__}: {err}")


class _Api:
    """The public calls, shared by both clients: each returns the plan's result (or an awaitable of it)."""

    endpoint: str
    _http_class: str  # httpx.Client or httpx.AsyncClient

    def __init__(self, api_key: str, endpoint: str = DEFAULT_ENDPOINT, retry: RetryPolicy | None = None,
                 timeout: float = REQUEST_TIMEOUT) -> None:
        import httpx

        self.endpoint = endpoint.rstrip("/")
        self.retry = retry or RetryPolicy()
        http_class = getattr(httpx, self._http_class)
        self._http = http_class(base_url=self.endpoint, headers={"x-goog-api-key": api_key}, timeout=timeout)

    def _run(self, plan: Plan) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self.endpoint!r})"

    @property
    def tunings(self) -> _Api:
        """``client.tunings.get(name=...)`` as on a google-genai client, so the same wait loop polls both."""
        return self

    def create_tuned_model(self, body: dict[str, Any], tuned_model_id: str | None = None) -> Any:
        """``tunedModels.create``: the long-running operation (``name``, ``metadata.tunedModel``)."""
        return self._run(plan_create(body, tuned_model_id))

    def get_tuned_model(self, name: str) -> Any:
        return self._run(plan_get_tuned_model(name))

    def get_operation(self, name: str) -> Any:
        return self._run(plan_get_operation(name))

    def list_tuned_models(self, page_size: int = LIST_PAGE_SIZE, max_items: int | None = None) -> Any:
        return self._run(plan_list_tuned_models(page_size, max_items))

    def find_operation(self, tuned_model: str) -> Any:
        return self._run(plan_find_operation(tuned_model))

    def delete_tuned_model(self, name: str) -> Any:
        return self._run(plan_delete(name))

    def cancel(self, *, name: str) -> Any:
        """Stop a run still tuning (``tunings.cancel`` as on google-genai); returns the operation name."""
        return self._run(plan_cancel(name))

    def get(self, *, name: str) -> Any:
        """The run as a :class:`~airflow_tuning.backends.gemini_api.jobs.GeminiApiTuningJob`."""
        return self._run(plan_job(name))

    get_job = get


class GeminiApiClient(_Api):
    """Synchronous Developer-API client (tuned models, operations)."""

    _http_class = "Client"

    def _send(self, call: Call) -> dict[str, Any]:
        import httpx

        for attempt in self.retry.retrying(before_sleep=_log_retry(self.retry, call)):
            with attempt:
                try:
                    response = self._http.request(call.method, call.path, params=call.params, json=call.body)
                except httpx.TransportError as err:
                    raise _transport_error(call, err) from None
                return _decode(response)
        raise AssertionError("unreachable")

    def _run(self, plan: Plan) -> Any:
        return run_plan(plan, self._send)

    def close(self) -> None:
        self._http.close()


class AsyncGeminiApiClient(_Api):
    """The same calls, awaited (triggers); bound to the event loop it was created on."""

    _http_class = "AsyncClient"

    async def _send(self, call: Call) -> dict[str, Any]:
        import httpx

        async for attempt in self.retry.aretrying(before_sleep=_log_retry(self.retry, call)):
            with attempt:
                try:
                    response = await self._http.request(call.method, call.path, params=call.params, json=call.body)
                except httpx.TransportError as err:
                    raise _transport_error(call, err) from None
                return _decode(response)
        raise AssertionError("unreachable")

    async def _run(self, plan: Plan) -> Any:
        return await arun_plan(plan, self._send)

    async def aclose(self) -> None:
        await self._http.aclose()


# -- builders (used by GeminiTuningHook) --------------------------------------------------------------------
def build_gemini_api_client(settings: ConnectionSettings) -> GeminiApiClient:
    return GeminiApiClient(require_api_key(settings), endpoint_of(settings), settings.retry)


def build_async_gemini_api_client(settings: ConnectionSettings) -> AsyncGeminiApiClient:
    return AsyncGeminiApiClient(require_api_key(settings), endpoint_of(settings), settings.retry)


def build_gemini_api_genai_client(settings: ConnectionSettings) -> Any:
    """A google-genai Developer-API client: ``models.generate_content(model="tunedModels/x", ...)``."""
    from google import genai
    from google.genai import types

    return genai.Client(
        api_key=require_api_key(settings),
        http_options=types.HttpOptions(
            base_url=endpoint_of(settings), retry_options=settings.retry.http_retry_options()
        ),
    )

