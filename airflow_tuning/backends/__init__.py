"""One adapter per tuning service, behind one interface (:class:`~airflow_tuning.backends.base.TuningService`).

``tuning_service("vertex")`` / ``tuning_service("gemini_api")`` (or an instance) is how a task chooses its
service, once. The registry holds where each adapter lives, not the adapter: choosing ``vertex`` when a DAG is
parsed imports the Vertex AI adapter's thin service module only, never the other services. Importing this
package imports no Google SDK.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from airflow_tuning.backends.base import TuningService


class ServiceEntry:
    """Where one service's adapter lives; its one instance is built on first use. (A plain class: a frozen
    dataclass costs half a millisecond to define, which every DAG file would pay.)"""

    __slots__ = ("class_name", "module", "name")

    def __init__(self, name: str, module: str, class_name: str) -> None:
        self.name, self.module, self.class_name = name, module, class_name

    def __repr__(self) -> str:
        return f"ServiceEntry({self.name!r}, {self.module!r}, {self.class_name!r})"

    def load(self) -> TuningService:
        return _instance(self.module, self.class_name)


@cache
def _instance(module: str, class_name: str) -> TuningService:
    service: TuningService = getattr(importlib.import_module(module), class_name)()
    return service


#: Every service, by the name users pass as ``backend=`` (the first is the default).
REGISTRY: dict[str, ServiceEntry] = {
    entry.name: entry
    for entry in (
        ServiceEntry("vertex", "airflow_tuning.backends.vertex.service", "VertexTuningService"),
        ServiceEntry("gemini_api", "airflow_tuning.backends.gemini_api.service", "GeminiApiTuningService"),
    )
}
BACKENDS = tuple(REGISTRY)
DEFAULT_BACKEND = BACKENDS[0]


class _Services(Mapping[str, TuningService]):
    """``SERVICES["vertex"]``: the service object, its adapter imported when first looked up."""

    def __getitem__(self, name: str) -> TuningService:
        return REGISTRY[name].load()

    def __iter__(self) -> Iterator[str]:
        return iter(REGISTRY)

    def __len__(self) -> int:
        return len(REGISTRY)

    def __repr__(self) -> str:
        return f"SERVICES({', '.join(REGISTRY)})"


SERVICES: Mapping[str, TuningService] = _Services()


def tuning_service(value: Any = None) -> TuningService:
    """The service a task uses: a :class:`TuningService`, or its name (``vertex``, the default, or
    ``gemini_api``)."""
    if value is None:
        return REGISTRY[DEFAULT_BACKEND].load()
    if isinstance(value, TuningService):
        return value
    entry = REGISTRY.get(value) if isinstance(value, str) else None
    if entry is None:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, got {value!r}")
    return entry.load()


def check_backend(value: Any) -> str:
    """The name of the service ``value`` chooses (kept for callers that hold names)."""
    if value is None or (isinstance(value, str) and value in REGISTRY):
        return value or DEFAULT_BACKEND
    return tuning_service(value).name


def __getattr__(name: str) -> Any:
    """``DEFAULT_SERVICE`` (the Vertex AI service object), loaded on first use."""
    if name == "DEFAULT_SERVICE":
        return tuning_service(None)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "DEFAULT_SERVICE",
    "REGISTRY",
    "SERVICES",
    "ServiceEntry",
    "TuningService",
    "check_backend",
    "tuning_service",
]
