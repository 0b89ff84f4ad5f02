"""A ``google_cloud_platform`` connection (the Google provider's ``google_cloud_default``) read as ours.

Deployments on Google Cloud already hold such a connection; the hook accepts it as ``gcp_conn_id`` and maps
its fields onto :class:`~airflow_tuning.common.connection.ConnectionSettings` here, without importing
apache-airflow-providers-google. Each field is read plain or with the ``extra__google_cloud_platform__``
prefix (the plain spelling wins when both are set, as in the Google provider):

- ``project`` -> ``project`` (else the key's ``project_id``, else ``GOOGLE_CLOUD_PROJECT``)
- ``key_path`` / ``keyfile_dict`` -> the same (mutually exclusive); ``credential_config_file`` (a path or
  the JSON of a workload identity federation config) -> ``credential_config``
- ``scope`` (comma-separated) -> ``scopes``; ``impersonation_chain`` -> the same; ``num_retries`` ->
  ``retry_attempts`` (one first try plus that many retries)
- ``location``: the hook's (the task's) ``location`` argument, else a ``location`` extra, else
  ``us-central1``. Our other fields (``api_endpoint``, ``storage_endpoint``, ``retry_*``) work here too.

``key_secret_name`` (a key in Secret Manager) needs the Google provider's secret client: it is refused with
an error naming the field rather than silently falling back to other credentials.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from airflow_tuning.common.connection import ConnectionConfigError, ConnectionSettings

CONN_TYPE = "google_cloud_platform"
PREFIX = f"extra__{CONN_TYPE}__"
UNSUPPORTED = {
    "key_secret_name": "a key in Secret Manager is not read by this provider; give key_path or keyfile_dict, "
    "use Application Default Credentials, or use a gemini_tuning connection",
}


def plain_fields(extras: Mapping[str, Any] | None) -> dict[str, Any]:
    """Extras with the ``extra__google_cloud_platform__`` prefix removed; plain keys win; blanks dropped."""
    fields: dict[str, Any] = {}
    for key, value in (extras or {}).items():
        if key.startswith(PREFIX) and value not in (None, ""):
            fields.setdefault(key[len(PREFIX):], value)
    for key, value in (extras or {}).items():
        if not key.startswith(PREFIX) and value not in (None, ""):
            fields[key] = value
    return fields


def settings_from_google_cloud(
    conn_id: str, extras: Mapping[str, Any] | None, *, location: str | None = None
) -> ConnectionSettings:
    """Our settings from a ``google_cloud_platform`` connection's extras; errors name the field."""
    fields = plain_fields(extras)
    where = f"Connection {conn_id!r} ({CONN_TYPE})"
    for name, reason in UNSUPPORTED.items():
        if name in fields:
            raise ConnectionConfigError(f"{where}: field {name!r} is not supported: {reason}")
    if fields.get("key_path") and fields.get("keyfile_dict"):
        raise ConnectionConfigError(
            f"{where}: fields 'key_path' and 'keyfile_dict' are mutually exclusive; keep one of them"
        )
    mapped = {k: v for k, v in fields.items() if k not in ("scope", "num_retries", "credential_config_file")}
    if "num_retries" in fields and "retry_attempts" not in fields:
        try:
            mapped["retry_attempts"] = int(fields["num_retries"]) + 1
        except (TypeError, ValueError):
            raise ConnectionConfigError(
                f"{where}: field 'num_retries' must be a whole number, got {fields['num_retries']!r}"
            ) from None
    if location:
        mapped["location"] = location
    settings = ConnectionSettings.from_extras(conn_id, mapped)
    scopes = fields.get("scope") or ()
    if isinstance(scopes, str):
        scopes = [part.strip() for part in scopes.split(",")]
    settings = dataclasses.replace(
        settings,
        scopes=tuple(s for s in scopes if s),
        credential_config=_credential_config(where, fields.get("credential_config_file")),
    )
    if not settings.project:
        settings = dataclasses.replace(settings, project=_key_project(settings))
    return settings


def _credential_config(where: str, value: Any) -> str | dict[str, Any] | None:
    """A path stays a path; JSON text or an object is checked to be a JSON object (content never quoted)."""
    if value is None or isinstance(value, dict):
        return value
    text = str(value).strip()
    if not text.startswith("{"):
        return text
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConnectionConfigError(
            f"{where}: field 'credential_config_file' is not valid JSON (line {err.lineno}, column {err.colno})"
        ) from None
    if not isinstance(parsed, dict):
        raise ConnectionConfigError(f"{where}: field 'credential_config_file' must be a JSON object")
    return parsed


def _key_project(settings: ConnectionSettings) -> str | None:
    """The service-account key's ``project_id``, as the Google provider falls back to the credentials'."""
    info = settings.service_account_info() if (settings.keyfile_dict or settings.key_path) else None
    project = (info or {}).get("project_id")
    return str(project) if project else None
