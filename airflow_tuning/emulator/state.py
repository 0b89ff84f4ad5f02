"""The emulator's memory: jobs, models, endpoints and learned examples, optionally kept in a state file.

Everything lives in plain dicts (JSON-ready) mutated only on the server's event loop, so no locks are
needed. With a state file every mutation is written atomically (temp file + ``os.replace``) and loaded at
start: a restarted emulator keeps its jobs, and because a job's lifecycle is a function of its timestamps
a job that was RUNNING before the restart finishes on time after it.
"""

from __future__ import annotations

import json
import math
import os
import random
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

STATE_VERSION = 1


@dataclass
class Config:
    """Runtime settings, changeable through ``POST /_emulator/config``."""

    job_duration: float = 2.0
    latency: float = 0.0
    detailed_job_states: bool = False

    def update(self, values: dict[str, Any]) -> None:
        """Apply every value or none: each must be a finite, non-negative number of seconds."""
        unknown = set(values) - {"job_duration", "latency", "detailed_job_states"}
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}; "
                             "known: job_duration, latency, detailed_job_states")
        detailed = values.get("detailed_job_states")
        if detailed is not None and not isinstance(detailed, bool):
            raise ValueError(f"detailed_job_states must be true or false, got {detailed!r}")
        checked = {}
        for key in ("job_duration", "latency"):
            value = values.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{key} must be a number of seconds, got {type(value).__name__} {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{key} must be a finite number of seconds >= 0, got {value!r}")
            checked[key] = float(value)
        for key, number in checked.items():
            setattr(self, key, number)
        if detailed is not None:
            self.detailed_job_states = detailed

    def as_dict(self) -> dict[str, Any]:
        return {"job_duration": self.job_duration, "latency": self.latency,
                "detailed_job_states": self.detailed_job_states}


@dataclass
class Stats:
    """Counters behind ``GET /_emulator/stats``."""

    requests: Counter = field(default_factory=Counter)
    faults: Counter = field(default_factory=Counter)
    jobs_created: int = 0
    generate_calls: int = 0

    def reset(self) -> None:
        self.requests.clear()
        self.faults.clear()
        self.jobs_created = 0
        self.generate_calls = 0


class Store:
    """Resources by full name. ``examples`` maps a tuning job name to the (user, model) pairs it learned."""

    def __init__(self, state_file: str | None = None, seed: int = 0) -> None:
        self.state_file = state_file
        self.rng = random.Random(seed)
        self.jobs: dict[str, dict[str, Any]] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.examples: dict[str, list[list[str]]] = {}
        self._ids: set[str] = set()
        if state_file and os.path.exists(state_file):
            self._load(state_file)

    # -- ids ------------------------------------------------------------------------------------------
    def new_id(self) -> str:
        """A 19-digit numeric id like Vertex AI's, unique in this store, reproducible under a seed."""
        while True:
            candidate = str(self.rng.randrange(10**18, 9 * 10**18))
            if candidate not in self._ids:
                self._ids.add(candidate)
                return candidate

    # -- persistence ----------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "jobs": self.jobs,
            "models": self.models,
            "endpoints": self.endpoints,
            "examples": self.examples,
        }

    def save(self) -> None:
        """Write the whole state atomically; a crash mid-write leaves the previous file intact."""
        if not self.state_file:
            return
        directory = os.path.dirname(os.path.abspath(self.state_file))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".emulator-state-", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.snapshot(), fh, separators=(",", ":"))
            os.replace(tmp, self.state_file)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def _load(self, path: str) -> None:
        with open(path, encoding="utf-8") as fh:
            try:
                data = json.load(fh)
            except ValueError as err:
                raise ValueError(f"Emulator state file {path} is not valid JSON: {err}") from None
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"Emulator state file {path} has version {data.get('version')!r}, "
                             f"expected {STATE_VERSION}")
        self.jobs = data.get("jobs", {})
        self.models = data.get("models", {})
        self.endpoints = data.get("endpoints", {})
        self.examples = data.get("examples", {})
        for name in (*self.jobs, *self.models, *self.endpoints):
            self._ids.add(name.rsplit("/", 1)[-1])
