"""Errors about credentials that name the field and the problem, never a value.

google-auth's own error texts quote what they were given (a ``private_key`` given as a list of lines comes back
in full in ``ValueError: [...] could not be converted to bytes``), and the UI shows ``test_connection()``'s
text. So a service-account key is checked field by field here first, a google-auth error is reported by its
type only, and any other error text is scrubbed of the connection's secret values before it is shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

REQUIRED_KEY_FIELDS = ("client_email", "private_key", "token_uri")
REDACTED = "***"
_MIN_SECRET = 6  # shorter strings (a "type" value, a port) would redact ordinary words


def key_problem(info: Mapping[str, Any]) -> str | None:
    """What is wrong with a service-account key dict, naming the key's field and never its value."""
    kind = info.get("type")
    if kind is not None and kind != "service_account":
        return "its field 'type' must be 'service_account'"
    for name in REQUIRED_KEY_FIELDS:
        value = info.get(name)
        if value is None or value == "":
            return f"its field {name!r} is missing"
        if not isinstance(value, str):
            return f"its field {name!r} must be a string, got a {type(value).__name__}"
    if "-----BEGIN" not in info["private_key"] or "PRIVATE KEY-----" not in info["private_key"]:
        return "its field 'private_key' is not a PEM private key (as in the key file Google Cloud gives you)"
    return None


def secret_strings(values: Iterable[Any]) -> set[str]:
    """Every string inside ``values`` (nested dicts and lists too), and each line of it, long enough to redact."""
    found: set[str] = set()
    stack = list(values)
    while stack:
        value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
        elif isinstance(value, str):
            for part in (value, *value.splitlines()):
                if len(part.strip()) >= _MIN_SECRET:
                    found.add(part.strip())
    return found


def scrub(text: str, secrets: Iterable[Any]) -> str:
    """``text`` with every secret string (and each of its lines, raw or escaped as in a repr) replaced."""
    for secret in sorted(secret_strings(secrets), key=len, reverse=True):
        for form in (secret, secret.encode("unicode_escape").decode("ascii", "replace")):
            text = text.replace(form, REDACTED)
    return text
