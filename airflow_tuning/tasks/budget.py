"""The budget check a tuning operator runs before it submits anything, and the cost it adds to the summary.

The arithmetic and the rules live in :mod:`airflow_tuning.jobs.cost`; this module gathers the inputs with
the connection's clients: the training data's token count (from the manifest ``UploadDatasetOperator``
wrote next to the file, else a streaming read of the file), the base model (for continuous tuning, from the
tuned model's ``google-vertex-llm-tuning-base-model-id`` label in the Model Registry) and the price table
(shipped list prices, the connection's ``tuning_prices``, the operator's ``tuning_prices``).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_tuning.common.names import parse_gs_uri
from airflow_tuning.dataset.tokens import stream_tokens
from airflow_tuning.jobs.cost import (
    COST_ESTIMATE_XCOM_KEY,
    Estimate,
    PriceTable,
    actual_cost,
    check_budget,
    estimate,
    normalize_prices,
)

if TYPE_CHECKING:
    from airflow_tuning.hooks.tuning import GeminiTuningHook
    from airflow_tuning.jobs.request import TuningRequest

BASE_MODEL_LABEL = "google-vertex-llm-tuning-base-model-id"
MANIFEST = "manifest.json"


def price_table(hook: GeminiTuningHook, operator_prices: Any) -> PriceTable:
    """List prices, overridden by the connection's ``tuning_prices``, overridden by the operator's."""
    source = f"connection {hook.gcp_conn_id!r} tuning_prices"
    return PriceTable.build(
        (source, normalize_prices(hook.settings.tuning_prices, source=source)),
        ("operator tuning_prices", normalize_prices(operator_prices, source="tuning_prices")),
    )


def dataset_tokens(hook: GeminiTuningHook, training_uri: str, log: Any) -> tuple[int, str]:
    """(tokens, how they were counted) for the training file: the upload's manifest, else a streaming read."""
    from google.api_core import exceptions

    bucket_name, name = parse_gs_uri(training_uri, what="training_dataset_uri")
    bucket = hook.get_storage_client().bucket(bucket_name)
    retry = {"retry": hook.api_core_retry}
    manifest_name = posixpath.join(posixpath.dirname(name), MANIFEST)
    try:
        manifest = json.loads(bucket.blob(manifest_name).download_as_bytes(**retry))
    except (exceptions.NotFound, ValueError):
        manifest = None
    if isinstance(manifest, Mapping):
        train = (manifest.get("files") or {}).get("train") or {}
        tokens = manifest.get("estimated_training_tokens")
        if train.get("uri") == training_uri and isinstance(tokens, int):
            return tokens, f"UploadDatasetOperator's estimate in gs://{bucket_name}/{manifest_name}"
    log.info("Counting the tokens of %s (streaming read)", training_uri)
    try:
        with bucket.blob(name).open("rb") as stream:
            examples, tokens = stream_tokens(stream)
    except exceptions.NotFound:
        raise ValueError(f"training_dataset_uri {training_uri} does not exist: cannot estimate its cost") from None
    return tokens, f"streaming read of {training_uri}: {examples:,} examples, about 4 bytes per token"


def source_base_model(hook: GeminiTuningHook, request: TuningRequest) -> str | None:
    """The base model a request tunes: given, or the tuned model's base model from its registry label."""
    return request.base_model or registry_base_model(hook, request.pre_tuned_model)


def registry_base_model(hook: GeminiTuningHook, tuned_model: str | None) -> str | None:
    """The base model of a tuned model version, from its ``google-vertex-llm-tuning-base-model-id`` label."""
    if not tuned_model:
        return None
    from google.api_core import exceptions

    try:
        model = hook.get_model_service_client().get_model(name=tuned_model, retry=hook.api_core_retry)
    except exceptions.NotFound:
        return None
    label = dict(model.labels or {}).get(BASE_MODEL_LABEL)
    return label.replace("_", ".") if label else None


def enforce_budget(operator: Any, context: Any, request: TuningRequest | None) -> Estimate | None:
    """Estimate the job, fail (no job created) when over budget, else log and push the estimate.

    Returns None, without reading anything, when the operator has no budget. ``request`` is the Vertex AI
    tuning request; a service without one (the Gemini Developer API) has no price list to check against.
    """
    from airflow.sdk.exceptions import AirflowFailException

    if operator.max_billable_tokens in (None, "") and operator.max_cost_usd in (None, ""):
        return None
    if request is None:
        raise AirflowFailException(
            "max_billable_tokens and max_cost_usd apply to Vertex AI tuning (backend='vertex'), whose training "
            "tokens are priced; remove them for this service"
        )
    hook = operator.hook
    try:
        prices = price_table(hook, operator.tuning_prices)
        tokens, how = dataset_tokens(hook, request.training_dataset_uri, operator.log)
        est = estimate(
            base_model=source_base_model(hook, request), dataset_tokens=tokens, epochs=request.epoch_count,
            token_source=how, prices=prices, max_billable_tokens=operator.max_billable_tokens,
            max_cost_usd=operator.max_cost_usd,
        )
        check_budget(est)
    except ValueError as err:  # over budget, unknown price, bad budget value: retrying will not help
        raise AirflowFailException(str(err)) from None
    operator.log.info("Within budget: %s", est.explain())
    context["ti"].xcom_push(key=COST_ESTIMATE_XCOM_KEY, value=est.as_dict())
    return est


def with_cost(summary: dict[str, Any], hook: GeminiTuningHook, operator_prices: Any = None,
              est: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The summary plus ``cost`` (from the job's own tuningDataStats) and ``cost_estimate`` when known."""
    stats = summary.get("tuning_data_stats")
    if stats is None and est is None:
        return {**summary, "cost_estimate": None, "cost": None} if "cost" in summary else summary
    base = (est or {}).get("base_model") or summary.get("base_model")
    if base is None and stats is not None:
        try:
            base = registry_base_model(hook, summary.get("pre_tuned_model"))
        except Exception:  # the cost is informative; a registry hiccup must not fail a finished job
            base = None
    try:
        prices = price_table(hook, operator_prices)
    except Exception:  # a bad price override already failed the budget check; never fail a finished job here
        prices = PriceTable.build()
    out = dict(summary)
    out["cost"] = actual_cost(stats, base, prices)
    out["cost_estimate"] = dict(est) if est is not None else None
    return out
