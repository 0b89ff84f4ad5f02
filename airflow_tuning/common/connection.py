"""What a ``gemini_tuning`` connection holds, validated, with secrets kept out of every repr.

Pure Python: the hook reads the Airflow connection and hands its extras here, so the rules (which field is
required, which is secret, how a key file is read) are testable without Airflow and defined once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_tuning.common.names import check_project, check_segment
from airflow_tuning.common.retry import RetryPolicy

DEFAULT_LOCATION = "us-central1"
SECRET_FIELDS = frozenset({"keyfile_dict", "gemini_api_key"})


class ConnectionConfigError(ValueError):
    """A connection field is missing or malformed; the message names the field."""


def _secret(default: Any = None) -> Any:
    return field(default=default, repr=False)


@dataclass(frozen=True)
class ConnectionSettings:
    """Settings of one ``gemini_tuning`` connection."""

    conn_id: str
    project: str | None
    location: str = DEFAULT_LOCATION
    key_path: str | None = None
    keyfile_dict: dict[str, Any] | None = _secret()
    impersonation_chain: tuple[str, ...] = ()
    api_endpoint: str | None = None
    storage_endpoint: str | None = None
    gemini_api_key: str | None = _secret()
    gemini_api_endpoint: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: USD per 1M training tokens per base model, as given (JSON text or mapping); checked where prices are used.
    tuning_prices: Any = None
    # From a ``google_cloud_platform`` connection (see ``common.google_cloud``): a workload identity
    # federation config (file path, or its JSON), and OAuth scopes replacing the cloud-platform default.
    credential_config: str | dict[str, Any] | None = _secret()
    scopes: tuple[str, ...] = ()

    @property
    def is_emulated(self) -> bool:
        """An http:// endpoint is a local emulator or test double that needs no real credentials."""
        return bool(self.api_endpoint and self.api_endpoint.startswith("http://"))

    def require_project(self) -> str:
        if not self.project:
            raise ConnectionConfigError(
                f"Connection {self.conn_id!r}: field 'project' is required (the Google Cloud project id); "
                "without it google-genai silently sends every request to the endpoint root"
            )
        return self.project

    def service_account_info(self) -> dict[str, Any] | None:
        """The service-account key as a dict, from ``keyfile_dict`` or ``key_path``; None means ADC."""
        if self.keyfile_dict:
            return self.keyfile_dict
        if self.key_path:
            try:
                with open(self.key_path, encoding="utf-8") as fh:
                    info = json.load(fh)
            except OSError as err:
                raise ConnectionConfigError(
                    f"Connection {self.conn_id!r}: field 'key_path' names {self.key_path!r}, "
                    f"which cannot be read: {err.strerror}"
                ) from None
            except ValueError as err:
                raise ConnectionConfigError(
                    f"Connection {self.conn_id!r}: field 'key_path' file {self.key_path!r} is not valid JSON "
                    f"(line {getattr(err, 'lineno', '?')})"
                ) from None
            if not isinstance(info, dict):
                raise ConnectionConfigError(
                    f"Connection {self.conn_id!r}: field 'key_path' file {self.key_path!r} is not a JSON object"
                )
            return info
        return None

    @classmethod
    def from_extras(cls, conn_id: str, extras: Mapping[str, Any], *, password: str | None = None) -> ConnectionSettings:
        """Build settings from connection extras (plain or ``extra__gemini_tuning__`` prefixed keys)."""
        extras = _strip_prefix(extras)
        keyfile = extras.get("keyfile_dict")
        if isinstance(keyfile, str) and keyfile.strip():
            try:
                keyfile = json.loads(keyfile)
            except json.JSONDecodeError as err:
                raise ConnectionConfigError(
                    f"Connection {conn_id!r}: field 'keyfile_dict' is not valid JSON "
                    f"(line {err.lineno}, column {err.colno}: {err.msg})"
                ) from None
        if keyfile and not isinstance(keyfile, dict):
            raise ConnectionConfigError(f"Connection {conn_id!r}: field 'keyfile_dict' must be a JSON object")
        chain = extras.get("impersonation_chain") or ()
        if isinstance(chain, str):
            chain = tuple(part.strip() for part in chain.split(",") if part.strip())
        for name in ("api_endpoint", "storage_endpoint", "gemini_api_endpoint"):
            value = extras.get(name)
            if value and not str(value).startswith(("http://", "https://")):
                raise ConnectionConfigError(
                    f"Connection {conn_id!r}: field {name!r} must be an http:// or https:// URL, got {value!r}"
                )
        try:
            retry = RetryPolicy.from_extras(extras)
        except ValueError as err:
            raise ConnectionConfigError(f"Connection {conn_id!r}: {err}") from None
        try:  # both become part of every request path
            if extras.get("project"):
                check_project(str(extras["project"]), "field 'project'")
            if extras.get("location"):
                check_segment(str(extras["location"]), "field 'location'")
        except ValueError as err:
            raise ConnectionConfigError(f"Connection {conn_id!r}: {err}") from None
        settings = cls(
            conn_id=conn_id,
            project=extras.get("project") or os.environ.get("GOOGLE_CLOUD_PROJECT") or None,
            location=extras.get("location") or DEFAULT_LOCATION,
            key_path=extras.get("key_path") or None,
            keyfile_dict=keyfile or None,
            impersonation_chain=tuple(chain),
            api_endpoint=(extras.get("api_endpoint") or "").rstrip("/") or None,
            storage_endpoint=(extras.get("storage_endpoint") or "").rstrip("/") or None,
            gemini_api_key=extras.get("gemini_api_key") or password or None,
            gemini_api_endpoint=(extras.get("gemini_api_endpoint") or "").rstrip("/") or None,
            retry=retry,
            tuning_prices=extras.get("tuning_prices") or None,
        )
        return settings


def _strip_prefix(extras: Mapping[str, Any]) -> dict[str, Any]:
    prefix = "extra__gemini_tuning__"
    return {(k[len(prefix):] if k.startswith(prefix) else k): v for k, v in (extras or {}).items()}
