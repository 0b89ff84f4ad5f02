"""The Model Registry side of a logical model: which models share its display name, who holds the alias.

Vertex AI keeps a version alias unique within one registry model only. A logical model may span several
registry models (a second bootstrap creates a new model with the same display name), so "one champion
per logical model" is kept here: ``survey`` finds every model of the display name and every version
holding the alias, and ``keep_alias_unique`` takes the alias off all of them but the promoted one.

google-api-core is imported inside functions; the Model Registry client is passed in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from airflow_tuning.common.names import parse_model_name
from airflow_tuning.evaluation.registry import alias_holder
from airflow_tuning.jobs.logical_model import validate_display_name


class AmbiguousAliasError(ValueError):
    """More than one registry model of one display name holds the alias: which one is meant is unclear."""


@dataclass(frozen=True)
class Holder:
    """A model version holding the alias: ``model`` is the unversioned registry name."""

    model: str
    version: str

    @property
    def name(self) -> str:
        return f"{self.model}@{self.version}"


@dataclass(frozen=True)
class LogicalModel:
    """What the registry holds for one display name and one alias."""

    display_name: str
    alias: str
    models: tuple[str, ...]
    holders: tuple[Holder, ...]

    def champion(self) -> Holder | None:
        """The one version holding the alias, None when none does; ambiguity is an error naming them."""
        if len(self.holders) > 1:
            names = ", ".join(h.name for h in self.holders)
            raise AmbiguousAliasError(
                f"{len(self.holders)} registry models named {self.display_name!r} hold the alias "
                f"{self.alias!r} ({names}), so which one to continue from is ambiguous. Keep it on one: "
                f"promote the right version with PromoteTunedModelOperator (it takes the alias off the "
                f"others), or remove it from the others with mergeVersionAliases ['-{self.alias}']."
            )
        return self.holders[0] if self.holders else None

    def note_duplicates(self, log: Any) -> None:
        """Say so in the log when several registry models share the display name."""
        if len(self.models) > 1:
            log.warning(
                "%d registry models are named %r: %s; %s",
                len(self.models),
                self.display_name,
                ", ".join(self.models),
                f"alias {self.alias!r} is on " + ", ".join(h.name for h in self.holders)
                if self.holders
                else f"none holds alias {self.alias!r}",
            )


def list_models_named(client: Any, parent: str, display_name: str, *, retry: Any = None) -> list[str]:
    """Unversioned names of the registry models whose display name is exactly ``display_name``."""
    validate_display_name(display_name, what="display name")
    escaped = display_name.replace("\\", "\\\\").replace('"', '\\"')
    kwargs = {"retry": retry} if retry is not None else {}
    models = client.list_models(request={"parent": parent, "filter": f'display_name="{escaped}"'}, **kwargs)
    names = {m.name.split("@", 1)[0] for m in models if m.display_name == display_name}
    return sorted(names)


def survey(client: Any, parent: str, display_name: str, alias: str, *, retry: Any = None) -> LogicalModel:
    """Every registry model named ``display_name`` under ``parent`` and the versions holding ``alias``."""
    models = list_models_named(client, parent, display_name, retry=retry)
    holders = []
    for model in models:
        version = alias_holder(client, model, alias, retry=retry)
        if version is not None:
            holders.append(Holder(model, version))
    return LogicalModel(display_name, alias, tuple(models), tuple(holders))


def holder_elsewhere(client: Any, promoted: str, alias: str, *, retry: Any = None) -> str | None:
    """The version holding ``alias`` on another registry model of ``promoted``'s display name, else None.

    A promotion records it as the previous holder when the alias is not on ``promoted``'s own model, so a
    rollback can go back across models of one logical model.
    """
    from google.api_core import exceptions

    try:
        parsed = parse_model_name(promoted, require_version=True)
        kwargs = {"retry": retry} if retry is not None else {}
        display_name = client.get_model(name=promoted, **kwargs).display_name
    except (ValueError, exceptions.NotFound):  # the promotion itself reports the bad or missing name
        return None
    if not display_name:
        return None
    parent = f"projects/{parsed.project}/locations/{parsed.location}"
    for holder in survey(client, parent, display_name, alias, retry=retry).holders:
        if holder.model.rsplit("/", 1)[-1] != parsed.id:
            return holder.name
    return None


def keep_alias_unique(
    client: Any, promoted: str, alias: str, *, retry: Any = None, log: Any = None
) -> list[Holder]:
    """Take ``alias`` off every other registry model sharing the display name of ``promoted``.

    ``promoted`` is ``projects/P/locations/L/models/ID@VERSION`` and already holds the alias (it is added
    first, then removed elsewhere: a crash in between leaves two holders, which the resolver refuses
    loudly, never zero, which would silently bootstrap). Returns the versions it was removed from.
    """
    log = log or logging.getLogger(__name__)
    parsed = parse_model_name(promoted, require_version=True)
    kwargs = {"retry": retry} if retry is not None else {}
    display_name = client.get_model(name=promoted, **kwargs).display_name
    if not display_name:
        return []
    parent = f"projects/{parsed.project}/locations/{parsed.location}"
    logical = survey(client, parent, display_name, alias, retry=retry)
    logical.note_duplicates(log)
    removed = []
    for holder in logical.holders:
        # Compare model ids: the registry may spell the project by number, the caller by id.
        if holder.model.rsplit("/", 1)[-1] == parsed.id:
            continue
        client.merge_version_aliases(name=holder.name, version_aliases=[f"-{alias}"], **kwargs)
        log.info("Removed alias %r from %s (same display name %r)", alias, holder.name, display_name)
        removed.append(holder)
    return removed


def with_previous_holder(promotion: dict[str, Any], removed: list[Holder]) -> dict[str, Any]:
    """A promotion result that also records a holder on another same-named model as the previous one.

    Rolling back is promoting ``previous_model`` again, wherever it lives. When the alias sat on this
    model too, that version stays the previous holder; removals elsewhere still count as a change.
    """
    result = dict(promotion)
    if removed and not result.get("previous_model"):
        result["previous_model"], result["previous_version"] = removed[0].name, removed[0].version
    result["changed"] = bool(result.get("changed")) or bool(removed)
    return result
