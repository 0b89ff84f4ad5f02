"""One adapter per tuning service, behind one interface (:class:`~airflow_tuning.backends.base.TuningService`).

``tuning_service("vertex")`` / ``tuning_service("gemini_api")`` (or an instance) is how a task chooses its
service, once. Importing this package imports no Google SDK.
"""

from __future__ import annotations

from typing import Any

from airflow_tuning.backends.base import TuningService
from airflow_tuning.backends.gemini_api.service import GeminiApiTuningService
from airflow_tuning.backends.vertex.service import VertexTuningService

SERVICES: dict[str, TuningService] = {
    VertexTuningService.name: VertexTuningService(),
    GeminiApiTuningService.name: GeminiApiTuningService(),
}
DEFAULT_SERVICE = SERVICES[VertexTuningService.name]
BACKENDS = tuple(SERVICES)


def tuning_service(value: Any = None) -> TuningService:
    """The service a task uses: a :class:`TuningService`, or its name (``vertex``, the default, or
    ``gemini_api``)."""
    if value is None:
        return DEFAULT_SERVICE
    if isinstance(value, TuningService):
        return value
    service = SERVICES.get(value) if isinstance(value, str) else None
    if service is None:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, got {value!r}")
    return service


def check_backend(value: Any) -> str:
    """The name of the service ``value`` chooses (kept for callers that hold names)."""
    return tuning_service(value).name


__all__ = ["BACKENDS", "DEFAULT_SERVICE", "SERVICES", "TuningService", "check_backend", "tuning_service"]
