"""Make a checkpoint the default of its model version, before the version is promoted.

The default checkpoint is what calls on ``models/ID@VERSION`` (and so on ``@champion``) reach and what
continuous tuning from the version starts from. Promoting the best checkpoint therefore means: set the
version's ``defaultCheckpointId`` (``ModelService.UpdateModel`` with the mask ``default_checkpoint_id``,
the same field google-genai's ``models.update(config=UpdateModelConfig(default_checkpoint_id=...))``
sets), then move the alias. The previous default is returned so a rollback can restore it; when the
checkpoint already is the default nothing is written. A retry after the default was set but before the
alias moved would read the new default as "previous": with a ``state`` store (Airflow's
``task_state_store``) the first attempt records what it found, and retries report that.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from airflow_tuning.common.names import MODEL_FORM, parse_model_name
from airflow_tuning.evaluation.registry import PromotionError

NOT_SET = ("", "none", "null")
STATE_KEY = "default_checkpoint_before_promotion"


@dataclass(frozen=True)
class DefaultCheckpoint:
    checkpoint_id: str
    previous_checkpoint_id: str | None
    checkpoint_changed: bool

    def as_dict(self) -> dict[str, Any]:
        """The fields, plus the same ids under the names of the Model Registry field they describe."""
        return {**asdict(self), "default_checkpoint_id": self.checkpoint_id,
                "previous_default_checkpoint_id": self.previous_checkpoint_id}


def requested_checkpoint(value: Any) -> str | None:
    """The checkpoint id a (possibly templated) argument names, or None when it names none."""
    if value is None or (isinstance(value, str) and value.strip().lower() in NOT_SET):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise PromotionError(f"checkpoint_id must be a checkpoint id such as '3', got {value!r}")
    return str(value).strip()


def set_default_checkpoint(
    model_client: Any, model_name: str, checkpoint_id: str, *, retry: Any = None, state: Any = None
) -> DefaultCheckpoint:
    """Make ``checkpoint_id`` the default checkpoint of the version ``model_name`` names; idempotent."""
    from google.api_core import exceptions
    from google.cloud import aiplatform_v1
    from google.protobuf import field_mask_pb2

    try:
        parsed = parse_model_name(model_name, require_version=True)
    except ValueError as err:
        raise PromotionError(str(err)) from None
    kwargs = {"retry": retry} if retry is not None else {}
    try:
        model = model_client.get_model(name=parsed.name, **kwargs)
    except exceptions.NotFound as err:
        raise PromotionError(
            f"Cannot promote {parsed.name}: no such model or version ({err.message}); expected {MODEL_FORM}"
        ) from None
    known = [str(c.checkpoint_id) for c in model.checkpoints]
    if checkpoint_id not in known:
        raise PromotionError(
            f"checkpoint_id {checkpoint_id!r} does not exist in model {parsed.unversioned}@{model.version_id}; "
            f"its checkpoints are: {', '.join(known) or 'none'}"
        )
    found = model.default_checkpoint_id or None
    version = f"{parsed.unversioned}@{model.version_id}"
    recorded: Any = state.get(STATE_KEY) if state is not None else None
    same = isinstance(recorded, dict) and (recorded.get("version"), recorded.get("checkpoint")) == (
        version, checkpoint_id)
    if same:
        previous = recorded.get("previous")  # an earlier attempt of this task already set the default
    else:
        previous = found
        if state is not None:
            state.set(STATE_KEY, {"version": version, "checkpoint": checkpoint_id, "previous": previous or ""})
    previous = previous or None
    changed = previous != checkpoint_id
    if found != checkpoint_id:
        model_client.update_model(
            model=aiplatform_v1.Model(name=version, default_checkpoint_id=checkpoint_id),
            update_mask=field_mask_pb2.FieldMask(paths=["default_checkpoint_id"]),
            **kwargs,
        )
    return DefaultCheckpoint(checkpoint_id, previous, changed)
