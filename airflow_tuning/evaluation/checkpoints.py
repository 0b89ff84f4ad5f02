"""A tuned model version's checkpoints: which ones to evaluate, where each is served, which one is best.

Vertex AI exports one checkpoint per epoch (``Model.checkpoints``: id, epoch, step), each deployed to its
own endpoint; the endpoint's deployed model names the checkpoint it serves (``checkpointId``). The Model
Registry lists a version's checkpoints and endpoints separately, so the mapping is read from each
endpoint (one ``EndpointService.GetEndpoint`` per checkpoint). A version's *default* checkpoint is what
calls on ``models/ID@VERSION`` reach and what continuous tuning starts from.

The later checkpoint is not always the better one: late epochs overfit. :func:`best_index` chooses on
the primary metric; a tie goes to the earlier epoch (cheaper to have trained, and less overfit).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from airflow_tuning.common.names import parse_model_name

ALL = "all"
LAST = "last"


class CheckpointError(ValueError):
    """A checkpoint selection that names nothing evaluable: bad value, unknown id, no endpoint."""


@dataclass(frozen=True)
class Checkpoint:
    checkpoint_id: str
    epoch: int
    step: int
    endpoint: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class VersionCheckpoints:
    """A model version (``projects/P/locations/L/models/ID@V``), its checkpoints by epoch, its default."""

    version: str
    default_checkpoint_id: str | None
    checkpoints: list[Checkpoint]

    def find(self, checkpoint_id: str) -> Checkpoint | None:
        return next((c for c in self.checkpoints if c.checkpoint_id == checkpoint_id), None)

    def known(self) -> str:
        return ", ".join(c.checkpoint_id for c in self.checkpoints) or "none"


def parse_selection(value: Any) -> str | list[str]:
    """``"all"``, ``"last"`` or a list of checkpoint ids (a templated list literal or ``"1,3"`` too)."""
    if value is None or value == "":
        return LAST
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in (ALL, LAST):
            return text.lower()
        if text.startswith(("[", "(")):
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                raise CheckpointError(_bad(value)) from None
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
            if not all(part.isdigit() for part in value):  # "best", "latest": a typo, not an id
                raise CheckpointError(_bad(text))
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise CheckpointError(_bad(value))
    ids: list[str] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (str, int)) or not str(item).strip():
            raise CheckpointError(_bad(value))
        if str(item).strip() not in ids:
            ids.append(str(item).strip())
    return ids


def _bad(value: Any) -> str:
    return (f"checkpoints must be 'all', 'last' or a non-empty list of checkpoint ids such as ['2', '3'], "
            f"got {value!r}")


def list_checkpoints(
    model_client: Any, endpoint_client: Any, model_name: str, *, retry: Any = None
) -> VersionCheckpoints:
    """The version's checkpoints in epoch order, each with the endpoint serving it (None if not deployed)."""
    from google.api_core import exceptions

    kwargs = {"retry": retry} if retry is not None else {}
    parsed = parse_model_name(model_name)
    try:
        model = model_client.get_model(name=parsed.name, **kwargs)
    except exceptions.NotFound as err:
        raise CheckpointError(
            f"Model {parsed.name} does not exist (no such model, version or alias): {err.message}"
        ) from None
    version_id = str(model.version_id or parsed.version or "")
    served: dict[str, str] = {}
    for ref in model.deployed_models:
        if not ref.endpoint:
            continue
        endpoint = endpoint_client.get_endpoint(name=ref.endpoint, **kwargs)
        for deployed in endpoint.deployed_models:
            same_model = deployed.model.split("@", 1)[0] == parsed.unversioned
            same_version = not deployed.model_version_id or str(deployed.model_version_id) == version_id
            if deployed.checkpoint_id and same_model and same_version:
                served.setdefault(str(deployed.checkpoint_id), ref.endpoint)
    checkpoints = sorted(
        (Checkpoint(str(c.checkpoint_id), int(c.epoch), int(c.step), served.get(str(c.checkpoint_id)))
         for c in model.checkpoints),
        key=lambda c: (c.epoch, c.step, c.checkpoint_id),
    )
    return VersionCheckpoints(f"{parsed.unversioned}@{version_id}", model.default_checkpoint_id or None, checkpoints)


def select(found: VersionCheckpoints, selection: str | list[str]) -> list[Checkpoint]:
    """The checkpoints a selection names, in epoch order; each must exist and be served by an endpoint."""
    if not found.checkpoints:
        raise CheckpointError(
            f"Model {found.version} has no checkpoints to choose from (it was tuned without per-epoch checkpoints, "
            "e.g. with export_last_checkpoint_only); evaluate it with checkpoints='last'"
        )
    if selection == ALL:
        chosen = list(found.checkpoints)
    elif selection == LAST:
        chosen = [found.checkpoints[-1]]
    else:
        missing = [cid for cid in selection if found.find(cid) is None]
        if missing:
            raise CheckpointError(
                f"Checkpoint(s) {', '.join(missing)} do not exist in model {found.version}; "
                f"its checkpoints are: {found.known()}"
            )
        wanted = set(selection)
        chosen = [c for c in found.checkpoints if c.checkpoint_id in wanted]
    undeployed = [c.checkpoint_id for c in chosen if not c.endpoint]
    if undeployed:
        raise CheckpointError(
            f"Checkpoint(s) {', '.join(undeployed)} of model {found.version} are not deployed to any endpoint, "
            "so they cannot be evaluated"
        )
    return chosen


def best_index(values: Sequence[float], epochs: Sequence[int]) -> int:
    """Index of the highest value; a tie goes to the earlier epoch."""
    if not values:
        raise ValueError("no checkpoints were evaluated")
    return min(range(len(values)), key=lambda i: (-round(values[i], 9), epochs[i], i))
