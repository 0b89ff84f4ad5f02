"""Continue from the champion, or bootstrap: the run-time decision of one tuning task.

``CreateTuningJobOperator(tuned_model_display_name=..., base_model=..., continue_from_alias="champion")``
asks, when it runs, which version of the logical model holds the alias. One does: continuous tuning from
that version (its default checkpoint), pinned as ``projects/P/locations/L/models/ID@VERSION`` so that the
job's lineage names the exact version. None does: tuning ``base_model``, which creates the registry model.

The decision is made before the request is fingerprinted, so the retry-identity label describes the job
actually sent. A retry must not decide again: the champion may have moved since the first try (its own
job succeeded and was promoted, or someone promoted by hand), and deciding anew would pay for a second
job. So an earlier job of the same task instance that is active or succeeded, and whose request label
matches this request resolved the way that job was, is adopted with its resolution. Only when there is
no such job is the registry asked.

On continuation the display name is left out of the request: Vertex AI then adds a new version to the
champion's registry model (its documented default); a display name could create a new model instead.
Pure Python apart from the clients passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_tuning.backends.vertex.champion import survey
from airflow_tuning.backends.vertex.jobs import list_jobs
from airflow_tuning.common.names import parse_model_name
from airflow_tuning.jobs.identity import REQUEST_LABEL, TASK_KEY_LABEL, JobRecord
from airflow_tuning.jobs.states import RESUBMITTABLE_STATES


@dataclass(frozen=True)
class Resolution:
    """``continued_from`` is the pinned version continued from, or None for a bootstrap."""

    continued_from: str | None
    reason: str

    def apply(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Operator request arguments with the source model filled in."""
        resolved = dict(values)
        if self.continued_from:
            resolved.update(pre_tuned_model=self.continued_from, base_model=None, tuned_model_display_name=None)
        else:
            resolved.update(pre_tuned_model=None, checkpoint_id=None)
        return resolved


def pinned_version(name: str, project: str, location: str) -> str | None:
    """``projects/{project}/locations/{location}/models/ID@VERSION`` from a registry name, or None.

    The registry may spell the project by number; the request uses the connection's project, as the
    fingerprint does.
    """
    try:
        parsed = parse_model_name(name, require_version=True)
    except ValueError:
        return None
    return f"projects/{project}/locations/{location}/models/{parsed.id}@{parsed.version}"


def resolution_of(job: Any, project: str, location: str) -> Resolution | None:
    """How an earlier job was resolved, read from the job itself."""
    pre = getattr(getattr(job, "pre_tuned_model", None), "tuned_model_name", None)
    if pre:
        pinned = pinned_version(str(pre), project, location)
        return Resolution(pinned, f"earlier job {job.name} continued from {pinned}") if pinned else None
    if getattr(job, "base_model", None):
        return Resolution(None, f"earlier job {job.name} bootstrapped from {job.base_model}")
    return None


def earlier_resolution(
    jobs: list[Any],
    values: Mapping[str, Any],
    fingerprint: Callable[[Mapping[str, Any]], str],
    project: str,
    location: str,
) -> Resolution | None:
    """The resolution of this task's newest usable earlier job whose request label it reproduces."""
    records = sorted(((JobRecord.from_job(j), j) for j in jobs), key=lambda pair: pair[0].create_time, reverse=True)
    for record, job in records:
        if record.state in RESUBMITTABLE_STATES:
            continue
        resolution = resolution_of(job, project, location)
        if resolution is None:
            continue
        try:
            same = fingerprint(resolution.apply(values)) == record.labels.get(REQUEST_LABEL)
        except ValueError:
            continue
        if same:
            return resolution
    return None


def fresh_resolution(
    model_client: Any, project: str, location: str, display_name: str, alias: str, *, retry: Any = None, log: Any
) -> Resolution:
    """Ask the registry: the one version of ``display_name`` holding ``alias``, else a bootstrap.

    Raises ``AmbiguousAliasError`` when several registry models of that name hold the alias.
    """
    logical = survey(model_client, f"projects/{project}/locations/{location}", display_name, alias, retry=retry)
    logical.note_duplicates(log)
    holder = logical.champion()
    if holder is not None:
        pinned = pinned_version(holder.name, project, location) or holder.name
        return Resolution(pinned, f"{holder.name} holds alias {alias!r} of {display_name!r}")
    what = "no registry model is" if not logical.models else f"no version of the {len(logical.models)} models is"
    return Resolution(None, f"{what} named {display_name!r} with alias {alias!r}")


def resolve_continuation(
    *,
    genai_client: Any,
    model_client: Any,
    project: str,
    location: str,
    task_key: str,
    values: Mapping[str, Any],
    display_name: str,
    alias: str,
    fingerprint: Callable[[Mapping[str, Any]], str],
    retry: Any = None,
    log: Any,
) -> Resolution:
    """Continue-or-bootstrap for one task instance: an earlier try's decision first, else the registry's."""
    mine = [
        job
        for job in list_jobs(genai_client, f'labels.{TASK_KEY_LABEL}="{task_key}"')
        if (getattr(job, "labels", None) or {}).get(TASK_KEY_LABEL) == task_key
    ]
    earlier = earlier_resolution(mine, values, fingerprint, project, location)
    if earlier is not None:
        log.info("Keeping an earlier try's decision: %s", earlier.reason)
        return earlier
    return fresh_resolution(model_client, project, location, display_name, alias, retry=retry, log=log)
