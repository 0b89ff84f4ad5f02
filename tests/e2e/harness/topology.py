"""Which topology a drill runs on, and the pool that keeps at most one real stack running at a time."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from tests.e2e.harness.airflow_stack import AirflowStack

TOPOLOGIES = ("local", "distributed")
_CHOICES = {"local": ("local",), "distributed": ("distributed",), "both": TOPOLOGIES, "all": TOPOLOGIES}


def topologies_for(marks: Iterable[str], setting: str | None) -> list[str]:
    """The topologies a drill with these markers runs on, given ``E2E_TOPOLOGY`` (None or "" = local)."""
    marks = set(marks)
    if "distributed" in marks:
        return ["distributed"]
    if "local_only" in marks:
        return ["local"]
    key = (setting or "local").strip().lower()
    if key not in _CHOICES:
        raise ValueError(f"E2E_TOPOLOGY={setting!r} is not one of {sorted(_CHOICES)}")
    return list(_CHOICES[key])


class StackPool:
    """Starts a topology's stack on first use; stops the running one before starting another."""

    def __init__(self, buckets: tuple[str, ...], on_stop: Callable[[Path, str], None] | None = None) -> None:
        self.buckets = buckets
        self.on_stop = on_stop
        self.current: AirflowStack | None = None
        self.timings: dict[str, dict[str, float]] = {}
        self._failed: dict[str, str] = {}

    def get(self, topology: str) -> AirflowStack:
        if topology in self._failed:
            raise RuntimeError(self._failed[topology])
        if self.current is not None and self.current.topology == topology:
            return self.current
        self.stop()
        try:
            self.current = self._start(topology)
        except Exception as err:
            self._failed[topology] = f"{type(err).__name__}: {err}"
            raise
        self.timings[topology] = dict(self.current.timings)
        return self.current

    def _start(self, topology: str) -> AirflowStack:
        from tests.e2e.harness.requirements import ensure_celery_executor, ensure_postgres, ensure_redis

        extra_path = ensure_postgres()
        root = Path(tempfile.mkdtemp(prefix=f"airflow-tuning-e2e-{topology}-"))
        if topology == "distributed":
            from tests.e2e.harness.distributed_stack import DistributedStack

            ensure_celery_executor()

            stack: AirflowStack = DistributedStack(root, extra_path, redis_binary=ensure_redis())
        else:
            stack = AirflowStack(root, extra_path)
        self.current = stack
        try:
            stack.start(buckets=self.buckets)
        except BaseException:
            self.stop()
            raise
        return stack

    def stop(self) -> None:
        stack, self.current = self.current, None
        if stack is None:
            return
        try:
            stack.stop()
            if self.on_stop is not None:
                self.on_stop(stack.root, stack.topology)
        finally:
            shutil.rmtree(stack.root, ignore_errors=True)
