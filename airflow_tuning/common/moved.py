"""Old import paths of modules that moved into the layered packages, kept working for one release.

``import airflow_tuning.job_states`` (or ``from airflow_tuning.job_states import ...``) resolves to the very
module object now at ``airflow_tuning.jobs.states``, so patches and ``isinstance`` checks keep meaning the
same thing; a module that was split resolves to a module holding the names of its parts. The aliases are
served by a meta-path finder instead of stub files, so the package root keeps only the modules Airflow
itself loads. Pure Python, no Airflow import.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from typing import Any

#: old module path -> new module path, or the modules a split one now lives in (their names merged)
MOVED: dict[str, str | tuple[str, ...]] = {
    "airflow_tuning.console": "airflow_tuning.common.console",
    "airflow_tuning.resource_names": "airflow_tuning.common.names",
    "airflow_tuning.retry_policy": "airflow_tuning.common.retry",
    "airflow_tuning.connection_settings": "airflow_tuning.common.connection",
    "airflow_tuning.object_watermark": "airflow_tuning.common.watermark",
    "airflow_tuning.job_states": "airflow_tuning.jobs.states",
    "airflow_tuning.job_summary": "airflow_tuning.jobs.summary",
    "airflow_tuning.polling": "airflow_tuning.jobs.polling",
    "airflow_tuning.job_watch": ("airflow_tuning.jobs.watch", "airflow_tuning.backends.vertex.jobs"),
    "airflow_tuning.retry_identity": "airflow_tuning.jobs.identity",
    "airflow_tuning.tuning_request": "airflow_tuning.jobs.request",
    "airflow_tuning.gemini_api_jobs": (
        "airflow_tuning.backends.gemini_api.jobs", "airflow_tuning.jobs.progress", "airflow_tuning.backends",
    ),
    "airflow_tuning.gemini_api_examples": "airflow_tuning.backends.gemini_api.examples",
    "airflow_tuning.hooks.gemini_api": "airflow_tuning.backends.gemini_api.client",
}


class _Alias(importlib.abc.Loader):
    """Loads an old path by importing the new module and putting that very object in its place."""

    def __init__(self, target: str | tuple[str, ...]) -> None:
        self.target = target

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: Any) -> None:
        if isinstance(self.target, str):
            sys.modules[module.__name__] = importlib.import_module(self.target)
            return
        for name in reversed(self.target):  # the first module named wins
            part = importlib.import_module(name)
            module.__dict__.update({k: v for k, v in vars(part).items() if not k.startswith("__")})


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds the old paths listed in ``MOVED``; every other name is left to the normal finders."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        new = MOVED.get(fullname)
        if new is None:
            return None
        return importlib.util.spec_from_loader(fullname, _Alias(new))


def install() -> None:
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
