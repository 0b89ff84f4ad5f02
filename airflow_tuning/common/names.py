"""Parsing and building Vertex AI resource names (pure, no SDK import).

Names are validated before any API call so that a typo fails in milliseconds with the expected form,
not after a queued request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

# One path segment: letters, digits, "-", "_" and single dots; never "/", "?", "#", "%", ":", "@", "..",
# whitespace or a newline, so that a name cannot add a path level, a query or a fragment to a request URL.
# Patterns end in \Z, not $ (which also matches before a trailing newline).
SEGMENT = r"[A-Za-z0-9](?:[A-Za-z0-9_-]|\.(?!\.)){0,127}"
PROJECT = rf"(?:[a-z0-9][a-z0-9.-]{{0,62}}:)?{SEGMENT}"  # a project id or number, or "domain.com:project"
_SEG = SEGMENT
# The full-name patterns are compiled on first use (about a millisecond together, which every DAG file would
# otherwise pay when it is parsed); ``TUNING_JOB_RE``, ``MODEL_RE`` and ``ENDPOINT_RE`` still name them.
_FULL_NAME_PATTERNS = {
    "TUNING_JOB_RE": rf"^projects/(?P<project>{PROJECT})/locations/(?P<location>{_SEG})/tuningJobs/(?P<id>{_SEG})\Z",
    "MODEL_RE": (
        rf"^projects/(?P<project>{PROJECT})/locations/(?P<location>{_SEG})/models/(?P<id>{_SEG})"
        rf"(?:@(?P<version>{_SEG}))?\Z"
    ),
    "ENDPOINT_RE": rf"^projects/(?P<project>{PROJECT})/locations/(?P<location>{_SEG})/endpoints/(?P<id>{_SEG})\Z",
}


@cache
def _full_name_re(name: str) -> re.Pattern[str]:
    return re.compile(_FULL_NAME_PATTERNS[name])


def __getattr__(name: str) -> Any:
    if name in _FULL_NAME_PATTERNS:
        return _full_name_re(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


SEGMENT_RE = re.compile(rf"{SEGMENT}\Z")
PROJECT_RE = re.compile(rf"{PROJECT}\Z")
# Vertex AI labels: keys start with a letter; both at most 63 lowercase letters, digits, "_" and "-".
LABEL_KEY_RE = re.compile(r"[a-z][a-z0-9_-]{0,62}\Z")
LABEL_VALUE_RE = re.compile(r"[a-z0-9_-]{0,63}\Z")
MAX_DISPLAY_NAME = 128  # Vertex AI's limit for display names (characters)

MODEL_FORM = "projects/{project}/locations/{location}/models/{model_id}@{version_id_or_alias}"
TUNING_JOB_FORM = "projects/{project}/locations/{location}/tuningJobs/{job_id}"
ENDPOINT_FORM = "projects/{project}/locations/{location}/endpoints/{endpoint_id}"


@dataclass(frozen=True)
class ResourceName:
    """A parsed ``projects/P/locations/L/<kind>/<id>[@version]`` name."""

    project: str
    location: str
    kind: str
    id: str
    version: str | None = None

    @property
    def name(self) -> str:
        base = f"projects/{self.project}/locations/{self.location}/{self.kind}/{self.id}"
        return f"{base}@{self.version}" if self.version else base

    @property
    def unversioned(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/{self.kind}/{self.id}"

    def __str__(self) -> str:
        return self.name


def _parse(pattern: re.Pattern[str], kind: str, form: str, value: str, what: str) -> ResourceName:
    match = pattern.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{what} {value!r} is not a valid resource name; expected {form}")
    groups = match.groupdict()
    return ResourceName(groups["project"], groups["location"], kind, groups["id"], groups.get("version"))


def check_segment(value: str, what: str) -> str:
    """``value`` if it is one safe path segment (an id, a location), else a ValueError naming ``what``."""
    if not isinstance(value, str) or not SEGMENT_RE.match(value):
        raise ValueError(
            f"{what} {value!r} is not a valid name: use 1-128 letters, digits, '-', '_' or single '.' "
            "(no '/', '?', '#', '..', spaces or newlines)"
        )
    return value


def check_project(value: str, what: str = "project") -> str:
    if not isinstance(value, str) or not PROJECT_RE.match(value):
        raise ValueError(
            f"{what} {value!r} is not a valid Google Cloud project id or number (letters, digits, '-'; "
            "no '/', '?', '#', spaces or newlines)"
        )
    return value


def check_display_name(value: str | None, what: str) -> str | None:
    """A display name of at most ``MAX_DISPLAY_NAME`` characters without control characters (None passes)."""
    if value is None:
        return None
    if len(value) > MAX_DISPLAY_NAME:
        raise ValueError(f"{what} is {len(value)} characters long; Vertex AI allows at most {MAX_DISPLAY_NAME}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError(f"{what} {value!r} contains a control character (such as a newline)")
    return value


def check_path(value: str, what: str) -> str:
    """A relative path of safe segments (``publishers/google/models/gemini-2.5-flash``), else a ValueError."""
    if not isinstance(value, str) or not all(SEGMENT_RE.match(part) for part in value.split("/")):
        raise ValueError(
            f"{what} {value!r} is not a valid model name: path segments of letters, digits, '-', '_' or single "
            "'.' (no '?', '#', '..', spaces or newlines)"
        )
    return value


def parse_tuning_job_name(value: str) -> ResourceName:
    return _parse(_full_name_re("TUNING_JOB_RE"), "tuningJobs", TUNING_JOB_FORM, value, "Tuning job name")


def parse_model_name(value: str, *, require_version: bool = False) -> ResourceName:
    """Parse a Model Registry name, optionally versioned by id or alias (``models/5@champion``)."""
    parsed = _parse(_full_name_re("MODEL_RE"), "models", MODEL_FORM, value, "Model name")
    if require_version and not parsed.version:
        raise ValueError(f"Model name {value!r} has no version or alias; expected {MODEL_FORM}")
    return parsed


def parse_endpoint_name(value: str) -> ResourceName:
    return _parse(_full_name_re("ENDPOINT_RE"), "endpoints", ENDPOINT_FORM, value, "Endpoint name")


def is_model_name(value: str) -> bool:
    return isinstance(value, str) and bool(_full_name_re("MODEL_RE").match(value.strip()))


def is_endpoint_name(value: str) -> bool:
    return isinstance(value, str) and bool(_full_name_re("ENDPOINT_RE").match(value.strip()))


_GS_RE = re.compile(r"^gs://(?P<bucket>[^/\s]+)(?:/(?P<path>.*))?$")


def parse_gs(uri: str, *, what: str = "URI", object_required: bool = True) -> tuple[str, str]:
    """The one ``gs://`` parser: ``gs://bucket/path`` -> ``("bucket", "path")``.

    With ``object_required`` (an object URI) the path must name an object; without it (a prefix) the path may
    be empty. Anything else is a ValueError naming ``what`` and the expected form.
    """
    match = _GS_RE.match(uri.strip()) if isinstance(uri, str) else None
    path = (match["path"] or "") if match else ""
    if object_required:
        if not match or not path or path[0].isspace():
            raise ValueError(f"{what} {uri!r} is not a Cloud Storage object URI; expected gs://bucket/path")
    elif not match:
        raise ValueError(f"{what} {uri!r} is not a Cloud Storage prefix; expected gs://bucket/path")
    return match["bucket"], path


def parse_gs_uri(uri: str, *, what: str = "URI") -> tuple[str, str]:
    """``gs://bucket/path/obj`` -> ``("bucket", "path/obj")``; anything else is a clear error."""
    return parse_gs(uri, what=what, object_required=True)


def parse_gs_prefix(uri: str, *, what: str = "URI") -> tuple[str, str]:
    """``gs://bucket`` or ``gs://bucket/some/prefix`` -> ``("bucket", "some/prefix")`` (path may be empty)."""
    return parse_gs(uri, what=what, object_required=False)
