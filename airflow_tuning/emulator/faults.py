"""Injected faults: error statuses, added latency and dropped connections, per route, reproducible.

A fault matches requests by a regular expression on ``"METHOD /path"`` and fires with probability
``rate``. Each fault draws from its own random stream seeded from the plan's seed and its position, so
the n-th request a fault sees gets the same decision on every run with the same seed. Admin routes
(``/_emulator/*``) are never faulted.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

FAULT_KEYS = {"route", "rate", "status", "latency_ms", "drop", "count", "after"}


@dataclass
class Fault:
    route: str
    rate: float = 1.0
    status: int | None = None
    latency_ms: float = 0.0
    drop: bool = False
    count: int | None = None  # fire at most this many times
    after: bool = False  # handle the request first, then lose its answer (a create that did happen)
    pattern: re.Pattern[str] = field(init=False, repr=False)
    rng: random.Random = field(init=False, repr=False)
    injected: int = 0

    def __post_init__(self) -> None:
        try:
            self.pattern = re.compile(self.route)
        except re.error as err:
            raise ValueError(f"fault route {self.route!r} is not a valid regular expression: {err}") from None
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be within [0, 1], got {self.rate}")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError(f"fault status must be an HTTP error status (400-599), got {self.status}")
        if self.latency_ms < 0:
            raise ValueError(f"fault latency_ms must be >= 0, got {self.latency_ms}")
        if self.status is None and not self.drop and not self.latency_ms:
            self.status = 503

    @classmethod
    def from_dict(cls, spec: Any) -> Fault:
        if not isinstance(spec, dict) or "route" not in spec:
            raise ValueError(f"a fault is an object with at least 'route', got {spec!r}")
        unknown = set(spec) - FAULT_KEYS
        if unknown:
            raise ValueError(f"unknown fault keys {sorted(unknown)}; known: {sorted(FAULT_KEYS)}")
        try:
            return cls(
                route=str(spec["route"]),
                rate=float(spec.get("rate", 1.0)),
                status=None if spec.get("status") is None else int(spec["status"]),
                latency_ms=float(spec.get("latency_ms", 0.0)),
                drop=bool(spec.get("drop", False)),
                count=None if spec.get("count") is None else int(spec["count"]),
                after=bool(spec.get("after", False)),
            )
        except (TypeError, ValueError) as err:
            raise ValueError(f"invalid fault {spec!r}: {err}") from None

    def describe(self) -> dict[str, Any]:
        return {"route": self.route, "rate": self.rate, "status": self.status, "latency_ms": self.latency_ms,
                "drop": self.drop, "count": self.count, "after": self.after, "injected": self.injected}


@dataclass
class Decision:
    """What to do to one request: wait ``delay`` seconds, then maybe answer ``status`` or drop."""

    delay: float = 0.0
    status: int | None = None
    drop: bool = False
    after: bool = False
    route: str | None = None


class FaultPlan:
    def __init__(self, faults: list[Any] | None = None, seed: int = 0) -> None:
        self.faults: list[Fault] = []
        self.seed = seed
        if faults:
            self.set(faults, seed)

    def set(self, specs: list[Any], seed: int | None = None) -> None:
        """Replace the plan (all-or-nothing: an invalid spec leaves the old plan in place)."""
        if not isinstance(specs, list):
            raise ValueError("faults must be a list of fault objects")
        faults = [Fault.from_dict(spec) for spec in specs]
        self.seed = self.seed if seed is None else int(seed)
        for index, fault in enumerate(faults):
            fault.rng = random.Random(f"{self.seed}:{index}")
        self.faults = faults

    def clear(self) -> None:
        self.faults = []

    def decide(self, key: str) -> Decision | None:
        """The decision for a request ``"METHOD /path"``, or None when no fault fires."""
        decision = None
        for fault in self.faults:
            if not fault.pattern.search(key):
                continue
            if fault.count is not None and fault.injected >= fault.count:
                continue
            if fault.rng.random() >= fault.rate:
                continue
            fault.injected += 1
            decision = decision or Decision(route=fault.route)
            decision.delay += fault.latency_ms / 1000.0
            if decision.status is None and not decision.drop:
                decision.drop = fault.drop
                decision.status = None if fault.drop else fault.status
                decision.after = fault.after
        return decision

    def describe(self) -> dict[str, Any]:
        return {"seed": self.seed, "faults": [f.describe() for f in self.faults]}
