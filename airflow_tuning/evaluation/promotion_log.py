"""Reading and writing promotion records on Model Registry versions, and the one-step rollback.

The record format is :mod:`airflow_tuning.evaluation.promotion_record`; this module does the registry calls
(``get_model``, ``update_model`` of ``version_description`` / ``default_checkpoint_id``,
``merge_version_aliases``) with google-cloud-aiplatform's ``ModelServiceClient``.

Order matters for the promises: a promotion writes its record on the new version *before* it moves the
alias, so a crash in between leaves a record on a version that does not hold the alias (harmless: rollback
reads only the current holder's record) rather than a moved alias with no record of the previous holder.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from airflow_tuning.common.names import MODEL_FORM, parse_model_name
from airflow_tuning.evaluation.promotion_record import (
    PROMOTION,
    ROLLBACK,
    PromotionEvent,
    append_event,
    evaluation_summary,
    parse_description,
    rollback_plan,
)
from airflow_tuning.evaluation.registry import PromotionError, alias_holder, validate_alias


def _kwargs(retry: Any) -> dict[str, Any]:
    return {"retry": retry} if retry is not None else {}


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def get_version(client: Any, name: str, *, retry: Any = None, action: str = "Cannot read") -> Any:
    from google.api_core import exceptions

    try:
        return client.get_model(name=name, **_kwargs(retry))
    except exceptions.NotFound as err:
        raise PromotionError(
            f"{action} {name}: no such model or version ({err.message}); expected {MODEL_FORM}"
        ) from None


def write_event(client: Any, versioned: str, event: PromotionEvent, *, retry: Any = None) -> None:
    """Append ``event`` to the version's description (the user's own text is kept)."""
    from google.cloud import aiplatform_v1

    current = get_version(client, versioned, retry=retry)
    description = append_event(current.version_description, event)
    client.update_model(
        model=aiplatform_v1.Model(name=versioned, version_description=description),
        update_mask={"paths": ["version_description"]},
        **_kwargs(retry),
    )


def set_default_checkpoint(client: Any, versioned: str, checkpoint_id: str, *, retry: Any = None) -> None:
    from google.cloud import aiplatform_v1

    client.update_model(
        model=aiplatform_v1.Model(name=versioned, default_checkpoint_id=str(checkpoint_id)),
        update_mask={"paths": ["default_checkpoint_id"]},
        **_kwargs(retry),
    )


def base_event(context: Any, *, by: str, approver: Any = None, reason: Any = None,
               evaluation: Any = None) -> PromotionEvent:
    """The run-level part of an event (who, why, which run, metrics); the registry part is filled in later."""
    ti = context["ti"] if context else None
    return PromotionEvent(
        kind=PROMOTION, alias="", model="", checkpoint_id=None, previous_model=None, previous_checkpoint_id=None,
        by=by, reason=str(reason) if reason not in (None, "") else None, at=now_iso(),
        dag_id=getattr(ti, "dag_id", None), run_id=getattr(ti, "run_id", None), task_id=getattr(ti, "task_id", None),
        approver=approver, evaluation=evaluation_summary(evaluation),
    )


def record_promotion(client: Any, model_name: str, alias: str, event: PromotionEvent, *,
                     retry: Any = None, holder_elsewhere: str | None = None) -> PromotionEvent | None:
    """Before the alias moves: record who/why and the current holder on the version being promoted.

    ``holder_elsewhere`` is the version holding the alias on another registry model of the same display
    name; it is recorded as the previous holder when no version of this model holds the alias.

    Returns the recorded event, or None when the alias already names that version (a rerun: the record
    written by the run that moved it stays as it is).
    """
    validate_alias(alias)
    try:
        parsed = parse_model_name(model_name, require_version=True)
    except ValueError as err:
        raise PromotionError(str(err)) from None
    target = get_version(client, parsed.name, retry=retry, action="Cannot promote")
    versioned = f"{parsed.unversioned}@{target.version_id}"
    holder = alias_holder(client, parsed.unversioned, alias, retry=retry)
    if holder == str(target.version_id):
        return None
    previous = f"{parsed.unversioned}@{holder}" if holder else holder_elsewhere
    previous_checkpoint = None
    if previous:
        previous_checkpoint = get_version(client, previous, retry=retry).default_checkpoint_id or None
    event = replace(event, kind=PROMOTION, alias=alias, model=versioned,
                    checkpoint_id=event.checkpoint_id or target.default_checkpoint_id or None,
                    previous_model=previous, previous_checkpoint_id=previous_checkpoint)
    write_event(client, versioned, event, retry=retry)
    return event


def rollback(client: Any, model: str, alias: str, event: PromotionEvent, *, retry: Any = None) -> dict[str, Any]:
    """Move ``alias`` back to the version and default checkpoint that held it before the last promotion.

    ``model`` is ``projects/P/locations/L/models/ID`` (a version or alias suffix is ignored). Idempotent: once
    rolled back, a rerun finds the rollback record on the holder and changes nothing. Raises
    ``NoEarlierHolder`` when nothing was recorded to go back to, ``PromotionError`` when no version holds
    the alias.
    """
    validate_alias(alias)
    unversioned = parse_model_name(model).unversioned
    from google.api_core import exceptions

    try:
        holder = client.get_model(name=f"{unversioned}@{alias}", **_kwargs(retry))
    except exceptions.NotFound:
        raise PromotionError(f"No version of {unversioned} holds {alias!r}: nothing to roll back") from None
    holder_name = f"{unversioned}@{holder.version_id}"
    _, events = parse_description(holder.version_description)
    plan = rollback_plan(holder_name, alias, events)
    result = {"alias": alias, "rolled_back_from": holder_name, "model": holder_name,
              "checkpoint_id": holder.default_checkpoint_id or None, "changed": False, "message": plan.message}
    if plan.done_already:
        return result
    assert plan.target_model is not None  # a plan that is not done already names its target
    target = get_version(client, plan.target_model, retry=retry, action="Cannot roll back to")
    target_name = f"{parse_model_name(plan.target_model).unversioned}@{target.version_id}"
    record = replace(event, kind=ROLLBACK, alias=alias, model=target_name, checkpoint_id=plan.checkpoint_id,
                     previous_model=holder_name, previous_checkpoint_id=holder.default_checkpoint_id or None)
    write_event(client, target_name, record, retry=retry)
    if plan.checkpoint_id and str(target.default_checkpoint_id) != str(plan.checkpoint_id):
        set_default_checkpoint(client, target_name, plan.checkpoint_id, retry=retry)
    client.merge_version_aliases(name=target_name, version_aliases=[alias], **_kwargs(retry))
    if not target_name.startswith(f"{unversioned}@"):  # another model of the same name: take it off here too
        client.merge_version_aliases(name=holder_name, version_aliases=[f"-{alias}"], **_kwargs(retry))
    return {**result, "model": target_name, "checkpoint_id": plan.checkpoint_id or target.default_checkpoint_id,
            "changed": True, "record": record.as_dict()}
