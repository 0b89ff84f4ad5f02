"""Promotion: point a Model Registry version alias (``champion``) at a tuned model version.

The alias is the hand-off between runs: the next continuous-tuning run starts from ``models/ID@champion``,
and evaluation compares against it. Moving it is one ``mergeVersionAliases`` call on the new version (Vertex
removes the alias from whichever version held it). The previous holder is read first and returned, so a
DAG can roll back by promoting it again, and a second run finds the alias already in place and changes
nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from airflow_tuning.common.names import MODEL_FORM, parse_model_name

# Vertex AI's documented alias pattern; digits-only strings are version ids, not aliases.
ALIAS_RE = re.compile(r"^[a-z][a-zA-Z0-9-]{0,126}[a-z0-9-]\Z")


class PromotionError(ValueError):
    """The model version to promote does not exist, or the alias is not a valid alias."""


@dataclass(frozen=True)
class Promotion:
    model: str
    alias: str
    version: str
    previous_version: str | None
    previous_model: str | None
    changed: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_alias(alias: str) -> str:
    if not isinstance(alias, str) or not ALIAS_RE.match(alias):
        raise PromotionError(
            f"Alias {alias!r} is not a valid Model Registry version alias: it must match {ALIAS_RE.pattern} "
            "(lowercase letter first, letters, digits and '-', at most 128 characters)"
        )
    return alias


def get_model(model_client: Any, name: str, retry: Any, *, missing: Callable[[str], Exception]) -> Any:
    """``get_model``, with a missing model, version or alias raised as ``missing(reason)``."""
    from google.api_core import exceptions

    kwargs = {"retry": retry} if retry is not None else {}
    try:
        return model_client.get_model(name=name, **kwargs)
    except exceptions.NotFound as err:
        raise missing(str(err.message)) from None


def alias_holder(model_client: Any, unversioned: str, alias: str, *, retry: Any = None) -> str | None:
    """The version id currently holding ``alias`` on a model, or None when no version holds it."""
    from google.api_core import exceptions

    kwargs = {"retry": retry} if retry is not None else {}
    try:
        return str(model_client.get_model(name=f"{unversioned}@{alias}", **kwargs).version_id)
    except exceptions.NotFound:
        return None


def promote(model_client: Any, model_name: str, alias: str = "champion", *, retry: Any = None) -> Promotion:
    """Give ``alias`` to the version ``model_name`` names (by id or by another alias); idempotent."""
    validate_alias(alias)
    try:
        parsed = parse_model_name(model_name, require_version=True)
    except ValueError as err:
        raise PromotionError(str(err)) from None
    kwargs = {"retry": retry} if retry is not None else {}
    model = get_model(
        model_client, parsed.name, retry,
        missing=lambda why: PromotionError(
            f"Cannot promote {parsed.name}: no such model or version ({why}); expected {MODEL_FORM}"
        ),
    )  # fmt: skip
    version = str(model.version_id)
    previous = alias_holder(model_client, parsed.unversioned, alias, retry=retry)
    changed = previous != version
    if changed:
        model_client.merge_version_aliases(name=f"{parsed.unversioned}@{version}", version_aliases=[alias], **kwargs)
    return Promotion(
        model=f"{parsed.unversioned}@{version}",
        alias=alias,
        version=version,
        previous_version=previous,
        previous_model=f"{parsed.unversioned}@{previous}" if previous else None,
        changed=changed,
    )
