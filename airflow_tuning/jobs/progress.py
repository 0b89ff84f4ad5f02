"""Progress lines for runs that report a completed percentage (the Gemini Developer API does).

Pure Python: works around a sync or an async tunings client alike.
"""

from __future__ import annotations

import inspect
from typing import Any


class ProgressLog:
    """Wraps a client's ``tunings`` so that every fetched run whose progress changed is logged.

    Works around a sync or an async client alike (the same wait loops drive both); jobs without progress
    (Vertex AI) pass through untouched.
    """

    def __init__(self, client: Any, log: Any) -> None:
        self._tunings = client.tunings
        self._log = log
        self._seen: dict[str, str] = {}

    @property
    def tunings(self) -> ProgressLog:
        return self

    def get(self, *, name: str) -> Any:
        result = self._tunings.get(name=name)
        if inspect.isawaitable(result):
            return self._aobserve(result)
        return self._observe(result)

    async def _aobserve(self, pending: Any) -> Any:
        return self._observe(await pending)

    def _observe(self, job: Any) -> Any:
        progress = job.progress() if callable(getattr(job, "progress", None)) else ""
        if progress and self._seen.get(job.name) != progress:
            self._seen[job.name] = progress
            self._log.info("Tuning %s: %s complete", job.name, progress)
        return job

    def cancel(self, *, name: str) -> Any:
        return self._tunings.cancel(name=name)
