"""Which endpoints answer for a model version: the selected checkpoints, or the default checkpoint.

``hook`` is anything with ``get_model_service_client()``, ``get_endpoint_service_client()`` and
``api_core_retry`` (the provider's hook); nothing here imports Airflow.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from airflow_tuning.evaluation.checkpoints import (
    LAST,
    Checkpoint,
    CheckpointError,
    VersionCheckpoints,
    list_checkpoints,
    parse_selection,
    select,
)
from airflow_tuning.evaluation.targets import Target


def _checkpoints_of(hook: Any, target: Target) -> VersionCheckpoints:
    return list_checkpoints(
        hook.get_model_service_client(),
        hook.get_endpoint_service_client(),
        target.model_version or target.requested,
        retry=hook.api_core_retry,
    )


def candidate_checkpoints(hook: Any, target: Target, value: Any) -> list[Checkpoint] | None:
    """The checkpoints ``value`` selects on ``target``; None for ``"last"`` (the target's own endpoint)."""
    selection = parse_selection(value)
    if selection == LAST:
        return None
    if target.kind != "model":
        raise CheckpointError(
            f"checkpoints={value!r} needs a Vertex AI Model Registry version as the model "
            f"(projects/P/locations/L/models/ID@VERSION); {target.requested!r} is a {target.kind.replace('_', ' ')}"
        )
    return select(_checkpoints_of(hook, target), selection)


def serve_default_checkpoint(hook: Any, target: Target) -> Target:
    """A model version is answered by its default checkpoint (the one promotion chose), as on Vertex AI."""
    if target.kind != "model":
        return target
    found = _checkpoints_of(hook, target)
    default = found.find(found.default_checkpoint_id) if found.default_checkpoint_id else None
    if default is None or not default.endpoint:
        return target
    return replace(target, serving=default.endpoint)
