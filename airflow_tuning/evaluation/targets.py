"""What a model reference means, and the name to call ``generateContent`` on.

Accepted references:

* an endpoint, ``projects/P/locations/L/endpoints/E`` (or ``endpoints/E`` in the connection's project);
* a Model Registry version, ``projects/P/locations/L/models/ID@VERSION_OR_ALIAS`` (or ``models/ID@...``),
  resolved through ``ModelServiceClient.get_model`` to the endpoint it is deployed on; ``@champion``
  therefore means "whatever the champion is right now". When several endpoints serve the version (one
  per exported checkpoint, listed in epoch order) the last one, the final epoch's, is used; pass an
  endpoint to evaluate another checkpoint;
* a base model, ``gemini-2.5-flash`` or ``publishers/google/models/gemini-2.5-flash``, called by name.

Short ``endpoints/E`` names are expanded here because google-genai turns them into a publisher model path.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from airflow_tuning.common.names import (
    check_path,
    is_endpoint_name,
    is_model_name,
    parse_endpoint_name,
    parse_model_name,
)


class ModelResolutionError(ValueError):
    """A model reference names nothing that can answer: unknown model/version, or not deployed."""


@dataclass(frozen=True)
class Target:
    """A resolved model reference: what the user asked for and the name calls go to."""

    requested: str
    serving: str
    kind: str  # "endpoint" | "model" | "base_model"
    model_version: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def qualify(value: str, project: str, location: str) -> str:
    """Expand ``models/...`` and ``endpoints/...`` to full resource names in the connection's project."""
    value = value.strip()
    if value.startswith(("models/", "endpoints/")):
        return f"projects/{project}/locations/{location}/{value}"
    return value


def resolve_target(value: str, *, project: str, location: str, model_client: Any = None, retry: Any = None) -> Target:
    """Resolve a reference to a :class:`Target`; a Model Registry name needs ``model_client``."""
    if not isinstance(value, str) or not value.strip():
        raise ModelResolutionError(f"A model reference must be a non-empty string, got {value!r}")
    name = qualify(value, project, location)
    if is_endpoint_name(name):
        return Target(value, parse_endpoint_name(name).name, "endpoint")
    if is_model_name(name):
        if model_client is None:
            raise ModelResolutionError(f"Resolving {value!r} needs a Model Registry client")
        return _resolve_model(value, name, model_client, retry)
    if name.startswith("projects/") and "/publishers/" not in name:
        raise ModelResolutionError(
            f"{value!r} is neither an endpoint (projects/P/locations/L/endpoints/E), a Model Registry "
            "version (projects/P/locations/L/models/ID@VERSION) nor a base model (gemini-2.5-flash)"
        )
    try:
        check_path(name, "Base model")
    except ValueError as err:
        raise ModelResolutionError(str(err)) from None
    return Target(value, name, "base_model")


def _resolve_model(requested: str, name: str, model_client: Any, retry: Any) -> Target:
    from airflow_tuning.evaluation.registry import get_model

    parsed = parse_model_name(name)
    model = get_model(
        model_client, parsed.name, retry,
        missing=lambda why: ModelResolutionError(
            f"Model {parsed.name} does not exist (no such model, version or alias): {why}"
        ),
    )  # fmt: skip
    deployed = [d.endpoint for d in model.deployed_models if d.endpoint]
    version = model.version_id or parsed.version
    if not deployed:
        raise ModelResolutionError(
            f"Model {parsed.unversioned}@{version} is not deployed to any endpoint, so it cannot be evaluated; "
            "deploy it, or pass its endpoint instead"
        )
    return Target(requested, parse_endpoint_name(deployed[-1]).name, "model", f"{parsed.unversioned}@{version}")
