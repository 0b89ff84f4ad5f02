"""Operator arguments as Airflow renders them: converters with errors that name the argument.

A value taken from Params or a form arrives as text (``"3"``, ``"true"``, ``"{'rouge_l': 0.6}"``) or blank
(None, ``""``). These converters accept the rendered spellings, and :func:`validate_unless_template` checks
a value when the DAG is parsed unless it is still a Jinja template (then it is checked once rendered).
Pure Python, no Airflow import.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from airflow_tuning.common.names import parse_gs_uri

T = TypeVar("T")
_NONE_WORDS = ("", "None", "none", "null")


def is_template(value: Any) -> bool:
    """True for a string (or a mapping or list holding one) that Airflow has not rendered yet."""
    if isinstance(value, str):
        return "{{" in value
    if isinstance(value, Mapping):
        return any(is_template(k) or is_template(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(is_template(v) for v in value)
    return False


def validate_unless_template(value: T, check: Callable[[T], Any]) -> T:
    """Run ``check(value)`` now (at DAG parse time) unless ``value`` is a template; return ``value``."""
    if value is not None and not is_template(value):
        check(value)
    return value


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def positive_int(name: str, value: Any) -> int | None:
    if is_blank(value):
        return None
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise ValueError(f"{name} must be a positive integer, got {value!r}") from None
    if isinstance(value, bool) or number < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return number


def positive_float(name: str, value: Any) -> float | None:
    if is_blank(value):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    if isinstance(value, bool) or not number > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return number


def optional_float(value: Any, name: str) -> float | None:
    """A number, or None for blank and ``"None"`` / ``"null"`` (how a rendered None reads)."""
    if value is None or (isinstance(value, str) and value.strip() in _NONE_WORDS):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or None, got {value!r}") from None


def boolean(name: str, value: Any) -> bool | None:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"{name} must be true or false, got {value!r}")


def mapping(value: Any, name: str) -> Mapping[str, Any]:
    """A templated mapping: rendered natively it is already a dict; rendered as text it is a literal."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise ValueError(f"{name} must be a mapping such as {{'rouge_l': 0.6}}, got {value!r}") from None
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a mapping such as {{'rouge_l': 0.6}}, got {value!r}")
    return value


def gcs_object_uri(name: str, value: Any, *, required: bool) -> str | None:
    """A ``gs://bucket/object`` argument, checked by the one ``gs://`` parser."""
    if is_blank(value):
        if required:
            raise ValueError(f"{name} is required (a gs://bucket/path.jsonl URI)")
        return None
    text = str(value).strip()
    parse_gs_uri(text, what=name)
    return text


def text_argument_problems(owner: Any, names: Iterable[str], *, optional: Iterable[str] = ()) -> list[str]:
    """One message per argument of ``owner`` in ``names`` that is not text (None allowed for ``optional``)."""
    allowed_none = set(optional)
    problems = []
    for name in names:
        value = getattr(owner, name, None)
        if isinstance(value, str) or (value is None and name in allowed_none):
            continue
        problems.append(
            f"{name} must be text, got {type(value).__name__} {value!r}"
            + (
                " (with render_template_as_native_obj=True a template rendering digits or a list becomes a "
                "number or a list: give text that is not a Python literal, or render this DAG's templates as text)"
                if value is not None
                else ""
            )
        )
    return problems
