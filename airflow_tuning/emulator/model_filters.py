"""The ``filter`` of Model Registry's ``ListModels``: model id, display name, labels, base model, times.

As documented for ``ListModelsRequest.filter``: ``model`` (the id), ``display_name``, ``labels`` (map
functions), ``base_model_name``; plus the usual ``create_time`` / ``update_time`` comparisons. google-genai's
``models.list(config={"query_base": False})`` sends ``labels.tune-type:*``, which tuned models carry.
"""

from __future__ import annotations

from typing import Any

from airflow_tuning.emulator import filters

FIELDS = filters.spellings("model", "displayName", "baseModelName", "description", "createTime", "updateTime")


def parse(text: str) -> filters.Expression:
    return filters.parse(text, FIELDS)


def matches(expression: filters.Expression, view: dict[str, Any], base_model: str) -> bool:
    """``view`` is a rendered Model (see ``registry.render``), ``base_model`` what its version was tuned from."""
    def lookup(field: str) -> Any:
        if field == "model":
            return view["name"].rsplit("/", 1)[-1]
        if field == "baseModelName":
            return base_model.rsplit("/", 1)[-1]
        return view.get(field)

    return filters.matches(expression, lookup, view.get("labels") or {})
