"""A logical model: one display name, one champion; how it is named and how its jobs are labelled.

A logical model is named once, by the Model Registry display name of its tuned model
(``tuned_model_display_name``). Every tuning job submitted for it carries the label
``logical_model=<value>`` so that cancel-by-labels, cost reports and lineage can find all of them.

Label values follow Vertex AI's grammar (lowercase letters, digits, ``_`` and ``-``, at most 63
characters). A display name that already fits is used as it is (``support-triage``); any other is folded
(lowercased, other characters replaced by ``-``) and suffixed with a short hash of the original, so two
different display names never share a label value. Pure Python.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from airflow_tuning.common.names import check_display_name

MODEL_LABEL = "logical_model"
_VALUE_RE = re.compile(r"[a-z0-9_-]{1,63}\Z")
_HASH = 8


def validate_display_name(value: object, *, what: str = "tuned_model_display_name") -> str:
    """The display name of a logical model: non-blank text of at most 128 characters, no control chars."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must name the logical model (the Model Registry display name), got {value!r}")
    check_display_name(value, what)
    return value


def model_label_value(display_name: str) -> str:
    """The ``logical_model`` label value for a display name (see the module docstring)."""
    name = validate_display_name(display_name)
    if _VALUE_RE.match(name):
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:_HASH]
    folded = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")
    folded = folded[: 63 - _HASH - 1].rstrip("-")
    value = f"{folded}-{digest}" if folded else digest
    if not _VALUE_RE.match(value):  # cannot happen by construction; a guard for the grammar
        raise ValueError(f"Cannot fold display name {name!r} into a label value (got {value!r})")
    return value


def with_model_label(labels: Mapping[str, str] | None, display_name: str) -> dict[str, str]:
    """``labels`` plus ``logical_model``; a different user value for that key is an error."""
    merged = dict(labels or {})
    value = model_label_value(display_name)
    if merged.get(MODEL_LABEL, value) != value:
        raise ValueError(
            f"labels: {MODEL_LABEL}={merged[MODEL_LABEL]!r} contradicts tuned_model_display_name "
            f"{display_name!r} (its label value is {value!r}); drop that label, it is set for you"
        )
    merged[MODEL_LABEL] = value
    return merged
