"""Which objects under a watched prefix are new since the last look (pure, no Airflow, no SDK).

The watermark maps object name -> generation of everything already consumed. An object is new when its
name is unseen or its generation changed (overwritten). Names that disappeared from the listing are
forgotten, so the watermark stays as small as the prefix itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectVersion:
    name: str
    generation: str
    size: int = 0


def new_objects(
    listing: Iterable[ObjectVersion], watermark: Mapping[str, str] | None
) -> tuple[list[ObjectVersion], dict[str, str]]:
    """Return the unseen objects (sorted by name) and the watermark that marks them consumed."""
    seen = dict(watermark or {})
    current = {obj.name: obj for obj in listing}
    fresh = sorted((o for o in current.values() if seen.get(o.name) != o.generation), key=lambda o: o.name)
    return fresh, {name: obj.generation for name, obj in current.items()}
