"""The task side of continue-or-bootstrap for ``CreateTuningJobOperator``.

Checks the arguments when the DAG is parsed, and at run time asks the tuning service (which knows its
model registry, see ``backends/vertex/continuation.py``) to choose the source model. Errors name the
argument and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_tuning.backends.base import InvalidRequest, TaskRef, TuningService
from airflow_tuning.common.rendered import is_template
from airflow_tuning.evaluation.registry import PromotionError, validate_alias


def check_continue_arguments(
    *, service: TuningService, continue_from_alias: Any, display_name: Any, base_model: Any,
    pre_tuned_model: Any, checkpoint_id: Any,
) -> None:
    """``continue_from_alias`` needs the logical model's name and the bootstrap base model, and excludes
    a fixed ``pre_tuned_model`` (the alias chooses it) and ``checkpoint_id`` (the champion's default is used)."""
    if continue_from_alias is None:
        return
    if not service.model_registry:
        raise ValueError(
            f"continue_from_alias needs a service with a model registry (backend='vertex'); {service.name!r} has none"
        )
    if not is_template(continue_from_alias):
        try:
            validate_alias(continue_from_alias)
        except PromotionError as err:
            raise ValueError(f"continue_from_alias: {err}") from None
    if display_name is None:
        raise TypeError("continue_from_alias needs tuned_model_display_name: the logical model whose alias to follow")
    if base_model is None:
        raise TypeError("continue_from_alias needs base_model: what to tune when no version holds the alias yet")
    if pre_tuned_model is not None or checkpoint_id is not None:
        raise TypeError(
            "continue_from_alias chooses the model to continue from at run time: do not also give "
            "pre_tuned_model or checkpoint_id (use ContinueTuningOperator for a fixed model or checkpoint)"
        )


def choose_source(operator: Any, task: TaskRef, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The rendered arguments, with the source model chosen when ``continue_from_alias`` is set.

    Raises ``InvalidRequest`` (the task fails without retries) for a bad alias or an ambiguous champion.
    """
    alias = operator.continue_from_alias
    if alias is None or (isinstance(alias, str) and not alias.strip()):
        return dict(arguments)
    try:
        validate_alias(alias)
    except PromotionError as err:
        raise InvalidRequest(f"continue_from_alias: {err}") from None
    return operator.service.continue_or_bootstrap(arguments, task, operator.hook, alias=alias, log=operator.log)
