"""The Airflow side of continue-or-bootstrap for ``CreateTuningJobOperator``.

Checks the arguments when the DAG is parsed, and at run time turns them into request values: the
``logical_model`` label on every job of a named model, and (with ``continue_from_alias``) the source
model chosen by :mod:`airflow_tuning.logical_model.continuation`. Errors name the argument and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from airflow_tuning.evaluation.registry import PromotionError, validate_alias
from airflow_tuning.logical_model.continuation import resolve_continuation
from airflow_tuning.logical_model.names import with_model_label
from airflow_tuning.logical_model.registry import AmbiguousAliasError
from airflow_tuning.retry_identity import request_fingerprint, task_key
from airflow_tuning.tuning_request import TuningRequest


def _templated(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def check_continue_arguments(
    *, continue_from_alias: Any, display_name: Any, base_model: Any, pre_tuned_model: Any, checkpoint_id: Any,
    backend: str,
) -> None:
    """``continue_from_alias`` needs the logical model's name and the bootstrap base model, and excludes
    a fixed ``pre_tuned_model`` (the alias chooses it) and ``checkpoint_id`` (the champion's default is used)."""
    if continue_from_alias is None:
        return
    if backend != "vertex":
        raise ValueError("continue_from_alias needs backend='vertex': aliases live in the Vertex AI Model Registry")
    if not _templated(continue_from_alias):
        try:
            validate_alias(continue_from_alias)
        except PromotionError as err:
            raise ValueError(f"continue_from_alias: {err}") from None
    if display_name is None:
        raise TypeError("continue_from_alias needs tuned_model_display_name: the logical model whose alias to follow")
    if base_model is None:
        raise TypeError("continue_from_alias needs base_model: what to tune when no version holds the alias yet")
    if pre_tuned_model is not None or checkpoint_id is not None:
        raise TypeError(
            "continue_from_alias chooses the model to continue from at run time: do not also give "
            "pre_tuned_model or checkpoint_id (use ContinueTuningOperator for a fixed model or checkpoint)"
        )


def fingerprint_of(values: Mapping[str, Any]) -> str:
    """The retry-identity fingerprint of rendered request arguments."""
    return request_fingerprint(TuningRequest.build(**values).fingerprint_payload())


def request_values(operator: Any, context: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """Rendered request arguments with the logical-model label and, if asked, the resolved source model.

    Raises ``AirflowFailException`` (no retry would help) on bad values or an ambiguous champion.
    """
    resolved = dict(values)
    display_name = values.get("tuned_model_display_name")
    named = isinstance(display_name, str) and display_name.strip()
    try:
        if named:
            resolved["labels"] = with_model_label(values.get("labels"), display_name)
        alias = operator.continue_from_alias
        if alias is None or (isinstance(alias, str) and not alias.strip()):
            return resolved
        validate_alias(alias)
        if not named:
            raise ValueError("continue_from_alias needs tuned_model_display_name to render to the model's name")
        hook, ti = operator.hook, context["ti"]
        resolution = resolve_continuation(
            genai_client=hook.get_genai_client(),
            model_client=hook.get_model_service_client(),
            project=hook.project,
            location=hook.location,
            task_key=task_key(ti.dag_id, ti.task_id, ti.run_id, ti.map_index),
            values=resolved,
            display_name=display_name,
            alias=alias,
            fingerprint=fingerprint_of,
            retry=hook.api_core_retry,
            log=operator.log,
        )
    except AmbiguousAliasError as err:
        raise AirflowFailException(str(err)) from None
    except (ValueError, PromotionError) as err:
        raise AirflowFailException(f"Invalid tuning request: {err}") from None
    if resolution.continued_from:
        operator.log.info("Continuing %r from %s: %s", display_name, resolution.continued_from, resolution.reason)
    else:
        operator.log.info("Bootstrapping %r from %s: %s", display_name, values.get("base_model"), resolution.reason)
    return resolution.apply(resolved)
