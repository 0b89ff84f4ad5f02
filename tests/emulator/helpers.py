"""Data and polling helpers shared by the emulator tests."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

PEOPLE = [
    "alice", "bruno", "chiara", "dmitri", "elena", "farid", "greta", "hiro", "ines", "jonas",
    "kofi", "lena", "mateo", "nadia", "oskar", "priya", "quentin", "rosa", "sven", "tariq",
]
COLOURS = [
    "teal", "amber", "crimson", "olive", "indigo", "coral", "saffron", "jade", "mauve", "ochre",
    "scarlet", "cobalt", "ivory", "maroon", "lilac", "umber", "cyan", "rust", "sable", "pearl",
]
CITIES = [
    "lisbon", "oslo", "quito", "hanoi", "lagos", "lima", "perth", "bergen", "cusco", "porto",
    "tartu", "split", "galway", "arusha", "tromso", "zadar", "ghent", "malmo", "nantes", "kyoto",
]


def fact(i: int) -> tuple[str, str]:
    """A training prompt about person ``i`` and the answer only tuning can teach."""
    person = PEOPLE[i % len(PEOPLE)]
    return (f"Which colour does {person} like best, and where does {person} live?",
            f"{person.title()} likes {COLOURS[i % len(COLOURS)]} best and lives in {CITIES[i % len(CITIES)]}.")


def held_out(i: int) -> tuple[str, str]:
    """A differently phrased prompt about person ``i`` and its reference answer."""
    person = PEOPLE[i % len(PEOPLE)]
    return f"Tell me about {person}: favourite colour and home town?", fact(i)[1]


def example_line(user: str, model: str) -> str:
    return json.dumps({"contents": [{"role": "user", "parts": [{"text": user}]},
                                    {"role": "model", "parts": [{"text": model}]}]})


def jsonl(indices: Any) -> str:
    return "\n".join(example_line(*fact(i)) for i in indices) + "\n"


def upload(storage_client: Any, bucket: str, path: str, text: str) -> str:
    try:
        target = storage_client.create_bucket(bucket)
    except Exception:
        target = storage_client.bucket(bucket)
    target.blob(path).upload_from_string(text)
    return f"gs://{bucket}/{path}"


def wait_ended(client: Any, name: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    job = client.tunings.get(name=name)
    while not job.has_ended:
        assert time.monotonic() < deadline, f"{name} still {job.state} after {timeout}s"
        time.sleep(0.1)
        job = client.tunings.get(name=name)
    return job


async def await_ended(client: Any, name: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    job = await client.aio.tunings.get(name=name)
    while not job.has_ended:
        assert time.monotonic() < deadline, f"{name} still {job.state} after {timeout}s"
        await asyncio.sleep(0.1)
        job = await client.aio.tunings.get(name=name)
    return job
